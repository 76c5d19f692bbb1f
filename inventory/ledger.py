"""The one write path for stock.

Every function here is atomic, validates before it writes, locks the balance rows
it touches with ``select_for_update()`` in primary-key order (SQLite serialises
writers through IMMEDIATE transactions instead), then writes the ledger row, the
balances (with ``F()`` expressions) and the FIFO cost layers. When it raises a
``LedgerError`` nothing has been written.

Lock order, everywhere: the Product row, then StockLevel rows by primary key, then
the product's open CostLayer rows oldest first. Every operation on one product
thus runs one at a time on PostgreSQL (SQLite runs one writer at a time anyway).
Callers that post several products in one outer transaction lock them first with
``lock_products`` (primary-key order) or post them in that order.
"""

import functools
import random
import time
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.contrib.contenttypes.models import ContentType
from django.db import OperationalError, connection, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from inventory import errors, signals
from inventory.models import CostLayer, Lot, Product, ReservationEntry, StockLevel, StockMove
from warehouses.models import Location

COST_PLACES = Decimal("0.000001")
# A scanned barcode typed into a quantity field must not become a receipt; the
# bounds also keep every value inside its database column.
MAX_QUANTITY = 1_000_000_000
MAX_UNIT_COST = Decimal("9999999999.999999")  # StockMove.unit_cost: 16 digits, 6 places
MAX_TOTAL_COST = Decimal("99999999999999.999999")  # StockMove.total_cost: 20 digits, 6 places
LAYER_BATCH = 50
MAX_ATTEMPTS = 5
_RETRYABLE_PGCODES = {"40P01", "40001"}  # deadlock detected, serialization failure


def _is_retryable(exc: OperationalError) -> bool:
    cause = exc.__cause__
    if getattr(cause, "sqlstate", None) in _RETRYABLE_PGCODES:
        return True
    return "database is locked" in str(exc)


