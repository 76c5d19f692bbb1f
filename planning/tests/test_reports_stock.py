"""Low stock, stockouts and overstock: the rules at their boundaries, CSV = page, filters,
permissions and query counts (the reports read the latest stored plan)."""

import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from common.testing import html_of, text_of
from inventory.models import Product
from planning.tests.factories import plan_line, plan_run

pytestmark = pytest.mark.django_db


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def skus_on_page(response) -> list[str]:
    html = html_of(response)
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return [cell.split("</a>")[0].rsplit(">", 1)[-1] for cell in body.split("<tr>")[1:]]


@pytest.fixture
def boundary_plan(catalogue, warehouse, wh2):
    """MUG just below its reorder point, CUP exactly at it, JAR2 below in WH2."""
    run = plan_run()
    p, o = catalogue["products"], catalogue["offers"]
    return {
        # position 30 + 5 − 4 = 31 < 32: low
        "mug": plan_line(
            run,
            p["MUG-1"],
            warehouse,
            o["MUG-1"],
            available=30,
            incoming=5,
            open_demand=4,
            reorder_point=32,
        ),
        # position 32 = ROP: not low
        "cup": plan_line(
            run,
            p["CUP-1"],
            warehouse,
            o["CUP-1"],
            available=32,
            incoming=0,
            open_demand=0,
            reorder_point=32,
        ),
        "jar2": plan_line(
            run,
            p["JAR-1"],
            wh2,
            o["JAR-1"],
            available=0,
            incoming=0,
            reorder_point=3,
            stockout_days=7,
            forecast_daily=2.5,
        ),
    }


def test_url_names():
    assert reverse("reports:low_stock") == "/reports/low-stock/"
    assert reverse("reports:stockouts") == "/reports/stockouts/"
    assert reverse("reports:overstock") == "/reports/overstock/"


