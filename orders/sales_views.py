"""Channel and sales order pages.

Views parse with a form, call a service (``orders.sales``, ``orders.channels``,
``orders.outbox``) and render. A refusal of a sales service becomes a message on the
page and changes nothing; secrets (API tokens, webhook secrets) are shown once, in
the response to the POST that made them, and nowhere else.
"""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db import IntegrityError, transaction
from django.db.models import Case, Count, F, IntegerField, Prefetch, Q, Sum, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from inventory.errors import LedgerError
from inventory.views import filtered_rows, paginate, render_list
from orders import channels, outbox, sales
from orders.allocation import can_ship
from orders.errors import SalesError
from orders.filters import ChannelFilter, SalesOrderFilter
from orders.forms import ReasonForm
from orders.models import (
    Allocation,
    Channel,
    ChannelWarehouse,
    PurchaseOrderLine,
    SalesOrder,
    SalesOrderLine,
    StockOutbox,
    WebhookDelivery,
)
from orders.sales_forms import ChannelForm, ShipForm
from orders.sales_selectors import allocation_summary, shipment_summary

SERVICE_ERRORS = (SalesError, LedgerError)
RECENT_DELIVERIES = 20
# Changes to these fields change what the channel may sell or where it hears about it.
RESYNC_FIELDS = {"buffer", "webhook_url", "active"}


def _ordered_links():
    return Prefetch(
        "channel_warehouses",
        queryset=ChannelWarehouse.objects.select_related("warehouse").order_by("priority", "id"),
        to_attr="links",
    )


# --- channels ----------------------------------------------------------------------


@login_required
@permission_required("orders.view_channel", raise_exception=True)
def channel_list(request):
    rows = Channel.objects.prefetch_related(_ordered_links()).order_by("code")
    filterset = ChannelFilter(request.GET or None, queryset=rows)
    return render_list(
        request,
        "orders/channel_list.html",
        {"filter": filterset, "page_obj": paginate(request, filtered_rows(filterset))},
    )


def _get_channel(code: str) -> Channel:
    return get_object_or_404(Channel.objects.prefetch_related(_ordered_links()), code=code)


def _undelivered(channel: Channel) -> int:
    """Outbox rows of the channel not yet delivered (waiting, or in a failed batch)."""
    return (
        StockOutbox.objects.filter(channel=channel)
        .filter(Q(delivery__isnull=True) | ~Q(delivery__status=WebhookDelivery.Status.DELIVERED))
        .count()
    )


def _channel_context(channel: Channel) -> dict:
    return {
        "channel": channel,
        "deliveries": list(channel.deliveries.order_by("-created_at", "-id")[:RECENT_DELIVERIES]),
        "undelivered": _undelivered(channel),
        "open_orders": channel.orders.filter(status__in=SalesOrder.ACTIVE_STATUSES).count(),
    }


@login_required
@permission_required("orders.view_channel", raise_exception=True)
def channel_detail(request, channel_code):
    channel = _get_channel(channel_code)
    return render(request, "orders/channel_detail.html", _channel_context(channel))


def _save_channel(form: ChannelForm) -> Channel | None:
    """Save the channel and its warehouses in priority order; resync its channels' view.

    A changed buffer, warehouse list, webhook URL or activation changes what the
    channel may sell (or whether it hears of it), so the outbox gets a full resync in
    the same transaction. A unique constraint lost to a concurrent save becomes a form
    error.
    """
    warehouses = form.cleaned_data["warehouse_codes"]
    try:
        with transaction.atomic():
            channel = form.save()
            before = list(
                channel.channel_warehouses.order_by("priority", "id").values_list(
                    "warehouse_id", flat=True
                )
            )
            wanted = [w.pk for w in warehouses]
            if before != wanted:
                channel.channel_warehouses.all().delete()
                ChannelWarehouse.objects.bulk_create(
                    ChannelWarehouse(channel=channel, warehouse_id=pk, priority=i)
                    for i, pk in enumerate(wanted, start=1)
                )
            if before != wanted or RESYNC_FIELDS & set(form.changed_data):
                outbox.resync_channel(channel)
    except IntegrityError:
        form.add_error(
            None,
            _(
                "Someone saved this channel (or one with the same code) at the same "
                "moment: check the channel list and try again."
            ),
        )
        return None
    return channel


