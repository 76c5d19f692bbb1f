"""The indexes an order writes (inventory 0018, orders 0012): no index repeating the first
column of another, keys that are mostly empty indexed only where set — and the lookups
a PROTECT check makes still find their rows through them."""

import pytest
from django.db import connection
from django.db.models import ProtectedError

from inventory.models import ReservationEntry

pytestmark = pytest.mark.django_db

DROPPED = {
    "inventory_reservationentry": ["document_type_id", "lot_id", "move_id", "user_id"],
    "inventory_stocklevel": ["location_id"],
    "orders_salesorderline": ["product_id"],
    "orders_allocation": ["lot_id"],
    "orders_stockoutbox": ["delivery_id"],
}
PARTIAL = {
    "inventory_reservationentry": {
        "reservation_move_idx": "move_id",
        "reservation_lot_idx": "lot_id",
        "reservation_user_idx": "user_id",
    },
    "orders_allocation": {"allocation_lot_idx": "lot_id"},
    "orders_stockoutbox": {"outbox_delivery_idx": "delivery_id"},
}


def indexes(table: str) -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, table)
    return {
        name: info["columns"]
        for name, info in found.items()
        if info["index"] and not info["primary_key"] and not info["unique"]
    }


def test_no_single_key_index_on_the_columns_given_up():
    for table, columns in DROPPED.items():
        singles = [cols[0] for cols in indexes(table).values() if len(cols) == 1]
        partial = set(PARTIAL.get(table, {}).values())
        for column in columns:
            # Only the partial index (where the key is set) may remain on its own.
            assert singles.count(column) == (1 if column in partial else 0), (table, column)


def test_the_partial_indexes_exist():
    for table, expected in PARTIAL.items():
        found = indexes(table)
        for name, column in expected.items():
            assert found.get(name) == [column], (table, name)


def test_protect_still_refuses_deleting_a_user_who_reserved(product, locations, django_user_model):
    from decimal import Decimal

    from inventory import ledger

    clerk = django_user_model.objects.create_user("clerk", password="pw-for-tests")
    ledger.receive(product=product, location=locations["bin1"], quantity=5, unit_cost=Decimal(2))
    ledger.reserve(product=product, location=locations["bin1"], quantity=2, user=clerk)
    assert ReservationEntry.objects.filter(user=clerk).count() == 1
    with pytest.raises(ProtectedError):
        clerk.delete()