def ledger_operation(func):
    """Run ``func`` atomically; retry a whole top-level transaction lost to a deadlock."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if connection.in_atomic_block:
            with transaction.atomic():
                return func(*args, **kwargs)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with transaction.atomic():
                    return func(*args, **kwargs)
            except OperationalError as exc:
                if attempt == MAX_ATTEMPTS or not _is_retryable(exc):
                    raise
                time.sleep(random.uniform(0.005, 0.02) * attempt)
        raise AssertionError("unreachable")

    return wrapper


@dataclass(frozen=True)
class Consumption:
    quantity: int
    total_cost: Decimal

    @property
    def unit_cost(self) -> Decimal:
        return (self.total_cost / self.quantity).quantize(COST_PLACES, ROUND_HALF_UP)


# --- validation helpers -------------------------------------------------------------


def _is_whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_quantity(quantity, product: Product, *, field: str = "quantity") -> int:
    if not _is_whole(quantity):
        raise errors.InvalidQuantity(
            f"The quantity of {product.sku} must be a whole number, not “{quantity}”.",
            field=field,
        )
    if quantity <= 0:
        raise errors.InvalidQuantity(
            f"The quantity of {product.sku} must be more than zero (got {quantity}).",
            field=field,
        )
    if quantity > MAX_QUANTITY:
        raise errors.InvalidQuantity(
            f"{quantity} units of {product.sku} is not a plausible quantity "
            "(was a barcode scanned into the quantity?).",
            field=field,
        )
    return quantity


def _check_cost(unit_cost, product: Product, *, quantity: int = 1) -> Decimal:
    if isinstance(unit_cost, bool) or unit_cost is None:
        raise errors.InvalidCost(
            f"“{unit_cost}” is not a unit cost for {product.sku}.", field="unit_cost"
        )
    try:
        cost = Decimal(str(unit_cost).strip())
    except (InvalidOperation, ValueError, TypeError):
        raise errors.InvalidCost(
            f"“{unit_cost}” is not a unit cost for {product.sku}.", field="unit_cost"
        ) from None
    if not cost.is_finite():
        raise errors.InvalidCost(
            f"“{unit_cost}” is not a unit cost for {product.sku}.", field="unit_cost"
        )
    if cost < 0:
        raise errors.InvalidCost(
            f"The unit cost of {product.sku} cannot be negative (got {cost}).", field="unit_cost"
        )
    if cost > MAX_UNIT_COST or cost * quantity > MAX_TOTAL_COST:
        raise errors.InvalidCost(
            f"A unit cost of {cost} for {quantity} × {product.sku} is too large.",
            field="unit_cost",
        )
    return cost.quantize(COST_PLACES, ROUND_HALF_UP)


def _check_stocked(product: Product) -> None:
    if not product.is_stocked:
        raise errors.NotStocked(
            f"{product.sku} is a dropship product: it is never held in stock.", field="product"
        )


def _check_lot(product: Product, lot: Lot | None) -> None:
    if product.is_lot_tracked and lot is None:
        raise errors.LotRequired(f"{product.sku} is tracked by lot: give the lot.", field="lot")
    if not product.is_lot_tracked and lot is not None:
        raise errors.LotNotAllowed(
            f"{product.sku} is not tracked by lot, but lot {lot.code} was given.", field="lot"
        )
    if lot is not None and lot.product_id != product.pk:
        raise errors.WrongLot(
            f"Lot {lot.code} belongs to another product, not {product.sku}.", field="lot"
        )


def _check_active(product: Product, location: Location, *, field: str = "location") -> None:
    if not location.active:
        raise errors.LocationInactive(
            f"Location {location} is inactive. No {product.sku} can be posted there.",
            field=field,
        )


def _check_not_expired(product: Product, lot: Lot | None, on: date) -> None:
    if lot is not None and lot.expires_on is not None and lot.expires_on < on:
        raise errors.ExpiredLot(
            f"Lot {lot.code} of {product.sku} expired on {lot.expires_on.isoformat()}.",
            field="lot",
        )


def _check_expiry_date(expires_on) -> None:
    if expires_on is not None and (
        not isinstance(expires_on, date) or isinstance(expires_on, datetime)
    ):
        raise errors.InvalidExpiry(f"“{expires_on}” is not an expiry date.", field="expires_on")


def _where(location: Location, lot: Lot | None) -> str:
    return f"{location}" + (f", lot {lot.code}" if lot else "")


def _when(at: datetime | None) -> datetime:
    return at or timezone.now()


def _document_fields(document) -> dict:
    if document is None:
        return {}
    return {
        "document_type": ContentType.objects.get_for_model(document),
        "document_id": document.pk,
    }


# --- balance rows -------------------------------------------------------------------


def _key_q(product: Product, location: Location, lot: Lot | None) -> Q:
    q = Q(product_id=product.pk, location_id=location.pk)
    return q & (Q(lot__isnull=True) if lot is None else Q(lot_id=lot.pk))


def _lock_levels(
    product: Product, places: list[tuple[Location, Lot | None]], *, create: tuple[bool, ...]
) -> list[StockLevel | None]:
    """Lock the balance rows for ``places`` in primary-key order.

    ``create`` says, place by place, whether a missing row is created (empty) first.
    """
    condition = Q()
    for location, lot in places:
        condition |= _key_q(product, location, lot)

    def fetch() -> dict:
        rows = StockLevel.objects.select_for_update().filter(condition).order_by("pk")
        return {(row.location_id, row.lot_id): row for row in rows}

    found = fetch()
    missing = [
        (loc, lot)
        for (loc, lot), wanted in zip(places, create, strict=True)
        if wanted and (loc.pk, lot.pk if lot else None) not in found
    ]
    if missing:
        StockLevel.objects.bulk_create(
            [StockLevel(product=product, location=loc, lot=lot) for loc, lot in missing],
            ignore_conflicts=True,
        )
        found = fetch()
    return [found.get((loc.pk, lot.pk if lot else None)) for loc, lot in places]


def _lock_product(product: Product) -> None:
    """Take the product's row lock: the first lock of every operation on it.

    FIFO means posting order. Without this lock two PostgreSQL transactions could
    post receipts of one product into different locations and commit in the other
    order, or a shipment could skip a receipt posted before it but committed after
    it; the cost layers would then be used in an order no replay of the ledger
    gives. Taking it first, before balance rows and new lots, keeps the lock order
    the same in every operation, so operations on a product queue instead of
    deadlocking. SQLite already runs one writer at a time.
    """
    lock_products([product])


def lock_products(products) -> None:
    """Lock the rows of ``products`` in primary-key order (for multi-product transactions)."""
    if connection.features.has_select_for_update:
        keys = sorted({product.pk for product in products})
        list(
            Product.objects.select_for_update()
            .filter(pk__in=keys)
            .order_by("pk")
            .values_list("pk")
        )


def _change_level(level: StockLevel, *, on_hand: int = 0, committed: int = 0, at: datetime):
    StockLevel.objects.filter(pk=level.pk).update(
        on_hand=F("on_hand") + on_hand, committed=F("committed") + committed, updated_at=at
    )
    level.on_hand += on_hand
    level.committed += committed
    level.updated_at = at


def _announce(product: Product, *locations: Location, increased: bool = False) -> None:
    """Tell receivers (the channel outbox) that sellable stock of ``product`` changed.

    ``increased``: units may have become free (a receipt, a release, stock moved into a
    sellable place), so orders waiting for this product may be served now.
    """
    warehouse_ids = {location.warehouse_id for location in locations if location.is_sellable}
    if warehouse_ids:
        signals.stock_changed.send(
            sender=Product, product=product, warehouse_ids=warehouse_ids, increased=increased
        )


def _announce_transfer(product: Product, source: Location, target: Location) -> None:
    """A move between two sellable places of one warehouse changes nothing promisable."""
    if source.warehouse_id == target.warehouse_id and source.is_sellable == target.is_sellable:
        return
    _announce(product, source, target, increased=target.is_sellable)


# --- cost layers --------------------------------------------------------------------


def _current_average_cost(product: Product) -> Decimal:
    """Return the average unit cost of the units on hand (0 when there are none)."""
    totals = CostLayer.objects.filter(product=product, remaining__gt=0).aggregate(
        quantity=Sum("remaining"), value=Sum(F("remaining") * F("unit_cost"))
    )
    if not totals["quantity"]:
        last = CostLayer.objects.filter(product=product).order_by("-id").first()
        return last.unit_cost if last else Decimal("0")
    return (Decimal(totals["value"]) / totals["quantity"]).quantize(COST_PLACES, ROUND_HALF_UP)


def _add_layer(move: StockMove, unit_cost: Decimal) -> CostLayer:
    return CostLayer.objects.create(
        product_id=move.product_id,
        move=move,
        quantity=move.quantity,
        remaining=move.quantity,
        unit_cost=unit_cost,
        created_at=move.created_at,
    )


def _consume_layers(product: Product, quantity: int) -> Consumption:
    """Take ``quantity`` units from the product's oldest open cost layers."""
    needed = quantity
    total = Decimal("0")
    empty_batches = 0
    while needed > 0:
        # No "id > last seen" cursor: layers used up by this loop drop out of the
        # filter by themselves. On PostgreSQL a row emptied by another transaction
        # while we waited for its lock is re-checked and skipped (LockRows sits
        # under the LIMIT, so the batch is filled from the next rows). An empty
        # batch is retried once or twice: a new statement also sees layers that
        # were committed after this one took its snapshot.
        batch = list(
            CostLayer.objects.select_for_update()
            .filter(product=product, remaining__gt=0)
            .order_by("id")[:LAYER_BATCH]
        )
        if not batch:
            empty_batches += 1
            if empty_batches < 3:
                continue
            # Balances and layers disagree; refuse rather than invent a cost.
            raise errors.InsufficientStock(
                f"The cost layers of {product.sku} hold fewer units than its balance; "
                "run check_ledger.",
                field="quantity",
            )
        changed = []
        for layer in batch:
            take = min(layer.remaining, needed)
            layer.remaining -= take
            changed.append(layer)
            total += take * layer.unit_cost
            needed -= take
            if needed == 0:
                break
        if len(changed) == 1:
            CostLayer.objects.filter(pk=changed[0].pk).update(remaining=changed[0].remaining)
        else:
            CostLayer.objects.bulk_update(changed, ["remaining"])
    return Consumption(quantity=quantity, total_cost=total)


