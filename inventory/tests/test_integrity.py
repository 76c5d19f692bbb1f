"""check_ledger: clean after real work, and every kind of corruption is found and printed."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from inventory import ledger
from inventory.integrity import find_differences
from inventory.models import CostLayer, StockLevel, StockMove


@pytest.fixture
def history(product, lot_product, locations, today):
    """A realistic day: receipts at two costs, putaway, orders, picking, a count, a loss."""
    bin1, bin2, rcv, shp = (locations[k] for k in ("bin1", "bin2", "receiving", "shipping"))
    ledger.receive(product=product, location=rcv, quantity=40, unit_cost="2.10")
    ledger.receive(product=product, location=rcv, quantity=20, unit_cost="2.40")
    ledger.transfer(product=product, from_location=rcv, to_location=bin1, quantity=45)
    ledger.reserve(product=product, location=bin1, quantity=12)
    ledger.ship(product=product, location=bin1, quantity=10, from_committed=True)
    ledger.release(product=product, location=bin1, quantity=2)
    ledger.transfer(product=product, from_location=bin1, to_location=shp, quantity=5)
    ledger.ship(product=product, location=shp, quantity=5)
    ledger.count(product=product, location=bin1, counted=28)
    ledger.adjust(product=product, location=bin2, quantity=3, reason="found on floor")
    lot = ledger.get_or_create_lot(
        product=lot_product, code="T-1", expires_on=today + timedelta(days=90)
    )
    ledger.receive(product=lot_product, location=bin2, quantity=8, unit_cost="1.10", lot=lot)
    ledger.adjust(product=lot_product, location=bin2, quantity=-1, lot=lot, reason="torn bag")
    return {"product": product, "lot_product": lot_product, "lot": lot}


def run_check() -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("check_ledger", stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def test_clean_ledger_agrees(history):
    assert list(find_differences()) == []
    output, error = run_check()
    assert error is None
    assert "agree" in output


def test_empty_database_agrees(db):
    output, error = run_check()
    assert error is None and "agree" in output


def corrupted(*expected_fragments: str) -> str:
    differences = list(find_differences())
    assert differences, "the corruption was not found"
    output, error = run_check()
    assert error is not None
    assert f"{len(differences)} difference" in str(error)
    for fragment in expected_fragments:
        assert fragment in output, f"{fragment!r} not in {output!r}"
    return output


def test_a_balance_changed_through_the_queryset_is_found(history, locations):
    row = StockLevel.objects.get(product=history["product"], location=locations["bin1"])
    StockLevel.objects.filter(pk=row.pk).update(on_hand=row.on_hand + 1)
    corrupted(
        f"StockLevel {row.pk}", f"on_hand={row.on_hand + 1}", f"ledger says on_hand={row.on_hand}"
    )


def test_a_committed_quantity_changed_with_raw_sql_is_found(history, locations):
    row = StockLevel.objects.get(product=history["product"], location=locations["bin1"])
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {StockLevel._meta.db_table} SET committed = committed + 3 WHERE id = %s",
            [row.pk],
        )
    corrupted(f"StockLevel {row.pk}", f"committed={row.committed + 3}")


def test_a_missing_balance_row_is_found(history, locations):
    row = StockLevel.objects.get(product=history["product"], location=locations["bin2"])
    StockLevel.objects.filter(pk=row.pk).delete()
    corrupted("Missing StockLevel", f"location {locations['bin2'].pk}", "on_hand=3")


def test_a_balance_row_the_ledger_never_posted_is_found(history, locations):
    StockLevel.objects.create(product=history["product"], location=locations["zone"], on_hand=4)
    corrupted("ledger says on_hand=0", "cost layers hold")


def test_a_changed_layer_remaining_is_found(history):
    layer = CostLayer.objects.filter(product=history["product"]).order_by("id").last()
    CostLayer.objects.filter(pk=layer.pk).update(remaining=layer.remaining - 1)
    corrupted(f"CostLayer {layer.pk}", "FIFO replay says", "cost layers hold")


def test_layers_consumed_out_of_fifo_order_are_found(history):
    old, new = CostLayer.objects.filter(product=history["product"]).order_by("id")[:2]
    # Same total, wrong layer: only the replay can tell.
    CostLayer.objects.filter(pk=old.pk).update(remaining=old.remaining + 1)
    CostLayer.objects.filter(pk=new.pk).update(remaining=new.remaining - 1)
    output = corrupted(f"CostLayer {old.pk}", f"CostLayer {new.pk}")
    assert "cost layers hold" not in output


def test_an_inbound_move_without_a_layer_is_found(history):
    layer = CostLayer.objects.filter(product=history["lot_product"]).get()
    CostLayer.objects.filter(pk=layer.pk).delete()
    corrupted(f"StockMove {layer.move_id}", "no layer")


def test_a_layer_with_the_wrong_cost_or_quantity_is_found(history):
    layer = CostLayer.objects.filter(product=history["product"]).order_by("id").first()
    CostLayer.objects.filter(pk=layer.pk).update(unit_cost="9")
    corrupted(f"CostLayer {layer.pk}: unit cost 9")


def test_a_wrong_stored_shipment_cost_is_found(history):
    shipment = StockMove.objects.filter(kind=StockMove.Kind.SHIPMENT).order_by("id").first()
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {StockMove._meta.db_table} SET total_cost = 1 WHERE id = %s", [shipment.pk]
        )
    corrupted(
        f"StockMove {shipment.pk}", "total cost 1", f"FIFO replay says {shipment.total_cost}"
    )


def test_a_deleted_move_is_found(history, locations):
    move = StockMove.objects.filter(kind=StockMove.Kind.TRANSFER).order_by("id").first()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {StockMove._meta.db_table} WHERE id = %s", [move.pk])
    corrupted(f"location {locations['receiving'].pk}", f"location {locations['bin1'].pk}")


def test_units_shipped_beyond_the_layers_are_found(history):
    shipment = StockMove.objects.filter(kind=StockMove.Kind.SHIPMENT).order_by("id").first()
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {StockMove._meta.db_table} SET quantity = 1000 WHERE id = %s", [shipment.pk]
        )
    corrupted("units left the warehouse beyond its cost layers", "impossible")


def test_a_layer_pointing_at_a_transfer_is_found(history):
    layer = CostLayer.objects.filter(product=history["product"]).order_by("id").first()
    transfer = StockMove.objects.filter(kind=StockMove.Kind.TRANSFER).order_by("id").first()
    CostLayer.objects.filter(pk=layer.pk).update(move=transfer)
    corrupted(f"CostLayer {layer.pk} belongs to move {transfer.pk}, which brought no units in")
