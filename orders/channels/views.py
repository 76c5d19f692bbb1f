"""Channel pages: the list, a channel, its settings and its secrets.

Views parse with a form, call a service (``orders.channels``) and render. Secrets (API
tokens, webhook secrets) are shown once, in the response to the POST that made them,
and nowhere else.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from common.pages import filtered_rows, paginate, render_list
from orders.channels import outbox
from orders.channels import tokens as channels
from orders.channels.filters import ChannelFilter
from orders.channels.forms import ChannelForm
from orders.models import (
    Channel,
    ChannelWarehouse,
    SalesOrder,
    StockOutbox,
    WebhookDelivery,
)

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

RECENT_DELIVERIES = 20


def _ordered_links():
    return Prefetch(
        "channel_warehouses",
        queryset=ChannelWarehouse.objects.select_related("warehouse").order_by("priority", "id"),
        to_attr="links",
    )


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
            before = channel.warehouse_ids()
            wanted = [w.pk for w in warehouses]
            if before != wanted:
                channel.channel_warehouses.all().delete()
                ChannelWarehouse.objects.bulk_create(
                    ChannelWarehouse(channel=channel, warehouse_id=pk, priority=i)
                    for i, pk in enumerate(wanted, start=1)
                )
            outbox.channel_saved(
                channel, changed_fields=form.changed_data, warehouses_changed=before != wanted
            )
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
