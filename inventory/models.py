"""Catalog, lots, the stock ledger, balances and FIFO cost layers.

Only `inventory.ledger` writes StockLevel, StockMove, ReservationEntry and CostLayer.
"""

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords
from stdnum import ean
from stdnum.exceptions import ValidationError as StdnumError

from inventory.import_models import (  # noqa: F401 (re-exported: Django and the app find them here)
    ProductImport,
    ProductImportChunk,
    ProductImportError,
)
from warehouses.models import Location, sellable_place_q

sku_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._/-]*$",
    "Use letters, digits, dot, dash, slash or underscore, starting with a letter or digit.",
)


def normalize_gtin(value: str) -> str:
    """Return a valid GTIN-8/12/13/14 as its 14-digit form, or raise ValidationError."""
    digits = "".join(str(value).split())
    if not digits.isdigit() or len(digits) not in (8, 12, 13, 14):
        raise ValidationError(
            f"“{value}” is not a GTIN: use 8, 12, 13 or 14 digits.", code="invalid_gtin"
        )
    try:
        ean.validate(digits)
    except StdnumError as exc:
        raise ValidationError(
            f"“{value}” is not a valid GTIN: the check digit is wrong.", code="invalid_gtin"
        ) from exc
    return digits.zfill(14)


def validate_gtin(value: str) -> None:
    normalize_gtin(value)