def _post_move(**fields) -> StockMove:
    move = StockMove(**fields)
    move.save()
    return move


# --- lots ---------------------------------------------------------------------------


def get_or_create_lot(
    *, product: Product, code: str, expires_on: date | None = None, received_on: date | None = None
) -> Lot:
    """Return the product's lot with ``code``, creating it; refuse a conflicting expiry.

    An existing lot without an expiry date takes the one given.
    """
    code = (code or "").strip() if isinstance(code, str) or code is None else str(code)
    if not product.is_lot_tracked:
        raise errors.LotNotAllowed(
            f"{product.sku} is not tracked by lot, but lot {code} was given.", field="lot"
        )
    if not code:
        raise errors.LotRequired(f"{product.sku} is tracked by lot: give the lot.", field="lot")
    if len(code) > Lot._meta.get_field("code").max_length or not code.isprintable():
        raise errors.InvalidLotCode(
            f"“{code[:20]}…” is not a lot code for {product.sku}: use at most "
            f"{Lot._meta.get_field('code').max_length} printable characters.",
            field="lot",
        )
    _check_expiry_date(expires_on)
    if received_on is not None and (
        not isinstance(received_on, date) or isinstance(received_on, datetime)
    ):
        raise errors.InvalidExpiry(f"“{received_on}” is not a date.", field="received_on")
    lot = Lot.objects.filter(product=product, code=code).first()
    if lot is None:
        if product.requires_expiry and expires_on is None:
            raise errors.ExpiryRequired(
                f"{product.sku} is tracked by expiry: give the expiry date of lot {code}.",
                field="expires_on",
            )
        Lot.objects.bulk_create(
            [
                Lot(
                    product=product,
                    code=code,
                    expires_on=expires_on,
                    received_on=received_on or timezone.localdate(),
                )
            ],
            ignore_conflicts=True,
        )
        lot = Lot.objects.get(product=product, code=code)
    if expires_on is not None and lot.expires_on is not None and lot.expires_on != expires_on:
        raise errors.LotExpiryConflict(
            f"Lot {code} of {product.sku} expires on {lot.expires_on.isoformat()}, "
            f"not {expires_on.isoformat()}.",
            field="expires_on",
        )
    if expires_on is not None and lot.expires_on is None:
        Lot.objects.filter(pk=lot.pk, expires_on__isnull=True).update(expires_on=expires_on)
        lot.expires_on = expires_on
    return lot


