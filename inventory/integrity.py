"""Recompute balances and cost layers from the ledger and report every difference."""

from collections import defaultdict, deque
from collections.abc import Iterator
from decimal import Decimal

from django.db.models import F, Q, Sum

from inventory.ledger.position import STATE_FIELDS, Position
from inventory.models import (
    CostLayer,
    ProductPosition,
    ReservationEntry,
    StockLevel,
    StockMove,
)

Key = tuple[int, int, int | None]


def _sum_by_place(queryset, location_field: str) -> dict[Key, int]:
    rows = (
        queryset.order_by()
        .values_list("product_id", location_field, "lot_id")
        .annotate(total=Sum("quantity"))
    )
    return {(p, loc, lot): total for p, loc, lot, total in rows}


def expected_balances() -> dict[Key, list[int]]:
    """Return ``{(product, location, lot): [on_hand, committed]}`` computed from the journals."""
    balances: dict[Key, list[int]] = defaultdict(lambda: [0, 0])
    incoming = _sum_by_place(StockMove.objects.filter(to_location__isnull=False), "to_location_id")
    outgoing = _sum_by_place(
        StockMove.objects.filter(from_location__isnull=False), "from_location_id"
    )
    for key, quantity in incoming.items():
        balances[key][0] += quantity
    for key, quantity in outgoing.items():
        balances[key][0] -= quantity
    for key, quantity in _sum_by_place(ReservationEntry.objects.all(), "location_id").items():
        balances[key][1] += quantity
    return balances


def expiry_copy_differences() -> Iterator[str]:
    """Balance rows whose copy of their lot's expiry (kept by triggers) differs from the lot's.

    Found by the database in one statement: only the differing rows come back.
    """
    copy, lots = Q(lot_expires_on__isnull=True), Q(lot__expires_on__isnull=True)
    differs = (
        (copy & ~lots) | (~copy & lots) | (~copy & ~lots & ~Q(lot_expires_on=F("lot__expires_on")))
    )
    rows = StockLevel.objects.filter(differs).order_by("pk")
    for pk, product_id, lot_id, copied, expiry in rows.values_list(
        "pk", "product_id", "lot_id", "lot_expires_on", "lot__expires_on"
    ):
        yield (
            f"StockLevel {pk} (product {product_id}, lot {lot_id}): its copy of the lot's "
            f"expiry is {copied}, the lot says {expiry}"
        )


def balance_differences() -> Iterator[str]:
    expected = expected_balances()
    seen = set()
    levels = StockLevel.objects.order_by("pk").values_list(
        "pk", "product_id", "location_id", "lot_id", "on_hand", "committed"
    )
    for pk, product_id, location_id, lot_id, on_hand, committed in levels.iterator(
        chunk_size=5000
    ):
        key = (product_id, location_id, lot_id)
        seen.add(key)
        want_on_hand, want_committed = expected.get(key, (0, 0))
        if (on_hand, committed) != (want_on_hand, want_committed):
            yield (
                f"StockLevel {pk} (product {product_id}, location {location_id}, lot {lot_id}): "
                f"on_hand={on_hand} committed={committed}, "
                f"ledger says on_hand={want_on_hand} committed={want_committed}"
            )
    for key, (on_hand, committed) in expected.items():
        if key not in seen and (on_hand or committed):
            product_id, location_id, lot_id = key
            yield (
                f"Missing StockLevel (product {product_id}, location {location_id}, "
                f"lot {lot_id}): ledger says on_hand={on_hand} committed={committed}"
            )
        if on_hand < 0 or committed < 0 or committed > on_hand:
            yield f"Ledger sums for {key} are impossible: on_hand={on_hand} committed={committed}"


def _remaining_by_product() -> dict[int, int]:
    return dict(
        CostLayer.objects.order_by().values_list("product_id").annotate(total=Sum("remaining"))
    )


