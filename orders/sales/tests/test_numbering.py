"""The one-statement insert that numbers a new order (``numbering.insert_numbered``), and
the one that also writes its lines on PostgreSQL (``insert_with_lines``): every column as
given, the lines' keys in their order, a taken reference refused, and on PostgreSQL (where
the statement is prepared with typed values) an over-long value refused, never cut."""

from decimal import Decimal

import pytest
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.models import SalesOrder, SalesOrderLine
from orders.sales.numbering import insert_numbered, insert_with_lines

pytestmark = pytest.mark.django_db


def new_order(channel, ref: str, **fields) -> SalesOrder:
    order = SalesOrder(
        channel=channel,
        external_ref=ref,
        customer_name="Ada",
        shipping_address="12 Analytical Row",
        status=SalesOrder.Status.OPEN,
        **fields,
    )
    order.created_at = order.updated_at = timezone.now()
    return order


def test_every_column_as_given_and_a_taken_reference_refused(web_store):
    for n in range(3):  # the statement runs prepared from the second call on PostgreSQL
        order = new_order(web_store, f"R-{n}", customer_email="ada@example.com")
        assert insert_numbered(order)
        stored = SalesOrder.objects.get(pk=order.pk)
        assert stored.number == order.number == f"SO-{order.pk:06d}"
        assert (stored.external_ref, stored.customer_email) == (f"R-{n}", "ada@example.com")
        assert stored.shipped_at is None and stored.total_sales == 0
    assert not insert_numbered(new_order(web_store, "R-1"))
    assert SalesOrder.objects.filter(external_ref="R-1").count() == 1


def test_an_overlong_value_is_refused_not_cut(web_store):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite keeps text of any length")
    for n in range(2):
        assert insert_numbered(new_order(web_store, f"OK-{n}"))
    with pytest.raises(DataError), transaction.atomic():
        insert_numbered(new_order(web_store, "X" * 101))
    assert not SalesOrder.objects.filter(external_ref__startswith="XXX").exists()


def lines_of(order, product, dropshipped) -> list[SalesOrderLine]:
    return [
        SalesOrderLine(order=order, product=product, quantity=2, unit_price=Decimal("1.25")),
        SalesOrderLine(
            order=order, product=dropshipped, quantity=3, unit_price=Decimal("0.10"), dropship=True
        ),
        SalesOrderLine(
            order=order, product=product, quantity=1, unit_price=Decimal("7"), quantity_allocated=1
        ),
    ]


def test_the_order_with_its_lines_keys_in_the_order_given(web_store, product, lot_product):
    for n in range(3):  # prepared from the second call on PostgreSQL
        order = new_order(web_store, f"L-{n}")
        lines = lines_of(order, product, lot_product)
        with CaptureQueriesContext(connection) as queries:
            written = insert_with_lines(order, lines)
        # One statement on PostgreSQL, the numbering insert and the lines' on SQLite.
        assert len(queries) == (1 if connection.vendor == "postgresql" else 2)
        assert written is lines
        assert order.number == f"SO-{order.pk:06d}"
        stored = {line.pk: line for line in SalesOrderLine.objects.filter(order=order)}
        assert [line.pk for line in lines] == sorted(stored)
        for line in lines:
            again = stored[line.pk]
            assert line.order_id == order.pk and not line._state.adding
            assert (again.product_id, again.quantity, again.unit_price, again.dropship) == (
                line.product_id,
                line.quantity,
                line.unit_price,
                line.dropship,
            )
            assert again.quantity_allocated == line.quantity_allocated
        with CaptureQueriesContext(connection) as queries:
            assert {line.order.number for line in lines} == {order.number}
        assert len(queries) == 0  # the order stays cached on its lines
        # The lines' sums reached the order (the database's triggers ran).
        order.refresh_from_db()
        assert (order.total_units, order.total_sales) == (6, Decimal("9.80"))


def test_a_taken_reference_writes_neither_order_nor_lines(web_store, product, lot_product):
    first = new_order(web_store, "T-1")
    assert insert_with_lines(first, lines_of(first, product, lot_product))
    again = new_order(web_store, "T-1")
    assert insert_with_lines(again, lines_of(again, product, lot_product)) is None
    assert again.pk is None
    assert SalesOrderLine.objects.count() == 3
    assert SalesOrder.objects.filter(external_ref="T-1").count() == 1


def test_an_overlong_value_with_lines_is_refused_not_cut(web_store, product, lot_product):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite keeps text of any length")
    order = new_order(web_store, "X" * 101)
    with pytest.raises(DataError), transaction.atomic():
        insert_with_lines(order, lines_of(order, product, lot_product))
    assert not SalesOrderLine.objects.exists()