# --- the operations -----------------------------------------------------------------


@ledger_operation
def receive(
    *,
    product: Product,
    location: Location,
    quantity: int,
    unit_cost,
    lot: Lot | None = None,
    lot_code: str | None = None,
    expires_on: date | None = None,
    user=None,
    document=None,
    reference: str = "",
    reason: str = "",
    at: datetime | None = None,
) -> StockMove:
    """Put ``quantity`` units into ``location`` at ``unit_cost`` and open a FIFO cost layer.

    The lot is either given or named by ``lot_code`` (created when new, with
    ``expires_on``).
    """
    _check_quantity(quantity, product)
    cost = _check_cost(unit_cost, product, quantity=quantity)
    _check_stocked(product)
    _check_active(product, location)
    _check_expiry_date(expires_on)
    at = _when(at)
    _lock_product(product)
    if lot is not None:
        _check_lot(product, lot)
        if lot_code and str(lot_code).strip() != lot.code:
            raise errors.WrongLot(
                f"Lot {lot.code} was given for {product.sku}, but also lot code {lot_code}.",
                field="lot",
            )
    if lot is not None and expires_on is not None and lot.expires_on not in (None, expires_on):
        raise errors.LotExpiryConflict(
            f"Lot {lot.code} of {product.sku} expires on {lot.expires_on.isoformat()}, "
            f"not {expires_on.isoformat()}.",
            field="expires_on",
        )
    if lot is None and lot_code:
        lot = get_or_create_lot(
            product=product,
            code=lot_code,
            expires_on=expires_on,
            received_on=timezone.localdate(at),
        )
    _check_lot(product, lot)
    if lot is not None and product.requires_expiry and lot.expires_on is None:
        if expires_on is None:
            raise errors.ExpiryRequired(
                f"{product.sku} is tracked by expiry: lot {lot.code} has no expiry date.",
                field="expires_on",
            )
        lot = get_or_create_lot(product=product, code=lot.code, expires_on=expires_on)
    (level,) = _lock_levels(product, [(location, lot)], create=(True,))
    move = _post_move(
        product=product,
        lot=lot,
        quantity=quantity,
        to_location=location,
        kind=StockMove.Kind.RECEIPT,
        unit_cost=cost,
        total_cost=cost * quantity,
        user=user,
        reference=reference,
        reason=reason,
        created_at=at,
        **_document_fields(document),
    )
    _change_level(level, on_hand=quantity, at=at)
    _add_layer(move, cost)
    _announce(product, location, increased=True)
    return move


