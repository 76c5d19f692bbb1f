"""The one write path for stock: ``receive``, ``transfer``, ``adjust``, ``count``,
``reserve``, ``release`` and ``ship``.

Every function here is atomic, validates before it writes (``checks``), locks the
product row, then the balance rows it touches in primary-key order, then the
product's open cost layers oldest first (``locks``, ``costing``), and only then
writes the ledger row, the balances (with ``F()`` expressions) and the FIFO cost
layers. When it raises a ``LedgerError`` nothing has been written. Callers that post
several products in one outer transaction lock them first with ``lock_products``
(primary-key order) or post them in that order; ``holding_products`` does the same
and spares the calls inside it a second lock of those rows. ``reserve_many`` and
``ship_many`` (``batch``, ``shipping``) do what ``reserve`` and ``ship`` do for many
balance rows at once, in a fixed number of statements, with the same locks, checks,
refusals and rows.
"""

from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from common.transactions import atomic_with_retry
from inventory import errors, signals
from inventory.ledger.batch import reserve_many
from inventory.ledger.checks import (
    COST_PLACES,
    MAX_BALANCE,
    MAX_QUANTITY,
    MAX_TOTAL_COST,
    MAX_UNIT_COST,
    check_active,
    check_cost,
    check_expiry_date,
    check_lot,
    check_not_expired,
    check_quantity,
    check_room,
    check_sellable,
    check_stocked,
    is_whole,
)
from inventory.ledger.costing import add_layer, consume_layers, current_average_cost
from inventory.ledger.locks import (
    balances_locking,
    change_level,
    holding_products,
    lock_balances,
    lock_levels,
    lock_product,
    lock_products,
)
from inventory.ledger.lots import get_or_create_lot, receipt_lot
from inventory.ledger.position import post_move
from inventory.ledger.refusals import document_fields as _document_fields
from inventory.ledger.refusals import require_committed as _require_committed
from inventory.ledger.refusals import require_free as _require_free
from inventory.ledger.refusals import where as _where
from inventory.ledger.shipping import ship_many
from inventory.models import CountRecord, Lot, Product, ReservationEntry, StockLevel, StockMove
from warehouses.models import Location

__all__ = [
    "COST_PLACES",
    "MAX_BALANCE",
    "MAX_QUANTITY",
    "MAX_TOTAL_COST",
    "MAX_UNIT_COST",
    "adjust",
    "balances_locking",
    "count",
    "get_or_create_lot",
    "holding_products",
    "lock_balances",
    "lock_products",
    "receive",
    "release",
    "reserve",
    "reserve_many",
    "ship",
    "ship_many",
    "transfer",
]


def _when(at: datetime | None) -> datetime:
    return at or timezone.now()


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


def _post_move(**fields) -> StockMove:
    # With the product's position after the move, in the same insert (``position``).
    return post_move(**fields)


# --- the operations -----------------------------------------------------------------


@atomic_with_retry
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
    check_quantity(quantity, product)
    cost = check_cost(unit_cost, product, quantity=quantity)
    check_stocked(product)
    check_active(product, location)
    check_expiry_date(expires_on)
    at = _when(at)
    lock_product(product)
    lot = receipt_lot(product, lot, lot_code, expires_on, at)
    (level,) = lock_levels(product, [(location, lot)], create=(True,))
    check_room(product, level.on_hand, quantity, _where(location, lot))
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
    change_level(level, on_hand=quantity, at=at)
    add_layer(move, cost)
    _announce(product, location, increased=True)
    return move


@atomic_with_retry
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
    check_quantity(quantity, product)
    check_stocked(product)
    check_lot(product, lot)
    if from_location.pk == to_location.pk:
        raise errors.SameLocation(
            f"{product.sku} is already in {to_location}: pick another location.",
            field="to_location",
        )
    check_active(product, to_location, field="to_location")
    at = _when(at)
    lock_product(product)
    source, target = lock_levels(
        product, [(from_location, lot), (to_location, lot)], create=(False, True)
    )
    _require_free(product, source, quantity, from_location, lot)
    check_room(product, target.on_hand, quantity, _where(to_location, lot))
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
    change_level(source, on_hand=-quantity, at=at)
    change_level(target, on_hand=quantity, at=at)
    _announce_transfer(product, from_location, to_location)
    return move


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
    consumption = consume_layers(product, quantity)
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
    change_level(level, on_hand=-quantity, committed=-committed, at=at)
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
    check_room(product, level.on_hand, quantity, _where(location, lot))
    if cost is None:
        cost = current_average_cost(product)
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
    change_level(level, on_hand=quantity, at=at)
    add_layer(move, cost)
    _announce(product, location, increased=True)
    return move


