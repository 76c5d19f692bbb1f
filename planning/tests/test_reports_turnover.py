"""Turnover: COGS / average of the start and end values, days of inventory; per product and
overall; CSV = page; permissions; query counts."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from common.testing import text_of
from inventory import ledger
from inventory.models import CostLayer
from planning.tests.test_reports_sales_suppliers import ship
from planning.tests.test_reports_stock import csv_rows
from planning.tests.world import noon, world  # noqa: F401 — the fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def turned(world):  # noqa: F811
    """100 at 2.00 forty days ago; 50 at 4.00 today; 20 shipped today (FIFO: 40.00)."""
    product = world.product("T-1")
    world.stock(product, 100, world.today - timedelta(days=40))
    ledger.receive(product=product, location=world.bin, quantity=50, unit_cost=Decimal("4.00"))
    ship(world.sell(product, 20, world.today))
    world.product("T-2")  # nothing moved: no turnover
    return product


def test_turnover_per_product_and_overall(client, manager, turned):
    client.force_login(manager)
    url = reverse("reports:turnover")
    assert url == "/reports/turnover/"
    rows = csv_rows(client.get(url, {"format": "csv", "days": "30"}))
    t1 = dict(zip(rows[0], rows[1], strict=True))
    assert t1["COGS"] == "40.00"
    assert t1["Value now"] == "360.00"  # 80 × 2 + 50 × 4
    assert t1["Value at the start"] == "200.00"  # 360 − 200 in + 40 out
    assert t1["Average inventory"] == "280.00"
    assert t1["Turnover"] == "0.14"  # 40 / 280
    assert t1["Days of inventory"] == "210.0"  # 280 / 40 × 30
    t2 = dict(zip(rows[0], rows[2], strict=True))
    assert t2["Turnover"] == "" and t2["Days of inventory"] == ""
    page = text_of(client.get(url, {"days": "30"}))
    assert "Turnover 0.14" in page and "Days of inventory 210.0" in page
    assert "last 30 days" in page


def test_a_longer_period_starts_before_the_first_receipt(client, manager, turned):
    client.force_login(manager)
    rows = csv_rows(client.get(reverse("reports:turnover"), {"format": "csv", "days": "60"}))
    t1 = dict(zip(rows[0], rows[1], strict=True))
    assert t1["Value at the start"] == "0.00"  # 360 − 400 in + 40 out
    assert t1["Average inventory"] == "180.00"


def test_roles_and_bad_period(client, buyer, manager, turned):
    url = reverse("reports:turnover")
    assert client.get(url).status_code == 302
    client.force_login(buyer)
    assert client.get(url).status_code == 403
    client.force_login(manager)
    assert "less than or equal to 3650" in text_of(client.get(url, {"days": "9999"}))


def test_query_count_does_not_grow_with_rows(client, manager, world, turned):  # noqa: F811
    client.force_login(manager)

    def count():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("reports:turnover")).status_code == 200
        return len(captured)

    few = count()
    for index in range(55):
        world.stock(world.product(f"Q-{index}"), 1)
    assert count() == few
    assert few <= 12


def overall_line(client) -> str:
    return text_of(client.get(reverse("reports:turnover"), {"days": "30"}))


def test_value_now_is_the_open_fifo_layers(client, manager, turned):
    """The stored positions the report reads agree with the layers they stand for."""
    client.force_login(manager)
    layers = sum(
        layer.remaining * layer.unit_cost
        for layer in CostLayer.objects.filter(product=turned, remaining__gt=0)
    )
    assert layers == Decimal("360.00")
    assert "Value now 360.00" in overall_line(client)


def test_the_overall_line_is_kept_until_the_next_move(client, manager, world, turned):  # noqa: F811
    client.force_login(manager)
    with CaptureQueriesContext(connection) as first:
        page = overall_line(client)
    assert "COGS 40.00" in page
    with CaptureQueriesContext(connection) as again:
        assert overall_line(client) == page
    summed = 'SUM("inventory_productposition"."value")'  # the overall line's own query
    assert sum(summed in query["sql"] for query in first.captured_queries) == 1
    assert not any(summed in query["sql"] for query in again.captured_queries)  # kept
    ship(world.sell(turned, 10, world.today))  # 10 more at 2.00: a new move, a new key
    page = overall_line(client)
    assert "COGS 60.00" in page and "Value now 340.00" in page
    assert "Average inventory 270.00" in page  # the start stays (340 − 200 in + 60 out)
    assert "Turnover 0.22" in page  # 60 / 270