@ledger_operation
def transfer(
    *,
    product: Product,
    from_location: Location,
    to_location: Location,
    quantity: int,
    lot: Lot | None = None,
    user=None,
    document=None,
    reference: str = "",
    reason: str = "",
    at: datetime | None = None,
) -> StockMove:
    """Move uncommitted units between two locations (any warehouses)."""
    _check_quantity(quantity, product)
    _check_stocked(product)
    _check_lot(product, lot)
    if from_location.pk == to_location.pk:
        raise errors.SameLocation(
            f"{product.sku} is already in {to_location}: pick another location.",
            field="to_location",
        )
    _check_active(product, to_location, field="to_location")
    at = _when(at)
    _lock_product(product)
    source, target = _lock_levels(
        product, [(from_location, lot), (to_location, lot)], create=(False, True)
    )
    _require_free(product, source, quantity, from_location, lot)
    move = _post_move(
        product=product,
        lot=lot,
        quantity=quantity,
        from_location=from_location,
        to_location=to_location,
        kind=StockMove.Kind.TRANSFER,
        user=user,
        reference=reference,
        reason=reason,
        created_at=at,
        **_document_fields(document),
    )
    _change_level(source, on_hand=-quantity, at=at)
    _change_level(target, on_hand=quantity, at=at)
    _announce_transfer(product, from_location, to_location)
    return move


def _require_free(
    product: Product, level: StockLevel | None, quantity: int, location: Location, lot
) -> None:
    on_hand = level.on_hand if level else 0
    committed = level.committed if level else 0
    where = _where(location, lot)
    if on_hand < quantity:
        raise errors.InsufficientStock(
            f"Only {on_hand} of {product.sku} in {where}; {quantity} needed.", field="quantity"
        )
    if on_hand - committed < quantity:
        raise errors.CommittedStock(
            f"{committed} of the {on_hand} units of {product.sku} in {where} are committed "
            f"to orders; only {on_hand - committed} can be used, {quantity} needed.",
            field="quantity",
        )


def _post_outbound(
    *,
    product: Product,
    level: StockLevel,
    location: Location,
    lot: Lot | None,
    quantity: int,
    kind: str,
    committed: int = 0,
    at: datetime,
    **fields,
) -> StockMove:
    consumption = _consume_layers(product, quantity)
    move = _post_move(
        product=product,
        lot=lot,
        quantity=quantity,
        from_location=location,
        kind=kind,
        unit_cost=consumption.unit_cost,
        total_cost=consumption.total_cost,
        created_at=at,
        **fields,
    )
    _change_level(level, on_hand=-quantity, committed=-committed, at=at)
    if committed != quantity:  # shipping reserved units leaves "available" as it was
        _announce(product, location)
    return move


def _post_inbound(
    *,
    product: Product,
    level: StockLevel,
    location: Location,
    lot: Lot | None,
    quantity: int,
    kind: str,
    cost: Decimal | None,
    at: datetime,
    **fields,
) -> StockMove:
    if cost is None:
        cost = _current_average_cost(product)
    move = _post_move(
        product=product,
        lot=lot,
        quantity=quantity,
        to_location=location,
        kind=kind,
        unit_cost=cost,
        total_cost=cost * quantity,
        created_at=at,
        **fields,
    )
    _change_level(level, on_hand=quantity, at=at)
    _add_layer(move, cost)
    _announce(product, location, increased=True)
    return move


