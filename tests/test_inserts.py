"""``common.inserts.insert_new`` writes what ``bulk_create`` writes, with one cached statement."""

from datetime import date

import pytest

from common.inserts import insert_new
from inventory.models import Lot, Product
from orders.models import SalesOrder, SalesOrderEvent


def stored(model, pks) -> list[dict]:
    rows = model.objects.filter(pk__in=pks).order_by("pk").values()
    return [{k: v for k, v in row.items() if k != "id"} for row in rows]


def test_the_same_rows_as_bulk_create_with_keys_in_the_order_given(lot_product):
    def lots(prefix):  # received_on from its callable default, expires_on given or not
        return [
            Lot(product=lot_product, code=f"{prefix}-B", expires_on=date(2027, 1, 2)),
            Lot(product=lot_product, code=f"{prefix}-A"),
            Lot(product=lot_product, code=f"{prefix}-C", expires_on=date(2026, 5, 1)),
        ]

    ours = insert_new(lots("X"))
    theirs = Lot.objects.bulk_create(lots("X2"))
    assert [lot.pk for lot in ours] == sorted(lot.pk for lot in ours)
    for lot in ours:
        assert not lot._state.adding and lot._state.db == "default"
        assert Lot.objects.get(pk=lot.pk).code == lot.code
    ours_rows, their_rows = stored(Lot, [x.pk for x in ours]), stored(Lot, [x.pk for x in theirs])
    for row in their_rows:
        row["code"] = row["code"].replace("X2-", "X-")
    assert ours_rows == their_rows


def test_a_parent_saved_after_its_children_were_built(channel_for_orders):
    order = SalesOrder(channel=channel_for_orders, external_ref="R1", customer_name="A")
    events = [SalesOrderEvent(order=order, to_status="open", note=f"n{i}") for i in range(2)]
    order.save()  # after the events were built, as an intake does
    insert_new(events)
    assert list(order.events.order_by("pk").values_list("note", flat=True)) == ["n0", "n1"]
    assert all(event.at is not None for event in SalesOrderEvent.objects.filter(order=order))


def test_refuses_saved_or_mixed_instances_and_accepts_nothing(lot_product):
    assert insert_new([]) == []
    (saved,) = insert_new([Lot(product=lot_product, code="S")])
    with pytest.raises(ValueError):
        insert_new([saved])
    with pytest.raises(ValueError):
        insert_new([Lot(product=lot_product, code="T"), Product(sku="P-1", name="P")])
    assert not Lot.objects.filter(code="T").exists()


@pytest.fixture
def channel_for_orders(db):
    from orders.models import Channel

    return Channel.objects.create(code="INS", name="Inserts", kind=Channel.Kind.WEB_STORE)


def test_postgresql_prepares_the_statement_once_per_connection_and_shape(lot_product):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL prepares; SQLite has nothing to plan")
    for n in range(3):
        insert_new([Lot(product=lot_product, code=f"P-{n}", expires_on=None)])
    insert_new([Lot(product=lot_product, code=f"Q-{n}") for n in range(2)])
    assert Lot.objects.filter(code__startswith="P-").count() == 3
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ['INSERT INTO "inventory_lot"%'],
        )
        assert cursor.fetchone()[0] == 2  # one row and two rows: two statements
