"""The bulk generator writes exactly what the ledger would have written."""

from datetime import date

import pytest
from django.db import transaction

from bench.load import load_bulk, load_via_ledger
from bench.scenario import SIZES, Scenario
from inventory.integrity import find_differences
from inventory.models import (
    CostLayer,
    CountRecord,
    Lot,
    Product,
    ProductPosition,
    ReservationEntry,
    StockLevel,
    StockMove,
)

END = date(2026, 11, 1)


def snapshot() -> dict:
    """Every ledger table by natural keys (ids differ between the two ways of loading)."""
    moves = list(
        StockMove.objects.order_by("created_at", "id").values_list(
            "kind",
            "product__sku",
            "lot__code",
            "quantity",
            "from_location__barcode",
            "to_location__barcode",
            "unit_cost",
            "total_cost",
            "reason",
            "created_at",
            "units_after",
            "value_after",
            "average_cost_after",
            "backdated",
        )
    )
    levels = sorted(
        StockLevel.objects.values_list(
            "product__sku", "location__barcode", "lot__code", "on_hand", "committed", "updated_at"
        ),
        key=lambda row: (row[0], row[1], row[2] or ""),
    )
    layers = list(
        CostLayer.objects.order_by("id").values_list(
            "product__sku", "move__created_at", "quantity", "remaining", "unit_cost", "created_at"
        )
    )
    lots = sorted(
        Lot.objects.values_list("product__sku", "code", "expires_on", "received_on"),
    )
    reservations = list(
        ReservationEntry.objects.order_by("created_at", "id").values_list(
            "product__sku", "location__barcode", "lot__code", "quantity", "kind", "created_at"
        )
    )
    positions = sorted(
        ProductPosition.objects.values_list(
            "product__sku", "move__created_at", "units", "value", "average_cost", "moved_at"
        )
    )
    return {
        "positions": positions,
        "moves": moves,
        "levels": levels,
        "layers": layers,
        "lots": lots,
        "reservations": reservations,
        "products": Product.objects.count(),
        # The scenario has no count events: neither way of loading writes count records.
        "count_records": CountRecord.objects.count(),
    }


def load_and_snapshot(loader, size: str) -> dict:
    with transaction.atomic():
        loader(Scenario(SIZES[size], seed=7, end=END))
        assert list(find_differences()) == []
        result = snapshot()
        transaction.set_rollback(True)
    return result


def test_scenario_is_deterministic_for_a_seed():
    first = list(Scenario(SIZES["tiny"], seed=3, end=END).events())
    again = list(Scenario(SIZES["tiny"], seed=3, end=END).events())
    other = list(Scenario(SIZES["tiny"], seed=4, end=END).events())
    assert first == again
    assert first != other


def test_scenario_has_the_requested_shape():
    size = SIZES["small"]
    scenario = Scenario(size, seed=1, end=END)
    events = list(scenario.events())
    moves = [e for e in events if e.kind != "reserve"]
    assert len(moves) == size.moves
    lots = {(e.product, e.lot) for e in events if e.kind == "receive" and e.lot}
    assert len(lots) == size.lots
    assert len(scenario.products) == size.products
    tracked = sum(p.tracking == "lot_expiry" for p in scenario.products)
    assert 0.28 < tracked / size.products < 0.38
    # A few fast movers and a long tail: the top 5% of products take a large share.
    shipped: dict[int, int] = {}
    for e in events:
        if e.kind == "ship":
            shipped[e.product] = shipped.get(e.product, 0) + 1
    ranked = sorted(shipped.values(), reverse=True)
    top = sum(ranked[: max(1, len(scenario.products) // 20)])
    assert top / sum(ranked) > 0.25


@pytest.mark.django_db
@pytest.mark.timeout(900)  # 10,000 ledger calls: about a minute on PostgreSQL, more under load
@pytest.mark.parametrize("size", ["tiny", "small"])
def test_bulk_load_equals_ledger_load(size):
    bulk = load_and_snapshot(load_bulk, size)
    via_ledger = load_and_snapshot(load_via_ledger, size)
    assert bulk["products"] == SIZES[size].products
    assert len(bulk["moves"]) == SIZES[size].moves
    for table in ("lots", "layers", "levels", "reservations", "moves"):
        assert bulk[table] == via_ledger[table], table
