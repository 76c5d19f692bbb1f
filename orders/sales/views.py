"""Sales order pages: the list, an order, its documents and its steps.

Views parse with a form, call a service (``orders.sales``) and render. A refusal of
a sales service becomes a message on the page and changes nothing.
"""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Case, Count, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from common.pages import filtered_rows, paginate, render_list
from inventory.errors import LedgerError
from orders.models import (
    Allocation,
    PurchaseOrderLine,
    SalesOrder,
    SalesOrderLine,
)
from orders.models.sales import backordered_q, backordered_units
from orders.purchasing.forms import ReasonForm
from orders.sales import services as sales
from orders.sales.allocation import can_ship
from orders.sales.errors import SalesError
from orders.sales.filters import SalesOrderFilter
from orders.sales.forms import ShipForm
from orders.sales.selectors import allocation_summary, shipment_summary

SERVICE_ERRORS = (SalesError, LedgerError)


# --- sales orders ------------------------------------------------------------------


def _units(field: str) -> Coalesce:
    return Coalesce(Sum(f"lines__{field}"), 0)


def _backordered_units() -> Coalesce:
    """Units of warehouse lines neither allocated nor shipped.

    Dropship lines wait on no stock, and a cancelled or shipped order waits for nothing.
    """
    done = (SalesOrder.Status.CANCELLED, SalesOrder.Status.SHIPPED)
    return Coalesce(
        Sum(
            Case(
                When(
                    backordered_q("lines__") & ~Q(status__in=done),
                    then=backordered_units("lines__"),
                ),
                default=Value(0),
            )
        ),
        0,
        output_field=IntegerField(),
    )


@login_required
@permission_required("orders.view_salesorder", raise_exception=True)
def sales_order_list(request):
    orders = (
        SalesOrder.objects.select_related("channel")
        .annotate(
            line_count=Count("lines"),
            units=_units("quantity"),
            units_allocated=_units("quantity_allocated"),
            units_shipped=_units("quantity_shipped"),
            units_backordered=_backordered_units(),
        )
        .order_by("-created_at", "-id")
    )
    filterset = SalesOrderFilter(request.GET or None, queryset=orders)
    return render_list(
        request,
        "orders/sales_order_list.html",
        {"filter": filterset, "page_obj": paginate(request, filtered_rows(filterset))},
    )


def _get_order(number: str) -> SalesOrder:
    return get_object_or_404(SalesOrder.objects.select_related("channel"), number=number)


def _order_lines(order: SalesOrder) -> list[SalesOrderLine]:
    return list(
        order.lines.select_related("product", "dropship_line__order__supplier").order_by("id")
    )


def _line_totals(lines: list[SalesOrderLine]) -> dict:
    return {
        "quantity": sum(line.quantity for line in lines),
        "allocated": sum(line.quantity_allocated for line in lines),
        "backordered": sum(line.quantity_backordered for line in lines),
        "shipped": sum(line.quantity_shipped for line in lines),
    }


def _dropship_po(line: SalesOrderLine):
    """The purchase order line a dropship line is ordered on, or None."""
    try:
        return line.dropship_line
    except PurchaseOrderLine.DoesNotExist:
        return None


def _actions(order: SalesOrder, totals: dict, stale: int = 0) -> dict:
    """Which steps the order's status allows (permissions are checked in the template).

    ``stale`` counts reserved units that can no longer ship (expired lot, inactive or
    unsellable place): Allocate replaces them, whatever the active status.
    """
    active = order.status in SalesOrder.ACTIVE_STATUSES
    return {
        "allocate": active
        and (
            stale > 0 or (order.status != SalesOrder.Status.PICKING and totals["backordered"] > 0)
        ),
        "pick": order.status == SalesOrder.Status.ALLOCATED,
        "ship": order.status in (SalesOrder.Status.ALLOCATED, SalesOrder.Status.PICKING)
        and totals["allocated"] > 0,
        "cancel": active,
    }


@login_required
@permission_required("orders.view_salesorder", raise_exception=True)
def sales_order_detail(request, so_number):
    order = _get_order(so_number)
    lines = _order_lines(order)
    for line in lines:
        line.po_line = _dropship_po(line)
    totals = _line_totals(lines)
    allocations = list(
        Allocation.objects.filter(line__order=order)
        .select_related("line__product", "location", "lot")
        .order_by("location__path", "lot__expires_on", "lot__code", "id")
    )
    today = timezone.localdate()
    for allocation in allocations:
        allocation.stale = allocation.quantity > 0 and not can_ship(allocation, today)
    stale = sum(allocation.quantity for allocation in allocations if allocation.stale)
    return render(
        request,
        "orders/sales_order_detail.html",
        {
            "order": order,
            "lines": lines,
            "totals": totals,
            "allocations": allocations,
            "events": order.events.select_related("user").order_by("at", "id"),
            "stale_units": stale,
            "can": _actions(order, totals, stale),
        },
    )


def _pick_rows(order: SalesOrder) -> list[dict]:
    rows = sales.pick_list(order)
    # Location path, then the earliest expiry and the lot: the order a picker walks and takes.
    return sorted(
        rows,
        key=lambda row: (
            row["path"],
            row["sku"],
            row["expires_on"] is None,
            row["expires_on"] or date.min,
            _lot_code(row["lot"]),
        ),
    )


def _lot_code(lot) -> str:
    if lot is None:
        return ""
    return getattr(lot, "code", lot)