class Product(models.Model):
    class Tracking(models.TextChoices):
        NONE = "none", "Not tracked"
        LOT = "lot", "Lot"
        LOT_EXPIRY = "lot_expiry", "Lot and expiry"

    class Fulfilment(models.TextChoices):
        STOCKED = "stocked", "Stocked"
        DROPSHIP = "dropship", "Dropship"

    sku = models.CharField("SKU", max_length=64, unique=True, validators=[sku_validator])
    name = models.CharField(max_length=200)
    gtin = models.CharField(
        "GTIN",
        max_length=14,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_gtin],
        help_text="EAN/UPC/GTIN of one unit; stored in its 14-digit form.",
    )
    sell_price = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(0)]
    )
    tracking = models.CharField(max_length=16, choices=Tracking.choices, default=Tracking.NONE)
    fulfilment = models.CharField(
        max_length=16, choices=Fulfilment.choices, default=Fulfilment.STOCKED
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["sku"]
        permissions = [
            ("adjust_stock", "Can adjust and count stock"),
            ("transfer_stock", "Can move stock between locations"),
            ("import_data", "Can import products and opening stock"),
            ("view_valuation", "Can see inventory value, costs and margins"),
        ]
        indexes = [models.Index(fields=["name"], name="product_name_idx")]
        constraints = [
            # SKUs ignore case: a scanned or typed SKU matches in any case
            # (scanning.resolve, the forms), so two may not differ only in case. The
            # unique index also serves those lookups.
            models.UniqueConstraint(
                Upper("sku"),
                name="product_sku_unique_ignoring_case",
                violation_error_message="Another product has this SKU in another case "
                "(SKUs ignore case).",
            ),
        ]

    def __str__(self):
        return f"{self.sku} · {self.name}"

    def save(self, *args, **kwargs):
        if self.gtin == "":
            self.gtin = None
        if self.gtin:
            self.gtin = normalize_gtin(self.gtin)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("product_detail", args=[self.sku])

    @property
    def is_lot_tracked(self) -> bool:
        return self.tracking != self.Tracking.NONE

    @property
    def requires_expiry(self) -> bool:
        return self.tracking == self.Tracking.LOT_EXPIRY

    @property
    def is_stocked(self) -> bool:
        return self.fulfilment == self.Fulfilment.STOCKED


class ProductBarcode(models.Model):
    """Another barcode for a product, e.g. a case GTIN that stands for 12 units."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="barcodes")
    code = models.CharField(max_length=64, unique=True)
    units = models.PositiveIntegerField(
        "units per scan", default=1, validators=[MinValueValidator(1)]
    )

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(units__gte=1), name="barcode_units_positive")
        ]

    def __str__(self):
        return f"{self.code} → {self.units} × {self.product.sku}"

    def save(self, *args, **kwargs):
        code = "".join(self.code.split())
        if code.isdigit() and len(code) in (8, 12, 13, 14):
            code = normalize_gtin(code)
        self.code = code
        super().save(*args, **kwargs)


class Lot(models.Model):
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="lots")
    code = models.CharField(max_length=64)
    expires_on = models.DateField(null=True, blank=True)
    received_on = models.DateField(default=timezone.localdate)

    class Meta:
        ordering = ["product", "expires_on", "received_on", "code"]
        constraints = [
            models.UniqueConstraint(fields=["product", "code"], name="lot_code_unique_per_product")
        ]
        indexes = [
            models.Index(fields=["expires_on"], name="lot_expiry_idx"),
            # A lot label scanned alone names its lot by code (scanning.resolve).
            models.Index(fields=["code"], name="lot_code_idx"),
        ]

    def __str__(self):
        if self.expires_on:
            return f"{self.code} (exp. {self.expires_on.isoformat()})"
        return self.code

    def is_expired(self, on=None) -> bool:
        if self.expires_on is None:
            return False
        return self.expires_on < (on or timezone.localdate())


def usable_stock_q(today: date, prefix: str = "") -> models.Q:
    """Match rows with a location and a lot (allocations, balance rows) whose stock can be
    promised: sellable location, lot not expired.

    The same rule as ``is_usable_stock``; a lot counts until the end of its expiry date.
    Balance rows use ``usable_level_q``, which reads their copy of the lot's expiry.
    """
    return sellable_place_q(f"{prefix}location__") & (
        models.Q(**{f"{prefix}lot__isnull": True})
        | models.Q(**{f"{prefix}lot__expires_on__isnull": True})
        | models.Q(**{f"{prefix}lot__expires_on__gte": today})
    )


def usable_level_q(today: date, prefix: str = "") -> models.Q:
    """``usable_stock_q`` for balance rows: their ``lot_expires_on`` instead of a join to
    the lot (NULL without a lot or without an expiry)."""
    return sellable_place_q(f"{prefix}location__") & (
        models.Q(**{f"{prefix}lot_expires_on__isnull": True})
        | models.Q(**{f"{prefix}lot_expires_on__gte": today})
    )


def is_usable_stock(location, lot, today: date) -> bool:
    """Say whether units in ``location`` and ``lot`` can be promised on ``today``."""
    return location.is_sellable and not (lot is not None and lot.is_expired(today))


class StockLevelQuerySet(models.QuerySet):
    def usable(self, today: date):
        """Return the rows whose stock can be promised on ``today``."""
        return self.filter(usable_level_q(today))

    def unusable(self, today: date):
        """Return the rows whose stock cannot be promised (place unsellable, lot expired)."""
        return self.exclude(usable_level_q(today))

    def in_warehouses(self, warehouse_ids):
        """Return the rows held in the warehouses ``warehouse_ids``."""
        return self.filter(location__warehouse_id__in=warehouse_ids)

    def with_available(self, today: date):
        """Annotate ``available_qty``: on hand − committed where usable, else 0."""
        return self.annotate(
            available_qty=models.Case(
                models.When(
                    usable_level_q(today), then=models.F("on_hand") - models.F("committed")
                ),
                default=models.Value(0),
                output_field=models.IntegerField(),
            )
        )


class StockLevel(models.Model):
    """Balance of one product in one location and lot: a cache of the ledger."""

    # No index of their own: stock_level_feed_idx (and the unique constraint) start with
    # the product, stock_level_location_idx with the location.
    product = models.ForeignKey(Product, models.PROTECT, "stock_levels", db_index=False)
    location = models.ForeignKey(Location, models.PROTECT, "stock_levels", db_index=False)
    lot = models.ForeignKey(
        Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="stock_levels"
    )
    on_hand = models.IntegerField(default=0)
    committed = models.IntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)
    # The lot's expires_on, kept by database triggers (inventory migration 0017) on every
    # insert of a balance row and every change of a lot's expiry, whatever writes it
    # (ledger, admin, a queryset update): what can be promised is summed from the
    # balance rows alone, without reading a lot per row. Never written by the code. A
    # migration that rebuilds either table on SQLite drops the triggers and must create
    # them again (``test_lot_expiry_copy`` fails otherwise).
    lot_expires_on = models.DateField(null=True, blank=True, editable=False)

    objects = StockLevelQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(on_hand__gte=0), name="on_hand_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(committed__gte=0), name="committed_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(committed__lte=models.F("on_hand")),
                name="committed_within_on_hand",
            ),
            models.UniqueConstraint(
                fields=["product", "location", "lot"], name="stock_level_unique"
            ),
            models.UniqueConstraint(
                fields=["product", "location"],
                condition=models.Q(lot__isnull=True),
                name="stock_level_unique_without_lot",
            ),
        ]
        indexes = [
            models.Index(fields=["location", "product"], name="stock_level_location_idx"),
            models.Index(fields=["updated_at"], name="stock_level_updated_idx"),
            # The channel API's inventory sums a page of products' rows from the index
            # alone (no table reads): its pages of 1,000 read ~5,000 rows each.
            models.Index(
                fields=[
                    "product",
                    "location",
                    "lot",
                    "on_hand",
                    "committed",
                    "updated_at",
                    "lot_expires_on",
                ],
                name="stock_level_feed_idx",
            ),
            # Stock lists show only rows holding or promising units; emptied rows
            # stay behind as the ledger's history and would otherwise be scanned.
            models.Index(
                fields=["location", "product"],
                condition=models.Q(on_hand__gt=0) | models.Q(committed__gt=0),
                name="stock_level_held_idx",
            ),
            # Which lots still hold units (the dashboard's expired/expiring lot counts).
            models.Index(
                fields=["lot"], condition=models.Q(on_hand__gt=0), name="stock_level_lot_held_idx"
            ),
        ]

    def __str__(self):
        lot = f" lot {self.lot.code}" if self.lot_id else ""
        return f"{self.product.sku} @ {self.location}{lot}: {self.on_hand}"

    @property
    def available(self) -> int:
        return self.on_hand - self.committed


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError(f"{self.model.__name__} rows are append-only: post a new row instead.")

    def bulk_update(self, objs, fields, batch_size=None):
        # Refuse before QuerySet.bulk_update opens its savepoint-less atomic block,
        # which would leave the caller's transaction unusable.
        raise TypeError(f"{self.model.__name__} rows are append-only: post a new row instead.")

    def delete(self):
        raise TypeError(f"{self.model.__name__} rows are append-only and cannot be deleted.")


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding or kwargs.get("update_fields") is not None:
            raise TypeError(f"{type(self).__name__} rows are append-only: post a new row instead.")
        # A new instance that carries an existing primary key would otherwise be
        # saved as an UPDATE of that row.
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} rows are append-only and cannot be deleted.")


class StockMove(AppendOnlyModel):
    """One physical movement of stock: the ledger. Never updated, never deleted."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", "Receipt"
        TRANSFER = "transfer", "Transfer"
        SHIPMENT = "shipment", "Shipment"
        ADJUSTMENT = "adjustment", "Adjustment"
        COUNT = "count", "Count"
        DROPSHIP = "dropship", "Dropship"

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="moves")
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT)
    quantity = models.PositiveIntegerField()
    from_location = models.ForeignKey(
        "warehouses.Location",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="moves_out",
    )
    to_location = models.ForeignKey(
        "warehouses.Location",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="moves_in",
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Receipts: the purchase cost. Outbound moves: FIFO cost of the layers consumed,
    # per unit (total_cost / quantity); total_cost is exact.
    unit_cost = models.DecimalField(max_digits=16, decimal_places=6, null=True, blank=True)
    total_cost = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    document_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    document_id = models.PositiveBigIntegerField(null=True, blank=True)
    document = GenericForeignKey("document_type", "document_id")
    reference = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The product's position after this move, in all locations (inventory.ledger.position):
    # units, FIFO value, moving average. The valuation report reads these.
    units_after = models.BigIntegerField(null=True, blank=True, editable=False)
    value_after = models.DecimalField(
        max_digits=24, decimal_places=6, null=True, blank=True, editable=False
    )
    average_cost_after = models.DecimalField(
        max_digits=16, decimal_places=6, null=True, blank=True, editable=False
    )
    # Posted with an earlier time than the product's previous move (``at=``): the
    # report replays such products instead of reading their positions by date.
    backdated = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="move_quantity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(from_location__isnull=False)
                | models.Q(to_location__isnull=False),
                name="move_has_a_location",
            ),
        ]
        indexes = [
            models.Index(fields=["product", "-created_at"], name="move_product_time_idx"),
            models.Index(fields=["created_at"], name="move_time_idx"),
            models.Index(fields=["from_location", "-created_at"], name="move_from_idx"),
            models.Index(fields=["to_location", "-created_at"], name="move_to_idx"),
            models.Index(fields=["document_type", "document_id"], name="move_document_idx"),
            # The last position: of a product (the ledger), of each product before a date.
            models.Index(fields=["product", "id"], name="move_product_seq_idx"),
            models.Index(fields=["product", "created_at", "id"], name="move_product_asof_idx"),
            models.Index(
                fields=["product"], condition=models.Q(backdated=True), name="move_backdated_idx"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.quantity} × {self.product_id}"


def optional_key(to) -> models.ForeignKey:
    """A key that may be empty, protected, without a reverse accessor or its own index."""
    return models.ForeignKey(
        to, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )


class ReservationEntry(AppendOnlyModel):
    """One change of committed quantity: reserve (+), release (−), ship (−)."""

    class Kind(models.TextChoices):
        RESERVE = "reserve", "Reserve"
        RELEASE = "release", "Release"
        SHIP = "ship", "Ship"

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey("warehouses.Location", on_delete=models.PROTECT, related_name="+")
    # Every order writes entries: keys that are mostly empty (a reservation has no move,
    # an API order no user, most products no lot) are indexed only where set (partial
    # indexes below; a lookup by key implies one), and the document type is the first
    # column of reservation_document_idx.
    lot = optional_key(Lot)
    quantity = models.IntegerField(help_text="Signed change of the committed quantity.")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    move = optional_key(StockMove)
    document_type = optional_key(ContentType)
    document_id = models.PositiveBigIntegerField(null=True, blank=True)
    document = GenericForeignKey("document_type", "document_id")
    user = optional_key(settings.AUTH_USER_MODEL)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "reservation entries"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(quantity=0), name="reservation_quantity_not_zero"
            )
        ]
        indexes = [
            models.Index(fields=["document_type", "document_id"], name="reservation_document_idx"),
            *(
                models.Index(
                    fields=[key],
                    condition=models.Q(**{f"{key}__isnull": False}),
                    name=f"reservation_{key}_idx",
                )
                for key in ("move", "lot", "user")
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.quantity:+d} × {self.product_id}"


class CountRecord(AppendOnlyModel):
    """One count of a product in a location (and lot), with or without a difference.

    Written by ``ledger.count`` in the count's transaction, whichever page, station or
    import counted, so count accuracy (share of counts without a difference, value of the
    differences) is read from here; a count that matched posts no move.
    """

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey("warehouses.Location", on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    expected = models.IntegerField(help_text="Units on hand before the count.")
    counted = models.IntegerField()
    difference = models.IntegerField(help_text="counted − expected")
    unit_cost = models.DecimalField(
        max_digits=16, decimal_places=6, null=True, blank=True, help_text="Of the difference."
    )
    value = models.DecimalField(
        max_digits=20,
        decimal_places=6,
        default=0,
        help_text="Signed value of the difference: found at the cost they came in at, lost at "
        "their FIFO cost (the move's total cost).",
    )
    move = models.ForeignKey(
        StockMove, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    counted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    counted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-counted_at", "-id"]
        indexes = [
            models.Index(fields=["counted_at"], name="count_record_time_idx"),
            models.Index(fields=["location", "counted_at"], name="count_record_location_idx"),
        ]

    def __str__(self):
        return f"Count {self.counted} (was {self.expected}) × {self.product_id}"


class CostLayer(models.Model):
    """Units that came in at one cost; outbound moves consume the oldest layers first."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="cost_layers")
    move = models.OneToOneField(StockMove, on_delete=models.PROTECT, related_name="cost_layer")
    quantity = models.PositiveIntegerField()
    remaining = models.IntegerField()
    unit_cost = models.DecimalField(max_digits=16, decimal_places=6)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["product", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(remaining__gte=0), name="layer_remaining_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(remaining__lte=models.F("quantity")),
                name="layer_remaining_within_quantity",
            ),
            models.CheckConstraint(
                condition=models.Q(unit_cost__gte=0), name="layer_cost_not_negative"
            ),
        ]
        indexes = [
            models.Index(
                fields=["product", "id"],
                condition=models.Q(remaining__gt=0),
                name="layer_open_fifo_idx",
            )
        ]

    def __str__(self):
        return f"{self.remaining}/{self.quantity} × {self.product_id} @ {self.unit_cost}"


class ProductPosition(models.Model):
    """A product's position after its last move: a copy of that move's stored position.

    Written by the ledger with each move, under the product lock; the valuation as of
    today reads these 1 row per product instead of looking up each product's last move.
    """

    product = models.OneToOneField(
        Product, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    move = models.ForeignKey(StockMove, on_delete=models.PROTECT, related_name="+")
    units = models.BigIntegerField()
    value = models.DecimalField(max_digits=24, decimal_places=6)
    average_cost = models.DecimalField(max_digits=16, decimal_places=6)
    moved_at = models.DateTimeField(help_text="created_at of the move")

    def __str__(self):
        return f"{self.product_id}: {self.units} units"
