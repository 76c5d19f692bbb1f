"""Purchasing pages: suppliers, purchase orders and receiving (dropship orders: shipping).

Views parse with a form, call a service in ``orders.purchasing`` or ``orders.receiving``
and render; a refusal becomes a form error beside the field it is about, and the page
keeps everything the user typed.
"""

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db import IntegrityError, transaction
from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from inventory.errors import LedgerError
from inventory.views import filtered_rows, paginate, render_list
from orders import dropship, purchase_email, purchasing, receiving, selectors
from orders.errors import PurchasingError, SalesError
from orders.filters import PurchaseOrderFilter, SupplierFilter
from orders.forms import (
    LineForm,
    PurchaseOrderForm,
    ReasonForm,
    ReceiveForm,
    ReceiveRowForm,
    SupplierForm,
    SupplierProductForm,
)
from orders.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    ReceiptLine,
    SalesOrder,
    Supplier,
    SupplierProduct,
)
from orders.sales_forms import TrackingForm

SERVICE_ERRORS = (PurchasingError, LedgerError)
RECENT_ORDERS = 10
MONEY = DecimalField(max_digits=24, decimal_places=6)


def plain(value: Decimal) -> str:
    """Write a decimal without trailing zeros or an exponent: 2.5, 10, 0.125."""
    return format(value.normalize(), "f")


def add_service_error(form, err) -> None:
    """Show a service refusal next to the field it is about, or above the form."""
    field = getattr(err, "field", None)
    form.add_error(field if field in form.fields else None, err.message)


