"""Shipping an order's reserved units in one batch: ``ship_many``.

The same moves, FIFO costs, positions, balances and journal entries as calling
``inventory.ledger.ship(from_committed=True)`` row by row, in a fixed number of
statements whatever the number of rows: lock the products (none if held), lock the
balance rows (primary-key order), lock the products' open cost layers (oldest first),
then write every move, layer, position, balance and journal entry a statement each.
Shipping reserved units changes nothing a channel may sell: no signal is sent.
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Case, F, IntegerField, Q, Value, When
from django.utils import timezone

from common.transactions import atomic_with_retry
from inventory import errors
from inventory.ledger.checks import (
    COST_PLACES,
    check_active,
    check_lot,
    check_not_expired,
    check_quantity,
    check_stocked,
)
from inventory.ledger.locks import level_key_q, lock_balances, lock_products
from inventory.ledger.position import Position, forget, last_position, with_position
from inventory.ledger.refusals import document_fields, require_committed
from inventory.models import (
    CostLayer,
    Product,
    ProductPosition,
    ReservationEntry,
    StockLevel,
    StockMove,
)

__all__ = ["ship_many"]


def _lock_rows(shipments) -> dict[tuple, StockLevel]:
    condition = Q()
    for product, location, lot, _ in shipments:
        condition |= level_key_q(product, location, lot)
    # Each row carries its product's position: the moves need it, and no other read.
    rows = lock_balances(with_position(StockLevel.objects.filter(condition)))
    forget({row.product_id for row in rows})
    return {(row.product_id, row.location_id, row.lot_id): row for row in rows}


def _check(shipments, rows, today) -> list[StockLevel]:
    """Refuse as ``ship`` would for the first bad row (``index`` set); return the rows."""
    levels, pending = [], defaultdict(int)
    for index, (product, location, lot, quantity) in enumerate(shipments):
        try:
            check_quantity(quantity, product)
            check_stocked(product)
            check_lot(product, lot)
            check_active(product, location)
            check_not_expired(product, lot, today)
            level = rows.get((product.pk, location.pk, lot.pk if lot else None))
            seen = None
            if level is not None:
                seen = StockLevel(on_hand=level.on_hand, committed=level.committed)
                seen.committed -= pending[level.pk]
            require_committed(product, seen, quantity, location, lot, verb="ship")
        except errors.LedgerError as exc:
            exc.index = index
            raise
        pending[level.pk] += quantity
        levels.append(level)
    return levels


def _consume(shipments) -> list[Decimal]:
    """Take each row's units from its product's oldest open layers; return their costs."""
    product_ids = sorted({product.pk for product, _, _, _ in shipments})
    layers: dict[int, list[CostLayer]] = defaultdict(list)
    for layer in (
        CostLayer.objects.select_for_update()
        .filter(product_id__in=product_ids, remaining__gt=0)
        .order_by("id")
    ):
        layers[layer.product_id].append(layer)
    changed: dict[int, CostLayer] = {}
    costs = []
    for index, (product, _, _, quantity) in enumerate(shipments):
        needed, total = quantity, Decimal("0")
        for layer in layers[product.pk]:
            if needed == 0:
                break
            take = min(layer.remaining, needed)
            if take <= 0:
                continue
            layer.remaining -= take
            changed[layer.pk] = layer
            total += take * layer.unit_cost
            needed -= take
        if needed:
            error = errors.InsufficientStock(
                f"The cost layers of {product.sku} hold fewer units than its balance; "
                "run check_ledger.",
                field="quantity",
            )
            error.index = index
            raise error
        costs.append(total)
    if changed:
        CostLayer.objects.bulk_update(list(changed.values()), ["remaining"])
    return costs


def _positions(levels: list[StockLevel]) -> dict[int, tuple[Position, datetime | None, bool]]:
    """Each product's position before the batch, as its locked rows carry it (a replay
    for a product without a stored position)."""
    found = {}
    for row in levels:
        if row.position_units is not None and row.product_id not in found:
            position = Position(
                row.position_units,
                Decimal(str(row.position_value)),
                Decimal(str(row.position_average)),
            )
            found[row.product_id] = (position, row.position_moved_at, True)
    for product_id in sorted({row.product_id for row in levels}):
        if product_id not in found:
            found[product_id] = last_position(product_id)
    return found


def _post_moves(shipments, levels, costs, at: datetime, fields: dict) -> list[StockMove]:
    """Insert the shipments' moves with the positions after each, and store the last ones."""
    positions = _positions(levels)
    moves = []
    for (product, location, lot, quantity), total in zip(shipments, costs, strict=True):
        position, previous_at, known = positions[product.pk]
        position.take_out(quantity, total)
        moves.append(
            StockMove(
                product=product,
                lot=lot,
                quantity=quantity,
                from_location=location,
                kind=StockMove.Kind.SHIPMENT,
                unit_cost=(total / quantity).quantize(COST_PLACES, ROUND_HALF_UP),
                total_cost=total,
                created_at=at,
                backdated=previous_at is not None and at < previous_at,
                **position.as_fields(),
                **fields,
            )
        )
        positions[product.pk] = (position, at, known)
    moves = StockMove.objects.bulk_create(moves)
    _store_positions(moves, positions, at)
    return moves