def _post_difference(*, difference: int, cost: Decimal | None, **fields) -> StockMove:
    """Post units found (``difference`` > 0) at ``cost``, or units lost at their FIFO cost."""
    if difference < 0:
        return _post_outbound(quantity=-difference, **fields)
    return _post_inbound(quantity=difference, cost=cost, **fields)


@atomic_with_retry
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
    if not is_whole(quantity) or quantity == 0:
        raise errors.InvalidQuantity(
            f"An adjustment of {product.sku} needs a whole number of units other than zero "
            f"(got “{quantity}”).",
            field="quantity",
        )
    check_quantity(abs(quantity), product)
    if not isinstance(reason, str) or not reason.strip():
        raise errors.ReasonRequired(
            f"Say why the stock of {product.sku} in {location} is adjusted.", field="reason"
        )
    cost = None if unit_cost is None else check_cost(unit_cost, product, quantity=abs(quantity))
    check_stocked(product)
    check_lot(product, lot)
    if quantity > 0:
        check_active(product, location)
    at = _when(at)
    lock_product(product)
    (level,) = lock_levels(product, [(location, lot)], create=(quantity > 0,))
    fields = {
        "user": user,
        "reference": reference,
        "reason": reason.strip(),
        **_document_fields(document),
    }
    if quantity < 0:
        _require_free(product, level, -quantity, location, lot)
    return _post_difference(
        product=product,
        level=level,
        location=location,
        lot=lot,
        difference=quantity,
        kind=StockMove.Kind.ADJUSTMENT,
        cost=cost,
        at=at,
        **fields,
    )


def _record_count(record: dict, move: StockMove | None) -> StockMove | None:
    """Keep the count, with the value of its difference (found +, lost − at FIFO cost)."""
    if move is not None:
        sign = 1 if record["difference"] > 0 else -1
        record.update(move=move, unit_cost=move.unit_cost, value=(move.total_cost or 0) * sign)
    CountRecord.objects.create(**record)
    return move


@atomic_with_retry
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
    if not is_whole(counted) or counted < 0 or counted > MAX_QUANTITY:
        raise errors.InvalidQuantity(
            f"The counted quantity of {product.sku} must be a whole number, zero or more "
            f"(got “{counted}”).",
            field="counted",
        )
    cost = None if unit_cost is None else check_cost(unit_cost, product, quantity=counted or 1)
    check_stocked(product)
    check_lot(product, lot)
    at = _when(at)
    lock_product(product)
    (level,) = lock_levels(product, [(location, lot)], create=(False,))
    on_hand = level.on_hand if level else 0
    difference = counted - on_hand
    where = {"product": product, "location": location, "lot": lot}
    record = {**where, "counted_by": user, "counted_at": at}
    record.update(expected=on_hand, counted=counted, difference=difference)
    if difference == 0:
        _record_count(record, None)
        return None
    reason = (reason or "").strip() or f"Counted {counted}, was {on_hand}"
    fields = {"user": user, "reference": reference, "reason": reason, **_document_fields(document)}
    if difference < 0 and counted < level.committed:
        raise errors.CommittedStock(
            f"{level.committed} units of {product.sku} in {_where(location, lot)} are "
            f"committed to orders; a count of {counted} needs them released first.",
            field="counted",
        )
    if difference > 0:
        check_active(product, location)
        if level is None:
            (level,) = lock_levels(product, [(location, lot)], create=(True,))
    kind = StockMove.Kind.COUNT
    move = _post_difference(
        level=level, difference=difference, kind=kind, cost=cost, at=at, **where, **fields
    )
    return _record_count(record, move)


@atomic_with_retry
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
    check_quantity(quantity, product)
    check_stocked(product)
    check_lot(product, lot)
    check_active(product, location)
    check_sellable(product, location)
    at = _when(at)
    check_not_expired(product, lot, timezone.localdate(at))
    lock_product(product)
    (level,) = lock_levels(product, [(location, lot)], create=(False,))
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
    change_level(level, committed=quantity, at=at)
    _announce(product, location)
    return level


@atomic_with_retry
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
    check_quantity(quantity, product)
    check_stocked(product)
    check_lot(product, lot)
    at = _when(at)
    lock_product(product)
    (level,) = lock_levels(product, [(location, lot)], create=(False,))
    _require_committed(product, level, quantity, location, lot, verb="release")
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
    change_level(level, committed=-quantity, at=at)
    _announce(product, location, increased=True)
    return level


@atomic_with_retry
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
    check_quantity(quantity, product)
    check_stocked(product)
    check_lot(product, lot)
    check_active(product, location)
    at = _when(at)
    check_not_expired(product, lot, timezone.localdate(at))
    lock_product(product)
    (level,) = lock_levels(product, [(location, lot)], create=(False,))
    if from_committed:
        _require_committed(product, level, quantity, location, lot, verb="ship")
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