def _count(model, fk: str, condition: Q | None = None) -> Coalesce:
    rows = (
        model.objects.filter(condition or Q(), **{fk: OuterRef("pk")})
        .order_by()
        .values(fk)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


# --- suppliers ---------------------------------------------------------------------


@login_required
@permission_required("orders.view_supplier", raise_exception=True)
def supplier_list(request):
    suppliers = Supplier.objects.annotate(
        product_count=_count(SupplierProduct, "supplier", Q(active=True)),
        open_order_count=_count(
            PurchaseOrder, "supplier", Q(status__in=PurchaseOrder.OPEN_STATUSES)
        ),
    ).order_by("code")
    filterset = SupplierFilter(request.GET or None, queryset=suppliers)
    rows = filtered_rows(filterset)
    return render_list(
        request,
        "orders/supplier_list.html",
        {"filter": filterset, "page_obj": paginate(request, rows)},
    )


@login_required
@permission_required("orders.view_supplier", raise_exception=True)
def supplier_detail(request, supplier_code):
    supplier = get_object_or_404(Supplier, code=supplier_code)
    products = list(
        supplier.products.select_related("product").order_by("-active", "product__sku")
    )
    per_product = {
        row["line__product"]: row
        for row in ReceiptLine.objects.filter(line__order__supplier=supplier)
        .order_by()
        .values("line__product")
        .annotate(receipts=Count("pk"), mean_days=Coalesce(Sum("lead_time_days"), 0))
    }
    for item in products:
        history = per_product.get(item.product_id)
        item.receipts = history["receipts"] if history else 0
        item.mean_lead_days = history["mean_days"] / history["receipts"] if history else None
    orders = list(
        supplier.orders.select_related("warehouse").order_by("-created_at", "-id")[:RECENT_ORDERS]
    )
    return render(
        request,
        "orders/supplier_detail.html",
        {
            "supplier": supplier,
            "stats": selectors.lead_time_stats(supplier=supplier),
            "products": products,
            "orders": orders,
        },
    )


@login_required
@permission_required("orders.add_supplier", raise_exception=True)
def supplier_create(request):
    form = SupplierForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        supplier = form.save()
        messages.success(request, _("Supplier %(code)s created.") % {"code": supplier.code})
        return redirect(supplier)
    return render(request, "orders/supplier_form.html", {"form": form, "supplier": None})


@login_required
@permission_required("orders.change_supplier", raise_exception=True)
def supplier_edit(request, supplier_code):
    supplier = get_object_or_404(Supplier, code=supplier_code)
    form = SupplierForm(request.POST if request.method == "POST" else None, instance=supplier)
    if form.is_valid():
        form.save()
        messages.success(request, _("Supplier %(code)s saved.") % {"code": supplier.code})
        return redirect(supplier)
    return render(request, "orders/supplier_form.html", {"form": form, "supplier": supplier})


def _save_supplier_product(request, supplier, form):
    """Save the row; a unique constraint lost to a concurrent edit becomes a form error."""
    try:
        with transaction.atomic():
            item = form.save()
    except IntegrityError:
        form.add_error(
            None,
            _(
                "Someone saved a conflicting row for this product at the same moment "
                "(same product, supplier SKU or preferred flag): check the supplier page."
            ),
        )
        return None
    return item


def _supplier_product_page(request, supplier, item):
    data = request.POST if request.method == "POST" else None
    form = SupplierProductForm(data, instance=item, supplier=supplier)
    if form.is_valid():
        saved = _save_supplier_product(request, supplier, form)
        if saved is not None:
            messages.success(
                request,
                _("%(supplier)s sells %(sku)s at %(cost)s.")
                % {
                    "supplier": supplier.code,
                    "sku": saved.product.sku,
                    "cost": plain(saved.unit_cost),
                },
            )
            return redirect(supplier)
    return render(
        request,
        "orders/supplier_product_form.html",
        {"form": form, "supplier": supplier, "item": item},
    )


@login_required
@permission_required("orders.add_supplierproduct", raise_exception=True)
def supplier_product_add(request, supplier_code):
    supplier = get_object_or_404(Supplier, code=supplier_code)
    return _supplier_product_page(request, supplier, None)


@login_required
@permission_required("orders.change_supplierproduct", raise_exception=True)
def supplier_product_edit(request, supplier_code, supplier_product_id):
    supplier = get_object_or_404(Supplier, code=supplier_code)
    item = get_object_or_404(
        SupplierProduct.objects.select_related("product"),
        pk=supplier_product_id,
        supplier=supplier,
    )
    return _supplier_product_page(request, supplier, item)


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
            "tracking_form": TrackingForm() if _awaits_shipment(order) else None,
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


def _awaits_shipment(order: PurchaseOrder) -> bool:
    """A sent dropship order whose supplier has not shipped yet."""
    return (
        order.dropship and order.shipped_at is None and order.status == PurchaseOrder.Status.SENT
    )


@login_required
@permission_required("orders.ship_salesorder", raise_exception=True)
@require_http_methods(["GET", "POST"])
def purchase_order_confirm_shipment(request, number):
    """Record that the supplier shipped a dropship order to the customer (tracking number)."""
    order = get_order(number)
    waiting = _awaits_shipment(order)
    form = TrackingForm(request.POST if request.method == "POST" and waiting else None)
    if form.is_valid():
        try:
            order = dropship.confirm_shipment(
                purchase_order=order,
                tracking_number=form.cleaned_data["tracking_number"],
                carrier=form.cleaned_data["carrier"],
                user=request.user,
            )
        except (*SERVICE_ERRORS, SalesError) as err:
            add_service_error(form, err)
        else:
            messages.success(
                request,
                _(
                    "%(number)s shipped by %(supplier)s, tracking %(tracking)s: its sales "
                    "order lines are shipped."
                )
                % {
                    "number": order.number,
                    "supplier": order.supplier.name,
                    "tracking": order.tracking_number,
                },
            )
            return redirect(order)
    if not order.dropship:
        lead = _(
            "%(number)s is not a dropship order: its goods come to %(warehouse)s and are "
            "received there."
        ) % {"number": order.number, "warehouse": order.warehouse.code}
    elif order.status == PurchaseOrder.Status.DRAFT:
        lead = _(
            "%(number)s is a draft: send it to %(supplier)s first, then confirm the "
            "shipment it reports."
        ) % {"number": order.number, "supplier": order.supplier.name}
    elif not waiting:
        lead = _("%(number)s is %(status)s: there is no shipment left to confirm.") % {
            "number": order.number,
            "status": _("shipped") if order.shipped_at else order.get_status_display().lower(),
        }
    else:
        lead = _(
            "Enter the tracking number %(supplier)s gave for the shipment to the customer: "
            "the sales order's lines are marked shipped at the supplier's cost."
        ) % {"supplier": order.supplier.name}
    return render(
        request,
        "orders/sales_order_action.html",
        {
            "order": order,
            "form": form if waiting else None,
            "action": {
                "title": _("Confirm the supplier's shipment of %(number)s")
                % {"number": order.number},
                "lead": lead,
                "button": _("Confirm shipment"),
                "url": request.path,
                "crumbs": [
                    (reverse("purchase_order_list"), _("Purchase orders")),
                    (order.get_absolute_url(), order.number),
                ],
            },
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


# --- receiving ---------------------------------------------------------------------


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


# The refusals the page answers with a checkbox: tick it and post again.
CONFIRMATIONS = {"expired_confirm": "confirm_expired", "quarantine_location": "allow_quarantine"}


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
    lines = []
    for line in order_lines(order):
        line.receivable = receiving.allowance(line, tolerance) - line.quantity_received
        if line.receivable > 0:
            lines.append(line)
    receivable = order.status in receiving.RECEIVABLE_STATUSES
    default = receiving.receiving_location(order.warehouse)
    data = request.POST if request.method == "POST" and receivable else None
    rows = [
        ReceiveRowForm(
            data,
            line=line,
            prefix=f"line-{line.pk}",
            initial={"location": default.barcode if default else ""},
        )
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