def _store_positions(moves: list[StockMove], positions: dict, at: datetime) -> None:
    last = {move.product_id: move for move in moves}
    stored, new = [], []
    for product_id, move in last.items():
        position, _, known = positions[product_id]
        row = ProductPosition(
            product_id=product_id,
            move=move,
            units=position.quantity,
            value=position.fifo_value,
            average_cost=position.average_cost,
            moved_at=at,
        )
        (stored if known else new).append(row)
    if stored:
        ProductPosition.objects.bulk_update(
            stored, ["move", "units", "value", "average_cost", "moved_at"]
        )
    if new:
        ProductPosition.objects.bulk_create(new)


def _take_from_balances(levels: list[StockLevel], shipments, at: datetime) -> None:
    changes: dict[int, int] = defaultdict(int)
    for level, (_, _, _, quantity) in zip(levels, shipments, strict=True):
        changes[level.pk] += quantity
        level.on_hand -= quantity
        level.committed -= quantity
        level.updated_at = at
    by_row = Case(
        *(When(pk=pk, then=Value(units)) for pk, units in changes.items()),
        default=Value(0),
        output_field=IntegerField(),
    )
    StockLevel.objects.filter(pk__in=list(changes)).update(
        on_hand=F("on_hand") - by_row, committed=F("committed") - by_row, updated_at=at
    )


@atomic_with_retry
def ship_many(
    *,
    shipments: Sequence[tuple[Product, object, object, int]],
    user=None,
    document=None,
    reference: str = "",
    at: datetime | None = None,
) -> list[StockMove]:
    """Ship reserved units: ``(product, location, lot, quantity)`` each; return the moves.

    As ``ship(from_committed=True)`` row by row, in order: the same refusals (the
    ``LedgerError`` of the first bad row, with ``index`` naming it), and nothing
    written when it raises.
    """
    shipments = list(shipments)
    if not shipments:
        return []
    at = at or timezone.now()
    lock_products(product for product, _, _, _ in shipments)  # none if held
    levels = _check(shipments, _lock_rows(shipments), timezone.localdate(at))
    costs = _consume(shipments)
    fields = {"user": user, "reference": reference, **document_fields(document)}
    moves = _post_moves(shipments, levels, costs, at, fields)
    _take_from_balances(levels, shipments, at)
    ReservationEntry.objects.bulk_create(
        [
            ReservationEntry(
                product=product,
                location=location,
                lot=lot,
                quantity=-quantity,
                kind=ReservationEntry.Kind.SHIP,
                move=move,
                created_at=at,
                user=user,
                **document_fields(document),
            )
            for (product, location, lot, quantity), move in zip(shipments, moves, strict=True)
        ]
    )
    return moves
