"""``common.together``: writes sent to PostgreSQL as one statement at the end of a block."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from common import together
from common.inserts import insert_later
from inventory.models import Lot, Product

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite runs each write at once"
)
LOTS = Lot._meta.db_table


def lots(product, *codes) -> list[Lot]:
    return [Lot(product=product, code=code) for code in codes]


def rename(product, suffix: str, on_rows=None) -> None:
    together.write(
        f'UPDATE "{LOTS}" SET code = code || %s WHERE product_id = %s RETURNING id',
        [suffix, product.pk],
        table=LOTS,
        on_rows=on_rows,
    )


def codes(product) -> list[str]:
    return sorted(Lot.objects.filter(product=product).values_list("code", flat=True))


def test_outside_a_block_a_write_runs_at_once(lot_product):
    with CaptureQueriesContext(connection) as queries:
        insert_later(lots(lot_product, "A", "B"))
        assert len(queries) == 1
        answered = []
        rename(lot_product, "-x", answered.extend)
        assert len(queries) == 2
    assert codes(lot_product) == ["A-x", "B-x"]
    assert len(answered) == 2


@postgresql_only
def test_writes_wait_for_the_end_of_the_block_and_go_as_one_statement(lot_product):
    insert_later(lots(lot_product, "OLD"))
    answered = []
    with CaptureQueriesContext(connection) as queries:
        with together.writes_together():
            rename(lot_product, "-x", answered.extend)
            insert_later([Product(sku="NEW-1", name="New"), Product(sku="NEW-2", name="New")])
            assert len(queries) == 0, queries.captured_queries  # nothing sent yet
            assert codes(lot_product) == ["OLD"]  # a read in the block does not see them
        assert len(queries) == 2  # the read above, then the writes in one statement
    assert "WITH w0 AS (UPDATE" in queries[1]["sql"]
    assert codes(lot_product) == ["OLD-x"]
    assert Product.objects.filter(sku__startswith="NEW-").count() == 2
    assert sorted(answered) == sorted(
        Lot.objects.filter(product=lot_product).values_list("pk", flat=True)
    )


@postgresql_only
def test_a_second_write_of_a_table_sends_the_waiting_ones_first(lot_product):
    with CaptureQueriesContext(connection) as queries, together.writes_together():
        insert_later(lots(lot_product, "A", "B"))
        rename(lot_product, "-x")  # must see the inserted rows: they go first
        insert_later(lots(lot_product, "C"))
    assert len(queries) == 3
    assert codes(lot_product) == ["A-x", "B-x", "C"]


@postgresql_only
def test_a_long_batch_is_sent_in_parts(lot_product, monkeypatch):
    fields = len(Lot._meta.concrete_fields) - 1  # every column but the key
    monkeypatch.setattr(together, "MAX_PARAMS", fields + 1)
    with CaptureQueriesContext(connection) as queries, together.writes_together():
        insert_later(lots(lot_product, "A"))
        insert_later([Product(sku="NEW-1", name="New")])  # another table: too many values
    assert len(queries) == 2
    assert codes(lot_product) == ["A"]
    assert Product.objects.filter(sku="NEW-1").exists()


def test_an_exception_drops_what_waits_and_the_transaction_rolls_back(lot_product):
    with transaction.atomic():
        with pytest.raises(ValueError), together.writes_together():
            raise ValueError("before any write")
        assert not transaction.get_rollback()  # nothing was lost: carry on
    with transaction.atomic():
        with pytest.raises(ValueError), together.writes_together():
            insert_later(lots(lot_product, "LOST"))
            raise ValueError("after a write")
        # On PostgreSQL the insert waited and is gone; the block must not commit.
        assert transaction.get_rollback() == (connection.vendor == "postgresql")
    assert "LOST" not in codes(lot_product) or connection.vendor == "sqlite"


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_the_block_needs_a_transaction():
    with pytest.raises(RuntimeError, match="inside the transaction"), together.writes_together():
        pass
