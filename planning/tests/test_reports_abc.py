"""The ABC × XYZ report: classes from the plan through planning.classes, matrix, drill-down,
CSV = page, permissions, query counts."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from common.testing import text_of
from inventory.models import Product
from planning.tests.factories import plan_line, plan_run
from planning.tests.test_reports_stock import csv_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def abc_plan(catalogue, warehouse, wh2):
    """Yearly values at cost 1: MUG 8 × 365 (80 %), CUP 1.5 × 365 (15 %), JAR 0.5 × 365."""
    run = plan_run()
    p = catalogue["products"]
    one = Decimal("1")
    # MUG in two warehouses: 5 + 3 a day; σd 1 and 1 → CV = √2·√7 / (8·7) = 0.07 → X
    plan_line(run, p["MUG-1"], warehouse, None, forecast_daily=5, sd_daily_demand=1, unit_cost=one)
    plan_line(run, p["MUG-1"], wh2, None, forecast_daily=3, sd_daily_demand=1, unit_cost=one)
    # CUP: CV = 3·√7 / (1.5·7) = 0.756 → Y
    plan_line(
        run, p["CUP-1"], warehouse, None, forecast_daily=1.5, sd_daily_demand=3, unit_cost=one
    )
    # JAR: CV = 2·√7 / (0.5·7) = 1.51 → Z
    plan_line(
        run, p["JAR-1"], warehouse, None, forecast_daily=0.5, sd_daily_demand=2, unit_cost=one
    )
    # LID: no demand → C, Z
    plan_line(run, p["LID-1"], warehouse, None, forecast_daily=0, sd_daily_demand=0, unit_cost=one)
    return run


def classes_of(response) -> dict[str, tuple[str, str]]:
    rows = csv_rows(response)
    return {row[0]: (row[1], row[2]) for row in rows[1:]}


def test_classes_and_matrix(client, manager, abc_plan):
    client.force_login(manager)
    url = reverse("reports:abc_xyz")
    assert url == "/reports/abc-xyz/"
    assert classes_of(client.get(url, {"format": "csv"})) == {
        "MUG-1": ("A", "X"),
        "CUP-1": ("B", "Y"),
        "JAR-1": ("C", "Z"),
        "LID-1": ("C", "Z"),
    }
    page = text_of(client.get(url))
    assert "AX 1 · 2920.00" in page  # 8 × 365
    assert "CZ 2 · 182.50" in page
    assert "AY 0 · 0.00" in page
    assert "≤ 80 %" in page


def test_drill_down_and_warehouse(client, manager, abc_plan):
    client.force_login(manager)
    url = reverse("reports:abc_xyz")
    assert list(classes_of(client.get(url, {"format": "csv", "abc": "C"}))) == ["JAR-1", "LID-1"]
    page = text_of(client.get(url, {"abc": "C"}))
    assert "AX 1 · 2920.00" in page  # the matrix still counts every product
    wh2 = classes_of(client.get(url, {"format": "csv", "warehouse": "WH2"}))
    assert wh2 == {"MUG-1": ("A", "X")}


def test_roles(client, buyer, abc_plan):
    url = reverse("reports:abc_xyz")
    assert client.get(url).status_code == 302
    client.force_login(buyer)
    assert client.get(url).status_code == 403


def test_query_count_does_not_grow_with_rows(client, manager, abc_plan, warehouse):
    client.force_login(manager)
    url = reverse("reports:abc_xyz")

    def count():
        cache.clear()  # the classes of a run are cached; count the computing request
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    few = count()
    for index in range(60):
        product = Product.objects.create(sku=f"Q-{index}", name="q")
        plan_line(abc_plan, product, warehouse, None, forecast_daily=0.1)
    assert count() == few
    assert few <= 10


def test_classes_are_computed_once_per_plan_run(client, manager, abc_plan, warehouse):
    """A stored plan never changes: the second view reads the classes from the cache, and a
    new plan run is classified afresh (its own key, never a stale answer)."""
    client.force_login(manager)
    url = reverse("reports:abc_xyz")
    with CaptureQueriesContext(connection) as first:
        client.get(url)
    with CaptureQueriesContext(connection) as second:
        page = client.get(url).content.decode()
    assert len(second) < len(first)
    newer = plan_run()
    product = Product.objects.create(sku="NEW-RUN", name="only in the new run")
    plan_line(newer, product, warehouse, None, forecast_daily=50.0)
    assert "NEW-RUN" not in page
    assert "NEW-RUN" in client.get(url).content.decode()
