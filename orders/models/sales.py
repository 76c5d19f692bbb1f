"""Sales orders, their lines, allocations and status history."""

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Greatest
from django.urls import reverse
from django.utils import timezone

from orders.models.channels import Channel
from orders.models.events import StatusEvent

# Backordered units of a sales line: ordered, neither allocated nor shipped, of a line
# the warehouse fills (dropship lines wait on no stock). One rule in its three forms,
# kept together: the line's property, a filter, and an expression for sums.


def backordered_q(prefix: str = "") -> models.Q:
    """Match warehouse lines (reached through ``prefix``) with units still to allocate."""
    return models.Q(
        **{
            f"{prefix}dropship": False,
            f"{prefix}quantity__gt": models.F(f"{prefix}quantity_allocated")
            + models.F(f"{prefix}quantity_shipped"),
        }
    )


def backordered_units(prefix: str = "") -> Greatest:
    """The units of a line (reached through ``prefix``) neither allocated nor shipped, ≥ 0."""
    return Greatest(
        models.F(f"{prefix}quantity")
        - models.F(f"{prefix}quantity_allocated")
        - models.F(f"{prefix}quantity_shipped"),
        models.Value(0),
    )


class SalesOrder(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ALLOCATED = "allocated", "Allocated"
        BACKORDERED = "backordered", "Backordered"
        PICKING = "picking", "Picking"
        SHIPPED = "shipped", "Shipped"
        CANCELLED = "cancelled", "Cancelled"

    # Orders whose unallocated, unshipped quantities still wait for stock.
    WAITING_STATUSES = (Status.OPEN, Status.BACKORDERED)
    ACTIVE_STATUSES = (Status.OPEN, Status.ALLOCATED, Status.BACKORDERED, Status.PICKING)

    number = models.CharField(max_length=20, unique=True, editable=False)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="orders")
    external_ref = models.CharField("external reference", max_length=100)
    customer_name = models.CharField(max_length=200)
    customer_email = models.EmailField(blank=True)
    shipping_address = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    # SHA-256 of the canonical request body: the same external_ref with another
    # body is a conflict, the same body again returns the same order.
    request_hash = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # The warehouse shipment: when it left, with which carrier, under which tracking number.
    shipped_at = models.DateTimeField(null=True, blank=True)
    carrier = models.CharField(max_length=64, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The lines' sums, kept by database triggers on every write of a line (orders
    # migration 0011): the sales report reads one row per order instead of its lines.
    total_units = models.PositiveIntegerField(default=0, editable=False)
    total_sales = models.DecimalField(max_digits=20, decimal_places=2, default=0, editable=False)
    total_units_shipped = models.PositiveIntegerField(default=0, editable=False)
    total_sales_shipped = models.DecimalField(
        max_digits=20, decimal_places=2, default=0, editable=False
    )
    total_cost_of_goods = models.DecimalField(
        max_digits=24, decimal_places=6, default=0, editable=False
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("ship_salesorder", "Can pick and ship sales orders"),
            ("allocate_salesorder", "Can allocate and cancel sales orders"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_ref"], name="sales_order_ref_unique_per_channel"
            )
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="so_status_created_idx"),
            # A packing slip scanned at a station names its order by external reference.
            models.Index(fields=["external_ref"], name="so_external_ref_idx"),
        ]

    def __str__(self):
        return self.number or f"order {self.external_ref}"

    def save(self, *args, **kwargs):
        # The totals belong to the triggers: saving a loaded order (the admin) must not
        # write back sums read before its lines changed.
        if (
            not self._state.adding
            and kwargs.get("update_fields") is None
            and not kwargs.get("force_insert")
        ):
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name not in TOTALS
            ]
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("sales_order_detail", args=[self.number])


TOTALS = (
    "total_units",
    "total_sales",
    "total_units_shipped",
    "total_sales_shipped",
    "total_cost_of_goods",
)


class SalesOrderLine(models.Model):
    order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="lines")
    # Indexed by so_line_product_idx (product, order), whose first column it is.
    product = models.ForeignKey(
        "inventory.Product", on_delete=models.PROTECT, related_name="sales_lines", db_index=False
    )
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(0)]
    )
    quantity_allocated = models.PositiveIntegerField(default=0)
    quantity_shipped = models.PositiveIntegerField(default=0)
    # Fixed when the order comes in: the supplier ships this line to the customer.
    dropship = models.BooleanField(default=False)
    # Cost of the units shipped: FIFO layers consumed, or the supplier's unit cost.
    cost_of_goods = models.DecimalField(
        max_digits=20, decimal_places=6, null=True, blank=True, editable=False
    )

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="so_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(unit_price__gte=0), name="so_line_price_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(quantity_allocated__lte=models.F("quantity")),
                name="so_line_allocated_le_quantity",
            ),
            models.CheckConstraint(
                condition=models.Q(quantity_shipped__lte=models.F("quantity")),
                name="so_line_shipped_le_quantity",
            ),
        ]
        indexes = [
            models.Index(fields=["product", "order"], name="so_line_product_idx"),
            # The lines still waiting for units, by product: every intake asks whether an
            # order waits for its products. Without it the question read every line a
            # product ever had (30 ms for a best seller at `large`), with it a few rows.
            models.Index(
                fields=["product", "order"], condition=backordered_q(), name="so_line_waiting_idx"
            ),
        ]

    def __str__(self):
        return f"{self.order} · {self.product.sku} × {self.quantity}"

    @property
    def quantity_backordered(self) -> int:
        """Units neither allocated nor shipped (0 for dropship lines and cancelled orders)."""
        if self.dropship or self.order.status == SalesOrder.Status.CANCELLED:
            return 0
        return max(self.quantity - self.quantity_allocated - self.quantity_shipped, 0)


class Allocation(models.Model):
    """Units of one sales line reserved on one balance row (location and lot).

    ``quantity`` is what is still reserved; shipping moves units to ``quantity_shipped``.
    The ledger's ReservationEntry journal holds the same reservations by document.
    """

    line = models.ForeignKey(SalesOrderLine, on_delete=models.CASCADE, related_name="allocations")
    location = models.ForeignKey(
        "warehouses.Location", on_delete=models.PROTECT, related_name="allocations"
    )
    lot = models.ForeignKey(
        "inventory.Lot",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    quantity = models.PositiveIntegerField(default=0)
    quantity_shipped = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["line", "id"]
        indexes = [
            # Most allocations have no lot: only those with one are indexed (a lookup by
            # lot implies one), so an order's allocations skip an index.
            models.Index(
                fields=["lot"], condition=models.Q(lot__isnull=False), name="allocation_lot_idx"
            )
        ]

    def __str__(self):
        return f"{self.line} · {self.quantity} at {self.location_id}"


class SalesOrderEvent(StatusEvent):
    """A status change of a sales order: who, when, from → to."""

    order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=16, choices=SalesOrder.Status.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=SalesOrder.Status.choices)