@ledger_operation
def adjust(
    *,
    product: Product,
    location: Location,
    quantity: int,
    reason: str,
    lot: Lot | None = None,
    unit_cost=None,
    user=None,
    document=None,
    reference: str = "",
    at: datetime | None = None,
) -> StockMove:
    """Add (positive ``quantity``) or remove (negative) units, with a reason.

    Found units come in at ``unit_cost``, or at the current average cost when it is
    not given; removed units leave at their FIFO cost (a given cost is only checked).
    """
    if not _is_whole(quantity) or quantity == 0:
        raise errors.InvalidQuantity(
            f"An adjustment of {product.sku} needs a whole number of units other than zero "
            f"(got “{quantity}”).",
            field="quantity",
        )
    _check_quantity(abs(quantity), product)
    if not isinstance(reason, str) or not reason.strip():
        raise errors.ReasonRequired(
            f"Say why the stock of {product.sku} in {location} is adjusted.", field="reason"
        )
    cost = None if unit_cost is None else _check_cost(unit_cost, product, quantity=abs(quantity))
    _check_stocked(product)
    _check_lot(product, lot)
    if quantity > 0:
        _check_active(product, location)
    at = _when(at)
    _lock_product(product)
    (level,) = _lock_levels(product, [(location, lot)], create=(quantity > 0,))
    fields = {
        "user": user,
        "reference": reference,
        "reason": reason.strip(),
        **_document_fields(document),
    }
    if quantity < 0:
        _require_free(product, level, -quantity, location, lot)
        return _post_outbound(
            product=product,
            level=level,
            location=location,
            lot=lot,
            quantity=-quantity,
            kind=StockMove.Kind.ADJUSTMENT,
            at=at,
            **fields,
        )
    return _post_inbound(
        product=product,
        level=level,
        location=location,
        lot=lot,
        quantity=quantity,
        kind=StockMove.Kind.ADJUSTMENT,
        cost=cost,
        at=at,
        **fields,
    )


@ledger_operation
def count(
    *,
    product: Product,
    location: Location,
    counted: int,
    lot: Lot | None = None,
    unit_cost=None,
    user=None,
    document=None,
    reference: str = "",
    reason: str = "",
    at: datetime | None = None,
) -> StockMove | None:
    """Set the on-hand quantity to what was counted; post the difference (None if none).

    Units found come in at ``unit_cost`` or the current average cost; units missing
    leave at their FIFO cost.
    """
    if not _is_whole(counted) or counted < 0 or counted > MAX_QUANTITY:
        raise errors.InvalidQuantity(
            f"The counted quantity of {product.sku} must be a whole number, zero or more "
            f"(got “{counted}”).",
            field="counted",
        )
    cost = None if unit_cost is None else _check_cost(unit_cost, product, quantity=counted or 1)
    _check_stocked(product)
    _check_lot(product, lot)
    at = _when(at)
    _lock_product(product)
    (level,) = _lock_levels(product, [(location, lot)], create=(False,))
    on_hand = level.on_hand if level else 0
    difference = counted - on_hand
    if difference == 0:
        return None
    fields = {
        "user": user,
        "reference": reference,
        "reason": (reason or "").strip() or f"Counted {counted}, was {on_hand}",
        **_document_fields(document),
    }
    if difference < 0:
        if counted < level.committed:
            raise errors.CommittedStock(
                f"{level.committed} units of {product.sku} in {_where(location, lot)} are "
                f"committed to orders; a count of {counted} needs them released first.",
                field="counted",
            )
        return _post_outbound(
            product=product,
            level=level,
            location=location,
            lot=lot,
            quantity=-difference,
            kind=StockMove.Kind.COUNT,
            at=at,
            **fields,
        )
    _check_active(product, location)
    if level is None:
        (level,) = _lock_levels(product, [(location, lot)], create=(True,))
    return _post_inbound(
        product=product,
        level=level,
        location=location,
        lot=lot,
        quantity=difference,
        kind=StockMove.Kind.COUNT,
        cost=cost,
        at=at,
        **fields,
    )


