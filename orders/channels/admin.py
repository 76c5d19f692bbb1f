"""Admin for the stock outbox and webhook deliveries (imported by orders.admin).

Both are logs written by ``orders.channels.outbox`` and ``orders.channels.webhooks``: nobody adds,
edits or deletes rows here. A failed delivery can be retried at once.
"""

from django.contrib import admin, messages

from inventory.admin import ReadOnlyAdmin
from orders.channels import webhooks
from orders.models import StockOutbox, WebhookDelivery


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "channel",
        "status",
        "attempts",
        "item_count",
        "response_status",
        "short_error",
        "created_at",
        "last_attempt_at",
        "next_attempt_at",
        "delivered_at",
    )
    list_select_related = ("channel",)
    list_filter = ("status", "channel")
    search_fields = ("channel__code", "last_error")
    date_hierarchy = "created_at"
    actions = ["retry_now"]

    @admin.display(description="last error")
    def short_error(self, delivery):
        text = delivery.last_error
        return text if len(text) <= 80 else text[:79] + "…"

    def has_retry_permission(self, request):
        return request.user.has_perm("orders.change_channel")

    @admin.action(description="Retry now", permissions=["retry"])
    def retry_now(self, request, queryset):
        """Make the selected failed deliveries due at once and queue their channels."""
        failed = list(queryset.filter(status=WebhookDelivery.Status.FAILED))
        skipped = queryset.count() - len(failed)
        channel_ids = webhooks.retry_now(failed)
        if failed:
            self.message_user(
                request,
                f"Retrying {len(failed)} failed deliver{'y' if len(failed) == 1 else 'ies'} "
                f"for {len(channel_ids)} channel{'' if len(channel_ids) == 1 else 's'}.",
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                f"{skipped} selected deliver{'y was' if skipped == 1 else 'ies were'} not "
                "failed (delivered or being sent) and left as they are.",
                messages.WARNING,
            )


@admin.register(StockOutbox)
class StockOutboxAdmin(ReadOnlyAdmin):
    list_display = ("id", "channel", "product", "created_at", "delivery")
    list_select_related = ("channel", "product", "delivery__channel")
    list_filter = ("channel", ("delivery", admin.EmptyFieldListFilter))
    search_fields = ("product__sku", "channel__code")
    raw_id_fields = ("channel", "product", "delivery")
