"""common.compiled: a queryset compiled once answers like the queryset with new values."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
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


def test_compiled_model_instances_equal_the_querysets_with_related_objects_and_annotations(
    lot_product, product, locations
):
    from django.db.models import F, Value
    from django.db.models.functions import Concat

    from common.compiled import CompiledModelQuery
    from inventory.models import StockLevel

    today = timezone.localdate()
    lot = Lot.objects.create(product=lot_product, code="L1", expires_on=today + timedelta(9))
    StockLevel.objects.create(product=lot_product, location=locations["bin1"], lot=lot, on_hand=4)
    StockLevel.objects.create(product=product, location=locations["bin2"], on_hand=7)

    def levels(sku, least):  # a 64-bit column: a 32-bit one would refuse the stand-in
        return (
            StockLevel.objects.filter(product__sku=sku, pk__gte=least)
            .select_related("location", "lot")
            .annotate(label=Concat(F("location__code"), Value("/"), F("product__sku")))
            .order_by("pk")
        )

    slots = {"sku": stand_in(str), "least": stand_in(int)}
    compiled = CompiledModelQuery(levels(slots["sku"], slots["least"]), slots)
    for sku, least in (("TEA-100", 1), ("MUG-001", 1), ("MUG-001", 10**9), ("NONE", 0)):
        expected = list(levels(sku, least))
        found = compiled.objects(sku=sku, least=least)
        assert [row.pk for row in found] == [row.pk for row in expected]
        for got, want in zip(found, expected, strict=True):
            assert type(got) is StockLevel and not got._state.adding
            assert (got.on_hand, got.updated_at, got.label) == (
                want.on_hand,
                want.updated_at,
                want.label,
            )
            assert got.location == want.location and got.location.path == want.location.path
            assert got.lot == want.lot
    [tea] = compiled.objects(sku="TEA-100", least=1)
    with CaptureQueriesContext(connection) as queries:
        assert (tea.location.code, tea.lot.expires_on, tea.label) == (
            "01",
            lot.expires_on,
            "01/TEA-100",
        )
    assert len(queries) == 0  # the related objects came with the row
    [mug] = compiled.objects(sku="MUG-001", least=1)
    assert mug.lot is None and mug.label == "02/MUG-001"


def test_related_objects_left_out_are_built_from_the_row_on_demand(lot_product, locations):
    from common.compiled import CompiledModelQuery, with_related
    from inventory.models import StockLevel

    today = timezone.localdate()
    lot = Lot.objects.create(product=lot_product, code="L1", expires_on=today + timedelta(9))
    StockLevel.objects.create(product=lot_product, location=locations["bin1"], lot=lot, on_hand=4)
    slots = {"sku": stand_in(str)}
    levels = StockLevel.objects.filter(product__sku=slots["sku"]).select_related("location", "lot")
    compiled = CompiledModelQuery(levels, slots)
    [row] = compiled.objects(related=False, sku="TEA-100")
    assert not StockLevel.location.is_cached(row) and not StockLevel.lot.is_cached(row)
    Lot.objects.filter(pk=lot.pk).update(code="CHANGED")  # after the read
    with CaptureQueriesContext(connection) as queries:
        assert with_related(row) is row
        assert (row.location.barcode, row.lot.code) == ("WH1-A-01", "L1")  # as read
        assert with_related(row).lot.code == "L1"  # a second call changes nothing
    assert len(queries) == 0
    [full] = compiled.objects(sku="TEA-100")
    assert with_related(full).lot.code == "CHANGED"
