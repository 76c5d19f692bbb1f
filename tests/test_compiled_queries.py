"""common.compiled: a queryset compiled once answers like the queryset with new values."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from common.compiled import CompiledCache, CompiledQuery, stand_in
from inventory.models import Lot, Product

pytestmark = pytest.mark.django_db


def lots_query() -> CompiledQuery:
    slots = {"sku": stand_in(str), "day": stand_in(date), "above": stand_in(int)}
    rows = Lot.objects.filter(
        product__sku=slots["sku"], expires_on__gte=slots["day"], pk__gt=slots["above"]
    ).values_list("code", "expires_on", "product__updated_at")
    return CompiledQuery(rows.order_by("code"), slots)


def test_the_compiled_query_answers_what_the_queryset_answers(lot_product, product):
    today = timezone.localdate()
    for n, days in enumerate((-3, 0, 5)):
        Lot.objects.create(product=lot_product, code=f"L{n}", expires_on=today + timedelta(days))
    compiled = lots_query()
    for sku, day, above in (
        ("TEA-100", today, 0),
        ("TEA-100", today - timedelta(9), 0),
        ("TEA-100", today, 10**9),
        ("MUG-001", today, 0),
    ):
        expected = list(
            Lot.objects.filter(product__sku=sku, expires_on__gte=day, pk__gt=above)
            .order_by("code")
            .values_list("code", "expires_on", "product__updated_at")
        )
        assert compiled.rows(sku=sku, day=day, above=above) == expected
    assert [code for code, *_ in compiled.rows(sku="TEA-100", day=today, above=0)] == ["L1", "L2"]
    # Datetimes come back aware, as the queryset gives them.
    assert compiled.rows(sku="TEA-100", day=today, above=0)[0][2].tzinfo is not None


def test_a_stand_in_missing_from_the_sql_is_refused(db):
    with pytest.raises(ValueError, match="not in the compiled query"):
        CompiledQuery(
            Product.objects.filter(sku="fixed").values_list("pk"), {"sku": stand_in(str)}
        )


def test_the_cache_builds_once_per_key_and_keeps_the_last(db):
    cache, built = CompiledCache(size=2), []

    def build(key):
        built.append(key)
        return key

    for key in ("a", "a", "b", "c", "a"):
        cache.get(key, lambda key=key: build(key))
    assert built == ["a", "b", "c", "a"]


def test_postgresql_plans_a_compiled_query_once_per_connection(lot_product):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite plans in microseconds; PostgreSQL prepares")
    compiled = lots_query()
    day = timezone.localdate()
    for _ in range(3):
        assert compiled.rows(sku="TEA-100", day=day, above=0) == []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%inventory_lot%"],
        )
        assert cursor.fetchone()[0] == 1