@login_required
@permission_required("orders.view_salesorder", raise_exception=True)
def pick_list(request, so_number):
    order = _get_order(so_number)
    rows = _pick_rows(order)
    for row in rows:
        row["lot_code"] = _lot_code(row["lot"])
    return render(
        request,
        "orders/pick_list.html",
        {"order": order, "rows": rows, "units": sum(row["quantity"] for row in rows)},
    )


@login_required
@permission_required("orders.view_salesorder", raise_exception=True)
def packing_slip(request, so_number):
    order = _get_order(so_number)
    lines = _order_lines(order)
    for line in lines:
        line.po_line = _dropship_po(line)
        line.to_ship = 0 if line.dropship else line.quantity_allocated
    return render(
        request,
        "orders/packing_slip.html",
        {"order": order, "lines": lines, "totals": _line_totals(lines)},
    )


def doc_number(number: str):
    return format_html('<span class="doc-number">{}</span>', number)


def _step_form(step: str, data):
    if step == "ship":
        return ShipForm(data)
    form = ReasonForm(data)
    if step != "cancel":
        form.fields.pop("reason")
    return form


def _done(request, step: str, order: SalesOrder, form, shipping: str) -> None:
    """Say what the step did: an allocation that left units waiting says why, as a warning."""
    names = {"number": order.number, "status": order.get_status_display().lower()}
    if step == "allocate":
        summary = allocation_summary(order)
        (messages.warning if summary.backordered else messages.success)(request, summary.text)
    elif step == "ship":
        text = _("%(number)s shipped: %(what)s") % {**names, "what": shipping}
        if form.cleaned_data["carrier"]:
            text += _(" via %(carrier)s") % form.cleaned_data
        if form.cleaned_data["tracking_number"]:
            text += _(", tracking %(tracking_number)s") % form.cleaned_data
        text += "."
        if order.status != SalesOrder.Status.SHIPPED:
            text += _(" It stays %(status)s until its dropship lines ship.") % names
        messages.success(request, text)
    else:
        messages.success(request, STEPS[step]["done"] % names)


def _sales_action(request, so_number: str, *, step: str):
    """GET asks to confirm; POST calls the service; a refusal shows on the page."""
    order = _get_order(so_number)
    spec = STEPS[step]
    form = _step_form(step, request.POST if request.method == "POST" else None)
    shipping = shipment_summary(order) if step == "ship" else ""
    if form.is_valid():
        kwargs = {"order": order, "user": request.user, **form.cleaned_data}
        try:
            order = getattr(sales, spec["service"])(**kwargs)
        except SERVICE_ERRORS as err:
            if err.field in form.fields:
                form.add_error(err.field, err.message)
            else:
                form.add_error(None, err.message)
            order.refresh_from_db()
        else:
            _done(request, step, order, form, shipping)
            return redirect(order)
    title = spec["title"] % {"number": order.number}
    # The order number never breaks inside the heading (SO-/000018).
    heading = mark_safe(conditional_escape(spec["title"]) % {"number": doc_number(order.number)})
    if step == "ship":
        title += f": {shipping}"
        heading = format_html("{}: {}", heading, shipping)
    action = {
        "title": title,
        "heading": heading,
        "lead": spec["lead"],
        "button": spec["button"],
        "url": request.path,
        "danger": step == "cancel",
    }
    return render(
        request,
        "orders/sales_order_action.html",
        {"order": order, "form": form, "action": action},
    )


STEPS = {
    "allocate": {
        "service": "allocate_order",
        "title": _("Allocate %(number)s"),
        "lead": _(
            "Reserve stock for what is still backordered: oldest lots first, earliest "
            "expiry first, warehouses in the channel's priority order. What cannot be "
            "reserved stays backordered."
        ),
        "button": _("Allocate"),
    },
    "pick": {
        "service": "start_picking",
        "title": _("Start picking %(number)s"),
        "lead": _("The order goes to the floor: print the pick list and take what it lists."),
        "button": _("Start picking"),
        "done": _("%(number)s is being picked."),
    },
    "ship": {
        "service": "ship_order",
        "title": _("Ship %(number)s"),
        "lead": _(
            "The allocated units leave stock: on hand and committed go down and the cost "
            "of goods is recorded per line. Dropship lines ship from their supplier. "
            "The carrier and tracking number are optional; they show on the order and "
            "its packing slip."
        ),
        "button": _("Ship"),
    },
    "cancel": {
        "service": "cancel_order",
        "title": _("Cancel %(number)s"),
        "lead": _(
            "What was reserved for it is released for other orders. A shipped order "
            "cannot be cancelled."
        ),
        "button": _("Cancel the order"),
        "done": _("%(number)s cancelled: its reservations are released."),
    },
}


@login_required
@permission_required("orders.allocate_salesorder", raise_exception=True)
@require_http_methods(["GET", "POST"])
def sales_order_allocate(request, so_number):
    return _sales_action(request, so_number, step="allocate")


@login_required
@permission_required("orders.ship_salesorder", raise_exception=True)
@require_http_methods(["GET", "POST"])
def sales_order_pick(request, so_number):
    return _sales_action(request, so_number, step="pick")


@login_required
@permission_required("orders.ship_salesorder", raise_exception=True)
@require_http_methods(["GET", "POST"])
def sales_order_ship(request, so_number):
    return _sales_action(request, so_number, step="ship")


@login_required
@permission_required("orders.allocate_salesorder", raise_exception=True)
@require_http_methods(["GET", "POST"])
def sales_order_cancel(request, so_number):
    return _sales_action(request, so_number, step="cancel")
