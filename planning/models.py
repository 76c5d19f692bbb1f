"""What planning keeps: imported demand history, the buyer's policies, and the stored plan.

The nightly computation (`manage.py plan`) writes one :class:`PlanLine` per product ×
warehouse into a :class:`PlanRun`; pages and the CSV read those rows and never recompute.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from inventory.models import Product
from orders.models import Supplier
from warehouses.models import Warehouse


class ImportedDemand(models.Model):
    """Units customers asked for before Stockroom existed (``manage.py import_sales``).

    One row per product × warehouse × day × channel code of the file; returns are
    negative and reduce that day's demand. Sales orders entered in Stockroom are read
    from the orders tables, not copied here.
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    channel = models.CharField(max_length=64, blank=True)
    quantity = models.IntegerField(help_text="Net units ordered that day; returns are negative.")
    source = models.CharField(max_length=255, blank=True, help_text="The file it came from.")
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["product", "warehouse", "day"], name="imported_demand_pwd")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.quantity}"


class Policy(models.Model):
    """How one product is replenished in one warehouse; buyers edit it, history is kept.

    A product × warehouse without a row plans with the defaults: ``dropship`` for a
    dropship product, ``manual`` while there is less than a third of ``history_days``
    of demand history, else ``safety_stock`` at 95 %.
    """

    class Kind(models.TextChoices):
        SAFETY_STOCK = "safety_stock", "Safety stock"
        JIT = "jit", "Just in time"
        MIN_MAX = "min_max", "Min / max"
        DROPSHIP = "dropship", "Dropship"
        MANUAL = "manual", "Manual buffer"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.SAFETY_STOCK)
    service_level = models.DecimalField(
        "service level (%)",
        max_digits=5,
        decimal_places=2,
        default=Decimal("95.00"),
        validators=[MinValueValidator(Decimal("50")), MaxValueValidator(Decimal("99.99"))],
        help_text="Chance of not running out during a lead time (safety stock).",
    )
    review_period_days = models.PositiveIntegerField(
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=(
            "Days between orders: order up to the reorder point plus this many days of demand."
        ),
    )
    history_days = models.PositiveIntegerField(
        default=90,
        validators=[MinValueValidator(14), MaxValueValidator(730)],
        help_text="Days of demand history the spread of demand is measured over (N).",
    )
    minimum = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Min / max: order when available + incoming is at or below this.",
    )
    maximum = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Order up to this (min / max; optional cap for safety stock).",
    )
    manual_buffer = models.PositiveIntegerField(
        default=0, help_text="Manual: the fixed buffer kept for a new product."
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "policies"
        constraints = [
            models.UniqueConstraint(fields=["product", "warehouse"], name="one_policy_per_place"),
            models.CheckConstraint(
                condition=models.Q(minimum__isnull=True)
                | models.Q(maximum__isnull=True)
                | models.Q(minimum__lte=models.F("maximum")),
                name="policy_min_not_above_max",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}"


NO_SUPPLIER_RANK = 2_147_483_647  # sorts after every supplier on both databases


def supplier_ranks() -> dict[int, int]:
    """``{supplier_id: place by name}`` — the order the replenishment page groups in."""
    ids = Supplier.objects.order_by("name", "id").values_list("id", flat=True)
    return {supplier_id: rank for rank, supplier_id in enumerate(ids)}


class PlanRun(models.Model):
    """One run of ``manage.py plan``: its progress while running, its result when done."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    as_of = models.DateField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    stage = models.CharField(max_length=100, blank=True, help_text="What it is doing now.")
    done_count = models.PositiveIntegerField(default=0)
    total_count = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "-id"], name="plan_run_latest")]

    def __str__(self) -> str:
        return f"Plan of {self.as_of} ({self.status})"


class PlanLine(models.Model):
    """The plan for one product in one warehouse, with every input shown to the buyer.

    Units: demand per day, lead time in days. ``suggested_qty`` is already rounded to
    the preferred supplier's pack size and minimum order; 0 means nothing to order.
    """

    run = models.ForeignKey(PlanRun, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="+")
    supplier_product = models.ForeignKey(
        "orders.SupplierProduct",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The preferred supplier's offer the suggestion is sized to.",
    )
    supplier = models.ForeignKey(
        Supplier,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The supplier of ``supplier_product``, kept here so pages group without joins.",
    )
    supplier_rank = models.PositiveIntegerField(
        default=NO_SUPPLIER_RANK,
        help_text="Place of the supplier by name among all suppliers; lines without one last.",
    )
    policy = models.CharField(max_length=16, choices=Policy.Kind.choices)
    policy_is_default = models.BooleanField(default=True)
    # Demand and forecast
    pattern = models.CharField(max_length=16, blank=True)  # smooth/erratic/intermittent/lumpy/none
    method = models.CharField(max_length=16, blank=True)  # ses/croston/sba/tsb/naive
    alpha = models.FloatField(null=True, blank=True)
    beta = models.FloatField(null=True, blank=True)
    forecast_daily = models.FloatField(default=0)
    sd_daily_demand = models.FloatField(default=0)
    history_days = models.PositiveIntegerField(default=0, help_text="Days of history used.")
    stockout_days = models.PositiveIntegerField(default=0, help_text="Days left out of σd.")
    backtest_mae = models.FloatField(null=True, blank=True)
    backtest_bias = models.FloatField(null=True, blank=True)
    naive_mae = models.FloatField(null=True, blank=True)
    naive_bias = models.FloatField(null=True, blank=True)
    # Lead time
    lead_time_days = models.FloatField(default=0)
    sd_lead_time_days = models.FloatField(default=0)
    lead_time_receipts = models.PositiveIntegerField(default=0)
    lead_time_stated = models.BooleanField(
        default=True, help_text="The stated lead time (fewer than 3 receipts), σL = 0."
    )
    late_share = models.FloatField(
        default=0, help_text="Share of receipts after their expected date."
    )
    # Policy numbers
    service_level = models.FloatField(null=True, blank=True)  # percent
    z = models.FloatField(null=True, blank=True)
    safety_stock = models.PositiveIntegerField(default=0)
    reorder_point = models.PositiveIntegerField(default=0)
    order_up_to = models.PositiveIntegerField(default=0)
    # Position
    on_hand = models.IntegerField(default=0)
    available = models.IntegerField(default=0)
    incoming = models.PositiveIntegerField(default=0)
    incoming_draft = models.PositiveIntegerField(
        default=0, help_text="The part of incoming on draft purchase orders."
    )
    open_demand = models.PositiveIntegerField(default=0)
    suggested_qty = models.PositiveIntegerField(default=0)
    rounding_note = models.CharField(
        max_length=255, blank=True, help_text="How the need was rounded to packs / minimum."
    )
    unit_cost = models.DecimalField(max_digits=16, decimal_places=6, null=True, blank=True)
    jit_risky = models.BooleanField(default=False)
    warning = models.CharField(max_length=255, blank=True)
    advice = models.CharField(
        max_length=16,
        choices=Policy.Kind.choices,
        blank=True,
        # The plan's writer inserts tuples without it; ``advisor.store_advice`` fills it.
        db_default="",
        help_text="The strategy advisor's recommendation, stored when the run is written.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "product", "warehouse"], name="one_plan_line")
        ]
        indexes = [
            models.Index(fields=["run", "warehouse", "suggested_qty"], name="plan_line_to_order"),
            # The replenishment page: what to order, suppliers by name, in one index range.
            models.Index(
                fields=["run", "supplier_rank", "warehouse", "product"],
                condition=models.Q(suggested_qty__gt=0),
                name="plan_line_order_queue",
            ),
            models.Index(fields=["run", "product"], name="plan_line_product"),
            # The advisor filtered by advice, in page order, in one index range.
            models.Index(
                fields=["run", "advice", "product", "warehouse"], name="plan_line_advice"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.warehouse_id}: order {self.suggested_qty}"


class InventorySnapshot(models.Model):
    """The store's figures at the end of one day, written by the nightly plan.

    ``warehouse`` empty means the whole store (only those rows carry the plan's figures
    and ``details``). Charts read these rows and never recompute the past. Figures the
    plan gives (below reorder point, stockouts, overstock, backorders) are empty on days
    backfilled from the ledger alone.
    """

    day = models.DateField()
    warehouse = models.ForeignKey(
        Warehouse, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    run = models.ForeignKey(
        PlanRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    value_fifo = models.DecimalField(max_digits=20, decimal_places=2)
    value_average = models.DecimalField(max_digits=20, decimal_places=2)
    units = models.BigIntegerField()
    skus_below_rop = models.PositiveIntegerField(null=True, blank=True)
    stockouts = models.PositiveIntegerField(null=True, blank=True)
    overstock_value = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    expiring_value = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    incoming_value = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    backorders = models.PositiveIntegerField(null=True, blank=True)
    details = models.JSONField(
        default=dict, blank=True, help_text="Top movers, sales per channel, ABC share."
    )
    written_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "warehouse"], name="one_snapshot_per_day_and_warehouse"
            ),
            models.UniqueConstraint(
                fields=["day"],
                condition=models.Q(warehouse__isnull=True),
                name="one_store_snapshot_per_day",
            ),
        ]
        indexes = [models.Index(fields=["warehouse", "-day"], name="snapshot_latest")]

    def __str__(self) -> str:
        return f"Snapshot {self.day} {self.warehouse_id or 'all'}"


class CountSchedule(models.Model):
    """When one location is next due for a cycle count, refreshed by the nightly plan.

    A location's class is the best ABC class (``planning.classes``) of the products it
    holds; its cadence comes from ``STOCKROOM_COUNT_CADENCE_DAYS``. ``due_on`` is the last
    count move's day plus the cadence (today for a location never counted).
    """

    location = models.OneToOneField(
        "warehouses.Location", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="+")
    abc_class = models.CharField(max_length=1)
    cadence_days = models.PositiveIntegerField()
    last_counted = models.DateTimeField(null=True, blank=True)
    due_on = models.DateField()
    refreshed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["due_on", "location"], name="count_schedule_due"),
            models.Index(fields=["warehouse", "due_on", "location"], name="count_schedule_wh_due"),
        ]

    def __str__(self) -> str:
        return f"{self.location_id} due {self.due_on}"
