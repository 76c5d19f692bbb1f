"""A new balance row in one statement after the lookup that missed it (locks.create_levels)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from inventory import ledger
from inventory.integrity import find_differences
from inventory.ledger import locks
from inventory.ledger.locks import create_levels
from inventory.models import Lot, StockLevel


def test_new_rows_come_back_with_the_products_position(product, locations):
    ledger.receive(product=product, location=locations["bin1"], quantity=3, unit_cost="1.25")
    lot = Lot.objects.create(product=product, code="L1")
    places = [(locations["receiving"], None), (locations["bin2"], lot)]
    with transaction.atomic():
        rows = create_levels(product, places)
    assert rows is not None and len(rows) == 2
    stored = {(r.location_id, r.lot_id): r for r in StockLevel.objects.filter(product=product)}
    for row in rows:
        twin = stored[(row.location_id, row.lot_id)]
        assert (row.pk, row.on_hand, row.committed) == (twin.pk, 0, 0)
        assert not row._state.adding
        assert row.position_units == 3
        assert row.position_value == Decimal("3.75") and row.position_average == Decimal("1.25")
        assert abs(row.position_moved_at - timezone.now()) < timedelta(minutes=1)
        assert row.position_moved_at.tzinfo is not None
    assert {(r.location_id, r.lot_id) for r in rows} == {
        (locations["receiving"].pk, None),
        (locations["bin2"].pk, lot.pk),
    }


def test_a_product_without_a_position_reads_none(product, locations):
    with transaction.atomic():
        (row,) = create_levels(product, [(locations["bin1"], None)])
    assert row.position_units is None and row.position_moved_at is None


def test_a_row_there_after_all_is_not_duplicated(product, locations):
    """ON CONFLICT DO NOTHING returns only the new rows: None tells lock_levels to read
    them all (locked) instead."""
    ledger.receive(product=product, location=locations["bin1"], quantity=2, unit_cost=1)
    with transaction.atomic():
        assert create_levels(product, [(locations["bin1"], None)]) is None
        assert (
            create_levels(product, [(locations["bin1"], None), (locations["bin2"], None)]) is None
        )
    assert StockLevel.objects.filter(product=product, location=locations["bin1"]).count() == 1
    assert StockLevel.objects.filter(product=product, location=locations["bin2"]).exists()


@pytest.mark.parametrize("quantity", [1, 7])
def test_receipts_into_new_balances_keep_the_ledger_consistent(product, locations, quantity):
    ledger.receive(product=product, location=locations["bin1"], quantity=4, unit_cost=2)
    ledger.receive(
        product=product, location=locations["receiving"], quantity=quantity, unit_cost=3
    )
    ledger.transfer(
        product=product, from_location=locations["bin1"], to_location=locations["bin2"], quantity=1
    )
    levels = dict(StockLevel.objects.filter(product=product).values_list("location_id", "on_hand"))
    assert levels == {
        locations["bin1"].pk: 3,
        locations["receiving"].pk: quantity,
        locations["bin2"].pk: 1,
    }
    assert list(find_differences()) == []


def test_lock_levels_reads_the_rows_again_when_one_was_there_after_all(
    product, locations, monkeypatch
):
    ledger.receive(product=product, location=locations["bin1"], quantity=2, unit_cost=1)

    def inserted_meanwhile(product, places):
        real_create_levels(product, places)
        return None

    monkeypatch.setattr(locks, "create_levels", inserted_meanwhile)
    with transaction.atomic():
        (level,) = locks.lock_levels(product, [(locations["bin2"], None)], create=(True,))
    assert level.pk == StockLevel.objects.get(product=product, location=locations["bin2"]).pk
    assert (level.on_hand, level.position_units) == (0, 2)


real_create_levels = create_levels
