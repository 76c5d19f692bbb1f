"""Suppliers, what they sell, purchase orders and their receipts."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from orders.models.events import StatusEvent
from warehouses.models import code_validator


class Supplier(models.Model):
    code = models.CharField(max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    email = models.EmailField("contact email", blank=True)
    default_lead_time_days = models.PositiveIntegerField(
        "default lead time (days)", default=7, validators=[MaxValueValidator(3650)]
    )
    dropships = models.BooleanField(
        default=False, help_text="Ships sales orders straight to customers (dropshipping)."
    )
    receipt_tolerance_percent = models.DecimalField(
        "over-receipt tolerance (%)",
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="How much more than ordered may be received on a line.",
    )
    active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(receipt_tolerance_percent__gte=0)
                & models.Q(receipt_tolerance_percent__lte=100),
                name="supplier_tolerance_in_range",
            )
        ]

    def __str__(self):
        return f"{self.code} · {self.name}"

    def get_absolute_url(self):
        return reverse("supplier_detail", args=[self.code])


class SupplierProduct(models.Model):
    """A product as one supplier sells it: their SKU, price, lead time and ordering rules."""

    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="products")
    product = models.ForeignKey(
        "inventory.Product", on_delete=models.PROTECT, related_name="supplier_products"
    )
    supplier_sku = models.CharField("supplier SKU", max_length=64, blank=True)
    unit_cost = models.DecimalField(
        max_digits=16, decimal_places=6, validators=[MinValueValidator(0)]
    )
    lead_time_days = models.PositiveIntegerField(
        "lead time override (days)",
        null=True,
        blank=True,
        validators=[MaxValueValidator(3650)],
        help_text="Empty: the supplier's default lead time.",
    )
    minimum_order_quantity = models.PositiveIntegerField(
        default=1, validators=[MinValueValidator(1)]
    )
    pack_size = models.PositiveIntegerField(
        default=1, validators=[MinValueValidator(1)], help_text="Order in multiples of this."
    )
    preferred = models.BooleanField(default=False)
    # Units the supplier reports it can ship (dropship availability; see the channel issue).
    supplier_stock = models.PositiveIntegerField(null=True, blank=True)
    supplier_stock_updated_at = models.DateTimeField(null=True, blank=True, editable=False)
    active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["supplier", "product"]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "product"], name="supplier_product_unique"
            ),
            models.UniqueConstraint(
                fields=["product"],
                condition=models.Q(preferred=True),
                name="one_preferred_supplier_per_product",
            ),
            models.UniqueConstraint(
                fields=["supplier", "supplier_sku"],
                condition=~models.Q(supplier_sku=""),
                name="supplier_sku_unique_per_supplier",
            ),
            models.CheckConstraint(
                condition=models.Q(unit_cost__gte=0), name="supplier_cost_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(pack_size__gte=1), name="supplier_pack_size_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(minimum_order_quantity__gte=1),
                name="supplier_moq_positive",
            ),
        ]

    def __str__(self):
        return f"{self.supplier.code}: {self.product.sku}"

    @property
    def effective_lead_time_days(self) -> int:
        if self.lead_time_days is not None:
            return self.lead_time_days
        return self.supplier.default_lead_time_days


class PurchaseOrder(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENT = "sent", "Sent"
        PARTIALLY_RECEIVED = "partially_received", "Partially received"
        RECEIVED = "received", "Received"
        CLOSED = "closed", "Closed (short delivery accepted)"
        CANCELLED = "cancelled", "Cancelled"

    class EmailStatus(models.TextChoices):
        NONE = "", "Not emailed"
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        OUTSIDE = "outside", "Sent outside Stockroom"

    OPEN_STATUSES = (Status.DRAFT, Status.SENT, Status.PARTIALLY_RECEIVED)
    # Statuses whose unreceived quantities count as incoming stock.
    INCOMING_STATUSES = (Status.SENT, Status.PARTIALLY_RECEIVED)

    number = models.CharField(max_length=20, unique=True, editable=False)
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="orders")
    warehouse = models.ForeignKey(
        "warehouses.Warehouse", on_delete=models.PROTECT, related_name="purchase_orders"
    )
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.DRAFT)
    expected_on = models.DateField("expected delivery", null=True, blank=True)
    # Dropship orders ship to the customer instead of the warehouse: the supplier
    # ships the sales order's lines, nothing enters or leaves warehouse stock.
    dropship = models.BooleanField(default=False, editable=False)
    sales_order = models.ForeignKey(
        "orders.SalesOrder",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dropship_orders",
        editable=False,
    )
    ship_to = models.TextField(blank=True)
    carrier = models.CharField(max_length=64, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    shipped_at = models.DateTimeField(
        null=True, blank=True, help_text="When the supplier shipped a dropship order."
    )
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    # The email to the supplier (see orders.purchasing.email): where it stands, how many
    # attempts the current sending took, the last failure and when the status changed.
    email_status = models.CharField(
        max_length=12, choices=EmailStatus.choices, blank=True, default="", editable=False
    )
    email_attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    email_error = models.CharField(max_length=500, blank=True, editable=False)
    email_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("send_purchaseorder", "Can send purchase orders to suppliers"),
            ("receive_purchaseorder", "Can receive purchase orders into stock"),
        ]
        indexes = [models.Index(fields=["status", "supplier"], name="po_status_supplier_idx")]

    def __str__(self):
        return self.number or f"draft #{self.pk}"

    def get_absolute_url(self):
        return reverse("purchase_order_detail", args=[self.number])

    @property
    def awaits_shipment(self) -> bool:
        """A sent dropship order whose supplier has not shipped yet."""
        return self.dropship and self.shipped_at is None and self.status == self.Status.SENT

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT


class PurchaseOrderLine(models.Model):
    order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        "inventory.Product", on_delete=models.PROTECT, related_name="purchase_lines"
    )
    quantity_ordered = models.PositiveIntegerField()
    unit_cost = models.DecimalField(
        max_digits=16, decimal_places=6, validators=[MinValueValidator(0)]
    )
    quantity_received = models.PositiveIntegerField(default=0)
    expected_on = models.DateField(null=True, blank=True)
    # Why the quantity differs from what was asked (pack size, minimum order).
    note = models.CharField(max_length=255, blank=True)
    # The sales order line a dropship line fulfils.
    sales_line = models.OneToOneField(
        "orders.SalesOrderLine",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dropship_line",
        editable=False,
    )

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            # A dropship order may carry the same product for two sales lines.
            models.UniqueConstraint(
                fields=["order", "product"],
                condition=models.Q(sales_line__isnull=True),
                name="po_line_product_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(quantity_ordered__gt=0), name="po_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(unit_cost__gte=0), name="po_line_cost_not_negative"
            ),
        ]
        indexes = [models.Index(fields=["product", "order"], name="po_line_product_idx")]

    def __str__(self):
        return f"{self.order} · {self.product.sku} × {self.quantity_ordered}"

    @property
    def quantity_open(self) -> int:
        return max(self.quantity_ordered - self.quantity_received, 0)


class PurchaseOrderEvent(StatusEvent):
    """A status change of a purchase order: who, when, from → to."""

    order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=24, choices=PurchaseOrder.Status.choices, blank=True)
    to_status = models.CharField(max_length=24, choices=PurchaseOrder.Status.choices)


class PurchaseOrderEmailAttempt(models.Model):
    """One try at emailing a purchase order to its supplier, and how it went."""

    order = models.ForeignKey(
        PurchaseOrder, on_delete=models.CASCADE, related_name="email_attempt_log"
    )
    attempt = models.PositiveSmallIntegerField()
    to = models.EmailField()
    at = models.DateTimeField(default=timezone.now)
    delivered = models.BooleanField()
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        outcome = "delivered" if self.delivered else f"failed: {self.error}"
        return f"{self.order} · email attempt {self.attempt} to {self.to}: {outcome}"


class ReceiptLine(models.Model):
    """One receipt against a purchase order line: the lead-time history.

    ``ordered_on`` is the day the order was sent, ``expected_on`` the promised day and
    ``received_on`` the actual day; lead time is received − ordered, in days.
    """

    line = models.ForeignKey(PurchaseOrderLine, on_delete=models.PROTECT, related_name="receipts")
    move = models.OneToOneField(
        "inventory.StockMove", on_delete=models.PROTECT, related_name="receipt_line"
    )
    quantity = models.PositiveIntegerField()
    ordered_on = models.DateField()
    expected_on = models.DateField(null=True, blank=True)
    received_on = models.DateField()
    lead_time_days = models.IntegerField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["received_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="receipt_quantity_positive"
            )
        ]

    def __str__(self):
        return f"{self.line} · {self.quantity} on {self.received_on}"

    @property
    def days_late(self) -> int | None:
        if self.expected_on is None:
            return None
        return (self.received_on - self.expected_on).days
