"""The question every intake asks — does an order wait for this product? — reads the
partial index of waiting lines, whatever the statistics say (at `large` a best seller's
every line was read instead: 30 ms per order)."""

import pytest
from django.db import connection

from orders.models import SalesOrder, SalesOrderLine
from orders.models.sales import backordered_q

pytestmark = pytest.mark.django_db


def plan_of(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Whether the index CAN answer (its predicate is implied by the query's):
            # with scans priced out, a usable index is always taken.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(str(row) for row in cursor.fetchall())


def drop_other_indexes_of_the_product_column() -> None:
    """Inside the test's transaction (rolled back): only the partial index is left to
    find a product's lines, so the plan shows whether its predicate matches the query's
    (with empty tables the planner may take any equal index)."""
    table = SalesOrderLine._meta.db_table
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, table)
        for name, info in found.items():
            other = info["index"] and not info["unique"] and name != "so_line_waiting_idx"
            if other and info["columns"] and info["columns"][0] == "product_id":
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")


def test_waiting_lines_of_a_product_are_found_through_the_partial_index(product):
    waiting = SalesOrderLine.objects.filter(
        backordered_q(), product_id=product.pk, order__status__in=SalesOrder.WAITING_STATUSES
    )
    drop_other_indexes_of_the_product_column()
    assert "so_line_waiting_idx" in plan_of(waiting)
    # The index keeps only waiting lines: other questions about lines do not match it.
    assert "so_line_waiting_idx" not in plan_of(SalesOrderLine.objects.filter(product=product))
