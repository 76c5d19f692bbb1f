"""Selling channels, the warehouses they sell from, and their stock webhooks."""

from django.core.validators import MaxValueValidator, URLValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from warehouses.models import code_validator

# The SQL form of ``hooked_q`` for ``orders.channels.outbox.on_stock_changed``, which
# inserts outbox rows with one raw INSERT … SELECT on every ledger call; ``{channel}``
# is the alias of the channel table. Change both together.
HOOKED_SQL = "{channel}.active AND {channel}.webhook_url <> ''"


def hooked_q(prefix: str = "") -> models.Q:
    """Active channels with a webhook URL (``prefix`` e.g. ``"channel__"`` from a link row)."""
    return models.Q(**{f"{prefix}active": True}) & ~models.Q(**{f"{prefix}webhook_url": ""})


class ChannelQuerySet(models.QuerySet):
    def hooked(self):
        """Channels that stock webhooks go to: active, with a webhook URL."""
        return self.filter(hooked_q())


class Channel(models.Model):
    """A place that sells our stock: a web store, a marketplace, a point of sale."""

    class Kind(models.TextChoices):
        WEB_STORE = "web_store", "Web store"
        MARKETPLACE = "marketplace", "Marketplace"
        POS = "pos", "Point of sale"

    code = models.CharField(max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.WEB_STORE)
    warehouses = models.ManyToManyField(
        "warehouses.Warehouse", through="ChannelWarehouse", related_name="channels"
    )
    buffer = models.PositiveIntegerField(
        default=0,
        validators=[MaxValueValidator(1_000_000)],
        help_text="Units per SKU held back from what this channel may sell.",
    )
    # Only a hash of the API token is stored; the token is shown once.
    token_hash = models.CharField(max_length=64, blank=True, editable=False)
    token_hint = models.CharField(max_length=12, blank=True, editable=False)
    token_created_at = models.DateTimeField(null=True, blank=True, editable=False)
    webhook_url = models.URLField(
        "webhook URL",
        max_length=500,
        blank=True,
        validators=[URLValidator(schemes=["http", "https"])],
    )
    webhook_secret = models.CharField(max_length=128, blank=True, editable=False)
    # Raised under the channel row lock for every webhook send: item sequence numbers
    # that only grow in the order values were read, whatever order rows committed in.
    webhook_sequence = models.PositiveBigIntegerField(default=0, editable=False)
    # When buffer, warehouses or activity last changed: every SKU's number may differ.
    settings_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    history = HistoricalRecords(
        excluded_fields=["token_hash", "webhook_secret", "webhook_sequence"]
    )

    objects = ChannelQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["token_hash"],
                condition=~models.Q(token_hash=""),
                name="channel_token_hash_unique",
            ),
            models.CheckConstraint(condition=models.Q(buffer__gte=0), name="channel_buffer_ok"),
        ]

    def __str__(self):
        return f"{self.code} · {self.name}"

    def get_absolute_url(self):
        return reverse("channel_detail", args=[self.code])

    @property
    def is_hooked(self) -> bool:
        """Whether stock webhooks go to this channel (see ``hooked_q``)."""
        return self.active and bool(self.webhook_url)

    def sellable(self, units: int) -> int:
        """What the channel may sell of ``units`` available: the buffer held back, never < 0."""
        return max(units - self.buffer, 0)

    def warehouse_ids(self) -> list[int]:
        """The channel's warehouses, highest priority first.

        A channel read by its API token carries them already (``channels.tokens``): an
        API request does not ask again.
        """
        known = self.__dict__.get("known_warehouse_ids")
        if known is not None:
            return list(known)
        return list(
            self.channel_warehouses.order_by("priority", "id").values_list(
                "warehouse_id", flat=True
            )
        )


class ChannelWarehouse(models.Model):
    """A warehouse a channel sells from; lower priority numbers are used first."""

    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="channel_warehouses"
    )
    warehouse = models.ForeignKey(
        "warehouses.Warehouse", on_delete=models.PROTECT, related_name="channel_links"
    )
    priority = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["channel", "priority", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "warehouse"], name="channel_warehouse_unique"
            ),
            models.UniqueConstraint(
                fields=["channel", "priority"], name="channel_warehouse_priority_unique"
            ),
        ]

    def __str__(self):
        return f"{self.channel.code} → {self.warehouse.code} ({self.priority})"


class WebhookDelivery(models.Model):
    """One batch of availability changes POSTed to a channel's webhook URL."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (will retry)"

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    item_count = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["channel", "status"], name="webhook_channel_status_idx")]

    def __str__(self):
        return f"{self.channel.code} delivery #{self.pk} ({self.status})"


class StockOutbox(models.Model):
    """A channel's available-to-sell for a product may have changed.

    Written in the same transaction as the stock change; the delivery task sends the
    product's current value, so rows for one product coalesce into its latest value.
    """

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey("inventory.Product", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    delivery = models.ForeignKey(
        WebhookDelivery,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="items",
        db_index=False,
    )

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "stock outbox"
        indexes = [
            models.Index(
                fields=["channel", "id"],
                condition=models.Q(delivery__isnull=True),
                name="outbox_undelivered_idx",
            ),
            # A row is written undelivered: only delivered ones are indexed by delivery.
            models.Index(
                fields=["delivery"],
                condition=models.Q(delivery__isnull=False),
                name="outbox_delivery_idx",
            ),
        ]

    def __str__(self):
        return f"{self.channel_id}/{self.product_id} at {self.created_at:%Y-%m-%d %H:%M:%S}"
