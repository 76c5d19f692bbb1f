"""Purchase order pages: the list, an order, its lines, cancel, close and its documents.

Suppliers, sending and receiving have their own view modules. Views parse with a form,
call a service of ``orders.purchasing`` and render; a refusal becomes a form error
beside the field it is about, and the page keeps everything the user typed.
"""

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from common.pages import filtered_rows, paginate, render_list
from inventory.errors import LedgerError
from orders.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    ReceiptLine,
    SalesOrder,
    SupplierProduct,
)
from orders.purchasing import email as purchase_email
from orders.purchasing import services as purchasing
from orders.purchasing.errors import PurchasingError
from orders.purchasing.filters import PurchaseOrderFilter
from orders.purchasing.forms import (
    LineForm,
    PurchaseOrderForm,
    ReasonForm,
    TrackingForm,
)

SERVICE_ERRORS = (PurchasingError, LedgerError)
MONEY = DecimalField(max_digits=24, decimal_places=6)


def plain(value: Decimal) -> str:
    """Write a decimal without trailing zeros or an exponent: 2.5, 10, 0.125."""
    return format(value.normalize(), "f")


def add_service_error(form, err) -> None:
    """Show a service refusal next to the field it is about, or above the form."""
    field = getattr(err, "field", None)
    form.add_error(field if field in form.fields else None, err.message)


# --- purchase orders ---------------------------------------------------------------


def _line_value(prefix: str = "") -> ExpressionWrapper:
    return ExpressionWrapper(
        F(f"{prefix}quantity_ordered") * F(f"{prefix}unit_cost"), output_field=MONEY
    )


@login_required
@permission_required("orders.view_purchaseorder", raise_exception=True)
def purchase_order_list(request):
    orders = (
        PurchaseOrder.objects.select_related("supplier", "warehouse")
        .annotate(
            line_count=Count("lines"),
            units_ordered=Coalesce(Sum("lines__quantity_ordered"), 0),
            units_received=Coalesce(Sum("lines__quantity_received"), 0),
            total=Coalesce(Sum(_line_value("lines__")), Value(Decimal(0)), output_field=MONEY),
        )
        .order_by("-created_at", "-id")
    )
    filterset = PurchaseOrderFilter(request.GET or None, queryset=orders)
    rows = filtered_rows(filterset)
    return render_list(
        request,
        "orders/purchase_order_list.html",
        {"filter": filterset, "page_obj": paginate(request, rows)},
    )


def get_order(number: str) -> PurchaseOrder:
    return get_object_or_404(
        PurchaseOrder.objects.select_related(
            "supplier", "warehouse", "created_by", "sent_by", "sales_order"
        ),
        number=number,
    )


def order_lines(order: PurchaseOrder) -> list[PurchaseOrderLine]:
    lines = list(order.lines.select_related("product").order_by("id"))
    for line in lines:
        line.line_total = line.quantity_ordered * line.unit_cost
    return lines


def order_totals(lines: list[PurchaseOrderLine]) -> dict:
    return {
        "ordered": sum(line.quantity_ordered for line in lines),
        "received": sum(line.quantity_received for line in lines),
        "open": sum(line.quantity_open for line in lines),
        "value": sum((line.line_total for line in lines), Decimal(0)),
        "received_value": sum(
            (line.quantity_received * line.unit_cost for line in lines), Decimal(0)
        ),
    }


@login_required
@permission_required("orders.view_purchaseorder", raise_exception=True)
def purchase_order_detail(request, number):
    order = get_order(number)
    lines = order_lines(order)
    receipts = (
        ReceiptLine.objects.filter(line__order=order)
        .select_related("line__product", "move__to_location", "move__lot", "user")
        .order_by("received_on", "id")
    )
    return render(
        request,
        "orders/purchase_order_detail.html",
        {
            "order": order,
            "lines": lines,
            "totals": order_totals(lines),
            "events": order.events.select_related("user").order_by("at", "id"),
            "receipts": receipts,
            "line_form": LineForm(auto_id="id_new_%s") if order.is_editable else None,
            "can_resend": purchase_email.can_requeue(order),
            "tracking_form": TrackingForm() if order.awaits_shipment else None,
            "dropship_for": (
                list(
                    SalesOrder.objects.filter(lines__dropship_line__order=order)
                    .distinct()
                    .order_by("number")
                )
                if order.dropship
                else []
            ),
        },
    )