class _FifoReplay:
    """One product's cost layers rebuilt move by move, oldest first."""

    def __init__(self, product_id: int):
        self.product_id = product_id
        self.queue: deque[list] = deque()  # [layer id, units left, unit cost, recorded remaining]
        self.beyond = 0

    def bring_in(
        self, pk: int, quantity: int, unit_cost, layer: tuple[int | None, int, int, Decimal]
    ) -> Iterator[str]:
        """Open the layer of an inbound move; yield how it differs from the move."""
        layer_id, layer_quantity, layer_remaining, layer_cost = layer
        if layer_id is None:
            yield f"StockMove {pk} (product {self.product_id}) brought units in but has no layer"
            return
        if layer_quantity != quantity:
            yield (
                f"CostLayer {layer_id}: quantity {layer_quantity}, "
                f"but its move {pk} moved {quantity}"
            )
        if layer_cost != unit_cost:
            yield (
                f"CostLayer {layer_id}: unit cost {layer_cost}, but its move {pk} says {unit_cost}"
            )
        self.queue.append([layer_id, layer_quantity, layer_cost, layer_remaining])

    def take_out(self, pk: int, quantity: int, total_cost) -> Iterator[str]:
        """Use up the oldest layers for an outbound move; yield where the stored costs differ."""
        needed, cost = quantity, Decimal("0")
        while needed and self.queue:
            head = self.queue[0]
            take = min(head[1], needed)
            head[1] -= take
            needed -= take
            cost += take * head[2]
            if head[1] == 0:
                layer_id, _left, _cost, recorded = self.queue.popleft()
                if recorded != 0:
                    yield (
                        f"CostLayer {layer_id} (product {self.product_id}): "
                        f"remaining={recorded}, FIFO replay says 0"
                    )
        self.beyond += needed
        if not needed and total_cost != cost:
            yield (
                f"StockMove {pk} (product {self.product_id}): total cost {total_cost}, "
                f"FIFO replay says {cost}"
            )

    def close(self) -> Iterator[str]:
        """Yield the layers whose remaining units differ from the replay's, and any shortfall."""
        for layer_id, left, _cost, recorded in self.queue:
            if left != recorded:
                yield (
                    f"CostLayer {layer_id} (product {self.product_id}): remaining={recorded}, "
                    f"FIFO replay says {left}"
                )
        if self.beyond:
            yield (
                f"Product {self.product_id}: {self.beyond} units left the warehouse "
                "beyond its cost layers"
            )


def _layers_by_move() -> dict[int, tuple]:
    """Return every cost layer by its move: ``{move id: (id, product, quantity, remaining,
    unit cost)}``.

    A single-table read, not a join with the moves: a join's plan depends on the
    statistics, and with none (a bulk load in an open transaction) PostgreSQL once
    chose a nested loop that ran for a quarter of an hour.
    """
    rows = CostLayer.objects.order_by("move_id").values_list(
        "move_id", "id", "product_id", "quantity", "remaining", "unit_cost"
    )
    return {row[0]: row[1:] for row in rows.iterator(chunk_size=5000)}


def _moves_in_product_order():
    # Every layer hangs off exactly one move, so walking all moves (transfers too)
    # with their layer finds stray layers. One table, in the order of its index
    # (product, id): an index scan, or at worst a sort, never a join.
    return StockMove.objects.order_by("product_id", "id").values_list(
        "pk",
        "product_id",
        "quantity",
        "from_location_id",
        "to_location_id",
        "unit_cost",
        "total_cost",
        *STATE_FIELDS,
    )


