"""The receive page of a purchase order: what arrived, where it went, which lots."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import (
    F,
)
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from orders.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    ReceiptLine,
)
from orders.purchasing import receiving
from orders.purchasing.forms import ReceiveForm, ReceiveRowForm
from orders.purchasing.views import (
    SERVICE_ERRORS,
    add_service_error,
    get_order,
    order_lines,
    plain,
)

# The refusals the page answers with a checkbox: tick it and post again.
CONFIRMATIONS = {"expired_confirm": "confirm_expired", "quarantine_location": "allow_quarantine"}


def _attach_receiving_error(err, form: ReceiveForm, rows: list[ReceiveRowForm], filled) -> None:
    """Put the refusal on the row it is about (the service names its line), else above."""
    line = getattr(err, "line", None)
    row = next((row for row in rows if line is not None and row.line.pk == line.pk), None)
    if row is None and len(filled) == 1:
        row = filled[0]
    if row is None:
        add_service_error(form, err)
        return
    # The ledger calls the lot field "lot"; the row calls it "lot_code".
    field = {"lot": "lot_code"}.get(err.field, err.field)
    row.add_error(field if field in row.fields else None, err.message)


@login_required
@permission_required("orders.receive_purchaseorder", raise_exception=True)
def purchase_order_receive(request, number):
    order = get_order(number)
    if order.dropship:
        # Nothing of a dropship order comes into a warehouse: the supplier ships it.
        messages.error(
            request,
            _(
                "%(number)s is a dropship order: the supplier ships to the customer, so "
                "nothing is received. Confirm the supplier's shipment on the order page."
            )
            % {"number": order.number},
        )
        return redirect(order)
    tolerance = order.supplier.receipt_tolerance_percent
    lines = _receivable_lines(order, tolerance)
    receivable = order.status in receiving.RECEIVABLE_STATUSES
    default = receiving.receiving_location(order.warehouse)
    data = request.POST if request.method == "POST" and receivable else None
    initial = {"location": default.barcode if default else ""}
    rows = [
        ReceiveRowForm(data, line=line, prefix=f"line-{line.pk}", initial=dict(initial))
        for line in lines
    ]
    form = ReceiveForm(data)
    # A box ticked once stays on the page, ticked, until the receipt goes through.
    asked = {name for name in CONFIRMATIONS.values() if data and data.get(name)}
    if data is not None and form.is_valid() and all([row.is_valid() for row in rows]):
        filled = [row for row in rows if row.as_receipt() is not None]
        if not filled:
            form.add_error(None, _("Enter the quantity received on at least one line."))
        else:
            try:
                receipts = receiving.receive_order(
                    order=order,
                    lines=[row.as_receipt() for row in filled],
                    user=request.user,
                    confirm_expired=form.cleaned_data["confirm_expired"],
                    allow_quarantine=form.cleaned_data["allow_quarantine"],
                )
            except SERVICE_ERRORS as err:
                if getattr(err, "code", "") in CONFIRMATIONS:
                    asked.add(CONFIRMATIONS[err.code])
                _attach_receiving_error(err, form, rows, filled)
            else:
                _received_messages(request, order, receipts)
                return redirect(order)
    return render(
        request,
        "orders/purchase_order_receive.html",
        {
            "order": order,
            "rows": rows,
            "form": form,
            "receivable": receivable,
            "default_location": default,
            "asked": asked,
            "tolerance": tolerance,
        },
    )


def _receivable_lines(order: PurchaseOrder, tolerance) -> list:
    """The order's lines that may still receive units, each with ``receivable`` set."""
    lines = []
    for line in order_lines(order):
        line.receivable = receiving.allowance(line, tolerance) - line.quantity_received
        if line.receivable > 0:
            lines.append(line)
    return lines


def _received_messages(request, order: PurchaseOrder, receipts: list[ReceiptLine]) -> None:
    order.refresh_from_db(fields=["status"])
    parts = ", ".join(f"{r.quantity} × {r.line.product.sku}" for r in receipts)
    messages.success(
        request,
        _("Received %(parts)s on %(number)s. The order is now %(status)s.")
        % {"parts": parts, "number": order.number, "status": order.get_status_display().lower()},
    )
    over = PurchaseOrderLine.objects.select_related("product").filter(
        pk__in=[r.line_id for r in receipts], quantity_received__gt=F("quantity_ordered")
    )
    for line in over:
        messages.warning(
            request,
            _(
                "%(sku)s: %(received)s received against %(ordered)s ordered, within "
                "%(supplier)s's over-receipt tolerance of %(tolerance)s %%."
            )
            % {
                "sku": line.product.sku,
                "received": line.quantity_received,
                "ordered": line.quantity_ordered,
                "supplier": order.supplier.code,
                "tolerance": plain(order.supplier.receipt_tolerance_percent),
            },
        )