@login_required
@permission_required("orders.add_purchaseorder", raise_exception=True)
def purchase_order_create(request):
    data = request.POST if request.method == "POST" else None
    form = PurchaseOrderForm(data, initial=request.GET.dict())
    if form.is_valid():
        cleaned = form.cleaned_data
        try:
            order = purchasing.create_order(
                supplier=cleaned["supplier"],
                warehouse=cleaned["warehouse"],
                user=request.user,
                expected_on=cleaned["expected_on"],
                notes=cleaned["notes"],
            )
        except SERVICE_ERRORS as err:
            add_service_error(form, err)
        else:
            messages.success(
                request,
                _("%(number)s created for %(supplier)s: add its lines.")
                % {"number": order.number, "supplier": order.supplier.name},
            )
            return redirect(order)
    return render(request, "orders/purchase_order_form.html", {"form": form})


def _line_saved_message(request, line: PurchaseOrderLine, verb: str) -> None:
    text = _("%(verb)s %(quantity)s × %(sku)s at %(cost)s.") % {
        "verb": verb,
        "quantity": line.quantity_ordered,
        "sku": line.product.sku,
        "cost": plain(line.unit_cost),
    }
    if line.note:
        text = f"{text} {line.note}"
    messages.success(request, text)


def _line_page(request, order, line, form):
    return render(
        request,
        "orders/purchase_order_line_form.html",
        {"order": order, "line": line, "form": form},
    )


@login_required
@permission_required("orders.change_purchaseorder", raise_exception=True)
def purchase_order_line_add(request, number):
    order = get_order(number)
    form = LineForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        cleaned = form.cleaned_data
        try:
            line = purchasing.set_line(
                order=order,
                product=cleaned["product"],
                quantity=cleaned["quantity"],
                unit_cost=cleaned["unit_cost"],
                expected_on=cleaned["expected_on"],
                user=request.user,
            )
        except SERVICE_ERRORS as err:
            add_service_error(form, err)
        else:
            _line_saved_message(request, line, _("Ordered"))
            return redirect(f"{order.get_absolute_url()}#lines")
    return _line_page(request, order, None, form)


def _get_line(order: PurchaseOrder, line_id: int) -> PurchaseOrderLine:
    return get_object_or_404(
        PurchaseOrderLine.objects.select_related("product"), pk=line_id, order=order
    )


@login_required
@permission_required("orders.change_purchaseorder", raise_exception=True)
def purchase_order_line_edit(request, number, line_id):
    order = get_order(number)
    line = _get_line(order, line_id)
    form = LineForm(
        request.POST if request.method == "POST" else None,
        line=line,
        initial={
            "quantity": line.quantity_ordered,
            "unit_cost": plain(line.unit_cost),
            "expected_on": line.expected_on,
        },
    )
    if form.is_valid():
        cleaned = form.cleaned_data
        try:
            line = purchasing.set_line(
                order=order,
                product=line.product,
                quantity=cleaned["quantity"],
                unit_cost=cleaned["unit_cost"],
                expected_on=cleaned["expected_on"],
                user=request.user,
            )
        except SERVICE_ERRORS as err:
            add_service_error(form, err)
        else:
            _line_saved_message(request, line, _("Changed the line to"))
            return redirect(f"{order.get_absolute_url()}#lines")
    return _line_page(request, order, line, form)


def action_page(request, order, form, action: dict, status: int = 200):
    return render(
        request,
        "orders/purchase_order_action.html",
        {"order": order, "form": form, "action": action},
        status=status,
    )