@pytest.mark.parametrize("name", ["low_stock", "stockouts", "overstock"])
def test_anonymous_is_sent_to_login(client, name):
    response = client.get(reverse(f"reports:{name}"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize(
    ("name", "role", "status"),
    [
        ("low_stock", "clerk", 403),
        ("low_stock", "buyer", 200),
        ("stockouts", "clerk", 403),
        ("stockouts", "buyer", 200),
        ("overstock", "buyer", 403),  # values: managers only
        ("overstock", "manager", 200),
    ],
)
def test_roles(client, request, name, role, status, boundary_plan):
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse(f"reports:{name}")).status_code == status


def test_low_stock_is_below_the_reorder_point_not_at_it(client, buyer, boundary_plan):
    client.force_login(buyer)
    response = client.get(reverse("reports:low_stock"))
    assert "reorder point" in text_of(response).split("Rule:")[1][:300]
    assert skus_on_page(response) == ["MUG-1", "JAR-1"]
    assert "/planning/replenishment/?warehouse=WH1&amp;supplier=ACME" in html_of(response)


def test_low_stock_filters_by_warehouse(client, buyer, boundary_plan):
    client.force_login(buyer)
    response = client.get(reverse("reports:low_stock"), {"warehouse": "WH2"})
    assert skus_on_page(response) == ["JAR-1"]


def test_low_stock_csv_has_the_page_rows_and_defuses_formulas(client, buyer, boundary_plan):
    Product.objects.filter(sku="MUG-1").update(name="=HYPERLINK(1)")
    client.force_login(buyer)
    response = client.get(reverse("reports:low_stock"), {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = csv_rows(response)
    assert rows[0][:3] == ["SKU", "Product", "Warehouse"]
    assert [row[0] for row in rows[1:]] == ["MUG-1", "JAR-1"]
    assert rows[1][1] == "'=HYPERLINK(1)"
    assert rows[1][6] == "31"  # position


def test_stockouts_lists_out_now_and_past_stockout_days_with_lost_demand(
    client, buyer, boundary_plan
):
    client.force_login(buyer)
    response = client.get(reverse("reports:stockouts"), {"format": "csv"})
    rows = csv_rows(response)
    assert [row[0] for row in rows[1:]] == ["JAR-1"]  # MUG and CUP: stock and no stockout days
    jar = dict(zip(rows[0], rows[1], strict=True))
    assert jar["Stockout days"] == "7"
    assert jar["Est. units lost"] == "17.5"  # 2.5 a day × 7 days
    assert jar["Out now"] == "yes"


def test_stockouts_only_out_now(client, buyer, boundary_plan):
    boundary_plan["mug"].stockout_days = 3
    boundary_plan["mug"].save()
    client.force_login(buyer)
    everything = csv_rows(client.get(reverse("reports:stockouts"), {"format": "csv"}))
    assert [row[0] for row in everything[1:]] == ["MUG-1", "JAR-1"]  # products in catalogue order
    now = csv_rows(client.get(reverse("reports:stockouts"), {"format": "csv", "out_now": "true"}))
    assert [row[0] for row in now[1:]] == ["JAR-1"]


def test_overstock_cover_threshold_is_strictly_above(client, manager, catalogue, warehouse):
    run = plan_run()
    p, o = catalogue["products"], catalogue["offers"]
    # 2 a day: 240 units = 120 days exactly (not listed), 242 = 121 days (listed).
    plan_line(run, p["MUG-1"], warehouse, o["MUG-1"], available=240, forecast_daily=2.0)
    plan_line(
        run,
        p["CUP-1"],
        warehouse,
        o["CUP-1"],
        available=242,
        forecast_daily=2.0,
        unit_cost=Decimal("1.20"),
    )
    plan_line(run, p["LID-1"], warehouse, None, available=50, forecast_daily=0.0)
    client.force_login(manager)
    response = client.get(reverse("reports:overstock"))
    assert skus_on_page(response) == ["CUP-1"]
    assert "above 120 days" in text_of(response)
    rows = csv_rows(client.get(reverse("reports:overstock"), {"format": "csv"}))
    cup = dict(zip(rows[0], rows[1], strict=True))
    assert cup["Days of cover"] == "121.0"
    assert cup["Units above the cover"] == "2.0"
    assert cup["Value tied up"] == "2.40"  # 2 units × 1.20
    assert "Value tied up above the cover 2.40" in text_of(response)
    lower = client.get(reverse("reports:overstock"), {"cover_days": "100"})
    assert skus_on_page(lower) == ["MUG-1", "CUP-1"]
    assert "above 100 days" in text_of(lower)


def test_overstock_bad_threshold_says_so_and_shows_no_rows(client, manager, boundary_plan):
    client.force_login(manager)
    response = client.get(reverse("reports:overstock"), {"cover_days": "-5"})
    assert response.status_code == 200
    assert "greater than or equal to 1" in text_of(response)
    assert 'value="-5"' in html_of(response)  # what was typed is kept


def queries_for(client, url, query) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, query).status_code == 200
    return len(captured)


@pytest.mark.parametrize("name", ["low_stock", "stockouts", "overstock"])
def test_query_count_does_not_grow_with_rows(
    client, manager, warehouse, name, django_assert_max_num_queries
):
    run = plan_run()
    url = reverse(f"reports:{name}")
    client.force_login(manager)

    def add(count, start):
        for index in range(start, start + count):
            product = Product.objects.create(sku=f"Q-{index}", name="q", sell_price="1.00")
            plan_line(
                run,
                product,
                warehouse,
                None,
                available=300,
                reorder_point=500,
                stockout_days=1,
                forecast_daily=1.0,
                unit_cost=Decimal("1"),
            )

    add(1, 0)
    few = queries_for(client, url, {"warehouse": "WH1"})
    add(59, 1)
    with django_assert_max_num_queries(few):
        response = client.get(url, {"warehouse": "WH1"})
    assert "60 rows" in text_of(response)
    assert few <= 12


def test_the_reports_nav_group_links_what_each_role_may_open(client, clerk, buyer, manager):
    low, over = reverse("reports:low_stock"), reverse("reports:overstock")
    client.force_login(buyer)
    html = html_of(client.get(reverse("reports:low_stock")))
    assert f'href="{low}" aria-current="page"' in html
    assert over not in html
    client.force_login(manager)
    html = html_of(client.get(reverse("reports:overstock")))
    assert low in html and f'href="{over}" aria-current="page"' in html
    assert reverse("reports:abc_xyz") in html and reverse("reports:channel_sales") in html
    client.force_login(clerk)
    assert low not in html_of(client.get(reverse("dashboard")))
