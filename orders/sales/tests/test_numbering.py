"""The one-statement insert that numbers a new order (``placing.insert_numbered``): every
column as given, a taken reference refused, and on PostgreSQL (where the statement is
prepared with typed values) an over-long value refused, never cut."""

import pytest
from django.db import DataError, connection, transaction
from django.utils import timezone

from orders.models import SalesOrder
from orders.sales.placing import insert_numbered

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
