"""Recompute balances and cost layers from the ledger and report every difference."""

from collections import defaultdict
from collections.abc import Iterator

from django.db.models import Count, Sum

from inventory.models import CostLayer, ReservationEntry, StockLevel, StockMove

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


def cost_layer_differences() -> Iterator[str]:
    """Replay FIFO: each product's outbound units use up its layers oldest first."""
    consumed = dict(
        StockMove.objects.filter(from_location__isnull=False, to_location__isnull=True)
        .order_by()
        .values_list("product_id")
        .annotate(total=Sum("quantity"))
    )
    inbound_moves = dict(
        StockMove.objects.filter(from_location__isnull=True, to_location__isnull=False)
        .order_by()
        .values_list("product_id")
        .annotate(n=Count("id"))
    )
    on_hand = dict(
        StockLevel.objects.order_by().values_list("product_id").annotate(total=Sum("on_hand"))
    )
    layer_counts: dict[int, int] = defaultdict(int)
    remaining_totals: dict[int, int] = defaultdict(int)
    left: dict[int, int] = {}
    layers = CostLayer.objects.order_by("product_id", "id").values_list(
        "pk", "product_id", "quantity", "remaining", "move__quantity"
    )
    for pk, product_id, quantity, remaining, move_quantity in layers.iterator(chunk_size=5000):
        if product_id not in left:
            left[product_id] = consumed.get(product_id, 0)
        take = min(quantity, left[product_id])
        left[product_id] -= take
        layer_counts[product_id] += 1
        remaining_totals[product_id] += remaining
        if quantity != move_quantity:
            yield f"CostLayer {pk}: quantity {quantity}, but its receipt moved {move_quantity}"
        if remaining != quantity - take:
            yield (
                f"CostLayer {pk} (product {product_id}): remaining={remaining}, "
                f"FIFO replay says {quantity - take}"
            )
    for product_id in sorted(set(consumed) | set(inbound_moves) | set(on_hand)):
        if left.get(product_id, consumed.get(product_id, 0)) > 0:
            yield (
                f"Product {product_id}: {left.get(product_id, consumed.get(product_id))} "
                "units left the warehouse beyond its cost layers"
            )
        if layer_counts.get(product_id, 0) != inbound_moves.get(product_id, 0):
            yield (
                f"Product {product_id}: {inbound_moves.get(product_id, 0)} inbound moves but "
                f"{layer_counts.get(product_id, 0)} cost layers"
            )
        if remaining_totals.get(product_id, 0) != (on_hand.get(product_id) or 0):
            yield (
                f"Product {product_id}: cost layers hold {remaining_totals.get(product_id, 0)} "
                f"units, balances {on_hand.get(product_id) or 0}"
            )


def find_differences() -> Iterator[str]:
    yield from balance_differences()
    yield from cost_layer_differences()