@ledger_operation
def reserve(
    *,
    product: Product,
    location: Location,
    quantity: int,
    lot: Lot | None = None,
    user=None,
    document=None,
    at: datetime | None = None,
) -> StockLevel:
    """Commit available units in a sellable location to an order."""
    _check_quantity(quantity, product)
    _check_stocked(product)
    _check_lot(product, lot)
    _check_active(product, location)
    if not location.is_sellable:
        raise errors.LocationNotSellable(
            f"{product.sku} in {location} ({location.get_kind_display().lower()}) cannot be sold.",
            field="location",
        )
    at = _when(at)
    _check_not_expired(product, lot, timezone.localdate(at))
    _lock_product(product)
    (level,) = _lock_levels(product, [(location, lot)], create=(False,))
    _require_free(product, level, quantity, location, lot)
    ReservationEntry.objects.create(
        product=product,
        location=location,
        lot=lot,
        quantity=quantity,
        kind=ReservationEntry.Kind.RESERVE,
        user=user,
        created_at=at,
        **_document_fields(document),
    )
    _change_level(level, committed=quantity, at=at)
    _announce(product, location)
    return level


@ledger_operation
def release(
    *,
    product: Product,
    location: Location,
    quantity: int,
    lot: Lot | None = None,
    user=None,
    document=None,
    at: datetime | None = None,
) -> StockLevel:
    """Give back committed units (an order was cancelled or changed)."""
    _check_quantity(quantity, product)
    _check_stocked(product)
    _check_lot(product, lot)
    at = _when(at)
    _lock_product(product)
    (level,) = _lock_levels(product, [(location, lot)], create=(False,))
    committed = level.committed if level else 0
    if committed < quantity:
        raise errors.NotCommitted(
            f"Only {committed} of {product.sku} in {_where(location, lot)} are committed; "
            f"cannot release {quantity}.",
            field="quantity",
        )
    ReservationEntry.objects.create(
        product=product,
        location=location,
        lot=lot,
        quantity=-quantity,
        kind=ReservationEntry.Kind.RELEASE,
        user=user,
        created_at=at,
        **_document_fields(document),
    )
    _change_level(level, committed=-quantity, at=at)
    _announce(product, location, increased=True)
    return level


@ledger_operation
def ship(
    *,
    product: Product,
    location: Location,
    quantity: int,
    lot: Lot | None = None,
    from_committed: bool = False,
    user=None,
    document=None,
    reference: str = "",
    reason: str = "",
    at: datetime | None = None,
) -> StockMove:
    """Send units out of the warehouse at their FIFO cost.

    With ``from_committed`` the units are ones reserved earlier (an order's
    allocation) and committed goes down with on hand; otherwise only uncommitted
    units may leave.
    """
    _check_quantity(quantity, product)
    _check_stocked(product)
    _check_lot(product, lot)
    _check_active(product, location)
    at = _when(at)
    _check_not_expired(product, lot, timezone.localdate(at))
    _lock_product(product)
    (level,) = _lock_levels(product, [(location, lot)], create=(False,))
    if from_committed:
        committed = level.committed if level else 0
        if committed < quantity:
            raise errors.NotCommitted(
                f"Only {committed} of {product.sku} in {_where(location, lot)} are committed; "
                f"cannot ship {quantity} of them.",
                field="quantity",
            )
    else:
        _require_free(product, level, quantity, location, lot)
    move = _post_outbound(
        product=product,
        level=level,
        location=location,
        lot=lot,
        quantity=quantity,
        kind=StockMove.Kind.SHIPMENT,
        committed=quantity if from_committed else 0,
        at=at,
        user=user,
        reference=reference,
        reason=reason,
        **_document_fields(document),
    )
    if from_committed:
        ReservationEntry.objects.create(
            product=product,
            location=location,
            lot=lot,
            quantity=-quantity,
            kind=ReservationEntry.Kind.SHIP,
            move=move,
            user=user,
            created_at=at,
            **_document_fields(document),
        )
    return move
