"""``holding_products``: a service that locked its products first spares the ledger a
second lock of the same rows, and only inside its transaction."""

import pytest
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from inventory import ledger
from inventory.models import Product


def product_locks(queries) -> int:
    return sum(
        'FROM "inventory_product"' in query["sql"] and "FOR UPDATE" in query["sql"]
        for query in queries.captured_queries
    )


def receive(product, location):
    return ledger.receive(product=product, location=location, quantity=1, unit_cost=1)


def test_needs_a_transaction(transactional_db):
    # Outside a transaction a lock would end with its own statement: nothing to hold.
    with pytest.raises(TransactionManagementError), ledger.holding_products([Product(pk=1)]):
        pass


@pytest.mark.postgres
def test_held_products_are_locked_once(product, locations):
    other = Product.objects.create(sku="OTHER-1", name="Other")
    with transaction.atomic():
        with CaptureQueriesContext(connection) as held, ledger.holding_products([product]):
            receive(product, locations["bin1"])
            receive(other, locations["bin1"])  # not held: locked by the ledger
        with CaptureQueriesContext(connection) as after:
            receive(product, locations["bin1"])  # the block is over: locked again
    assert product_locks(held) == 2  # the block's own lock, then the other product's
    assert product_locks(after) == 1


@pytest.mark.postgres
def test_a_rolled_back_savepoint_inside_keeps_the_hold(product, locations):
    with transaction.atomic(), ledger.holding_products([product]):
        with pytest.raises(RuntimeError), transaction.atomic():
            receive(product, locations["bin1"])
            raise RuntimeError
        with CaptureQueriesContext(connection) as queries:
            receive(product, locations["bin1"])
        # The lock taken before the savepoint outlives its rollback: no second lock.
        assert product_locks(queries) == 0