@login_required
@permission_required("orders.change_purchaseorder", raise_exception=True)
@require_http_methods(["GET", "POST"])
def purchase_order_line_remove(request, number, line_id):
    order = get_order(number)
    line = _get_line(order, line_id)
    form = ReasonForm(request.POST if request.method == "POST" else None)
    form.fields.pop("reason")
    if form.is_valid():
        try:
            purchasing.remove_line(line=line, user=request.user)
        except SERVICE_ERRORS as err:
            add_service_error(form, err)
        else:
            messages.success(
                request,
                _("Removed %(sku)s from %(number)s.")
                % {"sku": line.product.sku, "number": order.number},
            )
            return redirect(f"{order.get_absolute_url()}#lines")
    action = {
        "title": _("Remove %(sku)s from %(number)s")
        % {"sku": line.product.sku, "number": order.number},
        "lead": _("The line for %(quantity)s × %(sku)s · %(name)s goes away.")
        % {"quantity": line.quantity_ordered, "sku": line.product.sku, "name": line.product.name},
        "button": _("Remove the line"),
        "url": request.path,
        "danger": True,
    }
    return action_page(request, order, form, action)


@login_required
@permission_required("orders.change_purchaseorder", raise_exception=True)
def purchase_order_cancel(request, number):
    order = get_order(number)
    form = ReasonForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            purchasing.cancel_order(
                order=order, user=request.user, reason=form.cleaned_data["reason"]
            )
        except SERVICE_ERRORS as err:
            add_service_error(form, err)
        else:
            messages.success(request, _("%(number)s cancelled.") % {"number": order.number})
            return redirect(order)
    action = {
        "title": _("Cancel %(number)s") % {"number": order.number},
        "lead": _(
            "Nothing of it will be received. An order with goods already received "
            "cannot be cancelled: close it instead."
        ),
        "button": _("Cancel the order"),
        "url": request.path,
        "danger": True,
    }
    return action_page(request, order, form, action)


@login_required
@permission_required("orders.change_purchaseorder", raise_exception=True)
def purchase_order_close(request, number):
    order = get_order(number)
    form = ReasonForm(request.POST if request.method == "POST" else None, required=True)
    if form.is_valid():
        try:
            purchasing.close_order(
                order=order, user=request.user, reason=form.cleaned_data["reason"]
            )
        except SERVICE_ERRORS as err:
            add_service_error(form, err)
        else:
            messages.success(
                request,
                _("%(number)s closed: what was not delivered is no longer expected.")
                % {"number": order.number},
            )
            return redirect(order)
    lines = order_lines(order)
    totals = order_totals(lines)
    action = {
        "title": _("Close %(number)s (accept a short delivery)") % {"number": order.number},
        "lead": ngettext(
            "The %(open)s unit still open is no longer expected and stops counting as "
            "incoming. Say why, e.g. what the supplier answered.",
            "The %(open)s units still open are no longer expected and stop counting as "
            "incoming. Say why, e.g. what the supplier answered.",
            totals["open"],
        )
        % {"open": totals["open"]},
        "button": _("Close the order"),
        "url": request.path,
        "lines": lines,
        "totals": totals,
    }
    return action_page(request, order, form, action)


@login_required
@permission_required("orders.view_purchaseorder", raise_exception=True)
def purchase_order_print(request, number):
    order = get_order(number)
    lines = order_lines(order)
    supplier_skus = dict(
        SupplierProduct.objects.filter(
            supplier=order.supplier, product__in=[line.product_id for line in lines]
        ).values_list("product_id", "supplier_sku")
    )
    for line in lines:
        line.supplier_sku = supplier_skus.get(line.product_id, "")
    return render(
        request,
        "orders/purchase_order_print.html",
        {"order": order, "lines": lines, "totals": order_totals(lines)},
    )


def _attachment(content, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@permission_required("orders.view_purchaseorder", raise_exception=True)
def purchase_order_pdf(request, number):
    order = get_order(number)
    return _attachment(purchasing.order_pdf(order), "application/pdf", f"{order.number}.pdf")


@login_required
@permission_required("orders.view_purchaseorder", raise_exception=True)
def purchase_order_csv(request, number):
    order = get_order(number)
    return _attachment(
        purchasing.order_csv(order), "text/csv; charset=utf-8", f"{order.number}.csv"
    )