class _PositionCheck:
    """Replays one product's position and compares it with the one stored on each move
    and, at the end, with its ``ProductPosition`` (the copy of the last move's)."""

    def __init__(self, product_id: int, current: dict):
        self.product_id = product_id
        self.current = current.pop(product_id, None)
        self.position = Position()
        self.reported = False
        self.last_move = None

    def close(self) -> Iterator[str]:
        got = self.current
        if got is None or got[0] != self.last_move or not self.position.matches(*got[1:]):
            yield (
                f"ProductPosition of product {self.product_id}: {got or 'missing'}, replay "
                f"says move {self.last_move} units={self.position.quantity} "
                f"value={self.position.fifo_value} average={self.position.average_cost}"
            )

    def check(self, row: tuple) -> Iterator[str]:
        pk, product_id, quantity, from_id, to_id, _unit, total_cost, *stored = row
        self.last_move = pk
        self.position.apply(quantity, from_id, to_id, total_cost)
        if self.reported or self.position.matches(*stored):
            return
        self.reported = True  # one line per product: the first move that differs
        units, value, average = stored
        yield (
            f"StockMove {pk} (product {product_id}): stored position units={units} "
            f"value={value} average={average}, replay says units={self.position.quantity} "
            f"value={self.position.fifo_value} average={self.position.average_cost}"
        )


def _unit_total_differences(remaining: dict[int, int], on_hand: dict[int, int]) -> Iterator[str]:
    for product_id in sorted(set(remaining) | set(on_hand)):
        held, balance = remaining.get(product_id) or 0, on_hand.get(product_id) or 0
        if held != balance:
            yield (f"Product {product_id}: cost layers hold {held} units, balances {balance}")


def cost_layer_differences() -> Iterator[str]:
    """Replay FIFO move by move and compare layers and stored costs with the replay.

    Each inbound move (receipt, found units) must have opened one layer of its
    quantity and unit cost; each outbound move (shipment, units removed) must have
    used up the oldest layers first and stored their cost. Transfers do not touch
    layers. Posting order (primary key) is FIFO order. The position stored on each
    move (units, FIFO value, moving average after it) must equal the replay's.
    """
    on_hand = dict(
        StockLevel.objects.order_by().values_list("product_id").annotate(total=Sum("on_hand"))
    )
    remaining_totals = _remaining_by_product()
    layers = _layers_by_move()
    current = {
        row[0]: row[1:]
        for row in ProductPosition.objects.values_list(
            "product_id", "move_id", "units", "value", "average_cost"
        ).iterator(chunk_size=5000)
    }
    replay = positions = None
    for row in _moves_in_product_order().iterator(chunk_size=5000):
        pk, product_id, quantity, from_location_id, to_location_id, unit_cost, total_cost = row[:7]
        if replay is None or replay.product_id != product_id:
            if replay is not None:
                yield from replay.close()
                yield from positions.close()
            replay, positions = _FifoReplay(product_id), _PositionCheck(product_id, current)
        yield from positions.check(row)
        layer_id, layer_product_id, layer_quantity, layer_remaining, layer_cost = layers.pop(
            pk, (None,) * 5
        )
        brings_units_in = from_location_id is None and to_location_id is not None
        if layer_id is not None and not brings_units_in:
            yield f"CostLayer {layer_id} belongs to move {pk}, which brought no units in"
            continue
        if layer_id is not None and layer_product_id != product_id:
            yield f"CostLayer {layer_id} is for another product than its move {pk}"
        if from_location_id is not None and to_location_id is not None:
            continue  # transfers do not touch layers
        if to_location_id is not None:
            layer = (layer_id, layer_quantity, layer_remaining, layer_cost)
            yield from replay.bring_in(pk, quantity, unit_cost, layer)
        else:
            yield from replay.take_out(pk, quantity, total_cost)
    if replay is not None:
        yield from replay.close()
        yield from positions.close()
    for product_id in current:
        yield f"ProductPosition of product {product_id}, which has no moves"
    yield from _unit_total_differences(remaining_totals, on_hand)


def find_differences() -> Iterator[str]:
    """Yield one readable line per difference between the journals and the caches."""
    yield from balance_differences()
    yield from expiry_copy_differences()
    yield from cost_layer_differences()