def _channel_form_page(request, channel: Channel | None):
    form = ChannelForm(request.POST if request.method == "POST" else None, instance=channel)
    if form.is_valid():
        saved = _save_channel(form)
        if saved is not None and channel is None:
            # A new channel gets its API token at once, shown in this response only.
            messages.success(request, _("Channel %(code)s created.") % {"code": saved.code})
            return _show_secret(request, saved, "token", channels.rotate_token(saved))
        if saved is not None:
            messages.success(request, _("Channel %(code)s saved.") % {"code": saved.code})
            return redirect(saved)
    return render(request, "orders/channel_form.html", {"form": form, "channel": channel})


@login_required
@permission_required("orders.add_channel", raise_exception=True)
def channel_create(request):
    return _channel_form_page(request, None)


@login_required
@permission_required("orders.change_channel", raise_exception=True)
def channel_edit(request, channel_code):
    return _channel_form_page(request, _get_channel(channel_code))


SECRETS = {
    "token": {
        "rotate": channels.rotate_token,
        "exists": lambda channel: bool(channel.token_hash),
        "title_new": _("Create an API token for %(code)s"),
        "title_rotate": _("Rotate the API token of %(code)s"),
        "lead_new": _(
            "The channel's systems send this token as “Authorization: Bearer …” to the API."
        ),
        "lead_rotate": _(
            "A new token replaces the current one at once: the channel's systems must "
            "switch to it, the old one stops working."
        ),
        "button_new": _("Create token"),
        "button_rotate": _("Rotate token"),
        "shown": _("API token of %(code)s"),
    },
    "secret": {
        "rotate": channels.rotate_webhook_secret,
        "exists": lambda channel: bool(channel.webhook_secret),
        "title_new": _("Create a webhook secret for %(code)s"),
        "title_rotate": _("Rotate the webhook secret of %(code)s"),
        "lead_new": _(
            "Webhook requests carry X-Stockroom-Signature: sha256=<HMAC of the body with "
            "this secret>, so the receiver can check they come from here."
        ),
        "lead_rotate": _(
            "Requests are signed with the new secret from now on: the receiver must switch to it."
        ),
        "button_new": _("Create secret"),
        "button_rotate": _("Rotate secret"),
        "shown": _("Webhook secret of %(code)s"),
    },
}


def _show_secret(request, channel: Channel, kind: str, value: str):
    """The page that shows a new token or secret, the only time it is ever shown."""
    title = SECRETS[kind]["shown"] % {"code": channel.code}
    response = render(
        request,
        "orders/channel_secret.html",
        {"channel": channel, "kind": kind, "title": title, "value": value},
    )
    # The value is in this response only: no cache may keep it.
    response["Cache-Control"] = "no-store"
    return response


def _secret_page(request, channel_code: str, kind: str):
    """GET asks; POST makes a new secret and shows it in this response only."""
    channel = _get_channel(channel_code)
    spec = SECRETS[kind]
    rotating = spec["exists"](channel)
    names = {"code": channel.code}
    if request.method == "POST":
        return _show_secret(request, channel, kind, spec["rotate"](channel))
    action = {
        "title": (spec["title_rotate"] if rotating else spec["title_new"]) % names,
        "lead": spec["lead_rotate"] if rotating else spec["lead_new"],
        "button": spec["button_rotate"] if rotating else spec["button_new"],
        "url": request.path,
        "danger": rotating,
    }
    return render(
        request,
        "orders/channel_action.html",
        {"channel": channel, "action": action, "form": None},
    )


@never_cache
@login_required
@permission_required("orders.change_channel", raise_exception=True)
@require_http_methods(["GET", "POST"])
def channel_token(request, channel_code):
    return _secret_page(request, channel_code, "token")


@never_cache
@login_required
@permission_required("orders.change_channel", raise_exception=True)
@require_http_methods(["GET", "POST"])
def channel_webhook_secret(request, channel_code):
    return _secret_page(request, channel_code, "secret")


# --- sales orders ------------------------------------------------------------------


def _units(field: str) -> Coalesce:
    return Coalesce(Sum(f"lines__{field}"), 0)


def _backordered_units() -> Coalesce:
    """Units of warehouse lines neither allocated nor shipped.

    Dropship lines wait on no stock, and a cancelled or shipped order waits for nothing.
    """
    waiting = Greatest(
        F("lines__quantity") - F("lines__quantity_allocated") - F("lines__quantity_shipped"),
        Value(0),
    )
    done = (SalesOrder.Status.CANCELLED, SalesOrder.Status.SHIPPED)
    return Coalesce(
        Sum(
            Case(
                When(Q(lines__dropship=False) & ~Q(status__in=done), then=waiting),
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
