"""Expiring lots and slow movers / dead stock: rules at their boundaries, value, action
links, CSV = page, permissions and query counts."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from common.testing import html_of, text_of
from inventory import ledger
from inventory.models import Lot, Product
from planning.tests.factories import plan_line, plan_run
from planning.tests.test_reports_stock import csv_rows, skus_on_page

pytestmark = pytest.mark.django_db


@pytest.fixture
def lots(lot_product, locations):
    today = timezone.localdate()
    where = locations["A1"] if "A1" in locations else next(iter(locations.values()))
    for code, days, quantity, cost in [
        ("L30", 30, 10, "2.00"),
        ("L31", 31, 5, "4.00"),
        ("OLD", 10, 3, "1.00"),
    ]:
        ledger.receive(
            product=lot_product,
            location=where,
            quantity=quantity,
            unit_cost=Decimal(cost),
            lot_code=code,
            expires_on=today + timedelta(days=days),
        )
    Lot.objects.filter(code="OLD").update(expires_on=today - timedelta(days=1))
    return where


def by_lot(response):
    rows = csv_rows(response)
    return {row[rows[0].index("Lot")]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}


def test_expiring_within_30_days_includes_the_30th_day_and_expired_lots(client, manager, lots):
    client.force_login(manager)
    url = reverse("reports:expiring")
    assert url == "/reports/expiring/"
    rows = by_lot(client.get(url, {"format": "csv"}))
    assert list(rows) == ["OLD", "L30"]  # by expiry; L31 is a day too far
    assert rows["OLD"]["State"] == "expired"
    # Average of the open layers: (10 × 2 + 5 × 4 + 3 × 1) / 18 = 2.388…
    assert rows["L30"]["Unit cost"] == "2.39"
    assert rows["L30"]["Value"] == "23.89"
    wider = by_lot(client.get(url, {"format": "csv", "days": "31"}))
    assert list(wider) == ["OLD", "L30", "L31"]
    assert "within 30 days" in text_of(client.get(url))


def test_expiring_write_off_link_opens_the_filled_adjustment(client, manager, lots):
    client.force_login(manager)
    html = html_of(client.get(reverse("reports:expiring")))
    start = html.index(reverse("adjust_stock") + "?")
    link = html[start : html.index('"', start)].replace("&amp;", "&")
    assert "lot=L30" in link or "lot=OLD" in link
    form = html_of(client.get(link))
    assert 'value="TEA-100"' in form
    assert "Expired lot written off" in form


def test_expiring_is_for_managers(client, buyer, lots):
    url = reverse("reports:expiring")
    assert client.get(url).status_code == 302
    client.force_login(buyer)
    assert client.get(url).status_code == 403


@pytest.fixture
def slow_plan(catalogue, warehouse):
    run = plan_run()
    p = catalogue["products"]
    plan_line(
        run,
        p["MUG-1"],
        warehouse,
        None,
        on_hand=5,
        pattern="none",
        forecast_daily=0,
        unit_cost=Decimal("2.00"),
    )
    plan_line(
        run,
        p["CUP-1"],
        warehouse,
        None,
        on_hand=400,
        forecast_daily=1.0,
        unit_cost=Decimal("1.00"),
    )
    plan_line(run, p["JAR-1"], warehouse, None, on_hand=365, forecast_daily=1.0)
    plan_line(run, p["PAN-1"], warehouse, None, on_hand=0, pattern="none", forecast_daily=0)
    return run


def test_slow_movers_dead_and_slow_at_the_cover_boundary(client, manager, slow_plan):
    client.force_login(manager)
    url = reverse("reports:slow_movers")
    assert url == "/reports/slow-movers/"
    response = client.get(url)
    assert skus_on_page(response) == ["MUG-1", "CUP-1"]  # JAR at exactly 365 days, PAN no stock
    assert "more than 365 days" in text_of(response)
    assert "Value on hand 410.00" in text_of(response)  # 5 × 2 + 400 × 1
    rows = csv_rows(client.get(url, {"format": "csv"}))
    states = {row[0]: row[rows[0].index("State")] for row in rows[1:]}
    assert states == {"MUG-1": "dead", "CUP-1": "slow"}
    assert skus_on_page(client.get(url, {"cover_days": "300"})) == ["MUG-1", "CUP-1", "JAR-1"]


def test_slow_movers_is_for_managers(client, buyer, slow_plan):
    client.force_login(buyer)
    assert client.get(reverse("reports:slow_movers")).status_code == 403


@pytest.mark.parametrize("name", ["expiring", "slow_movers"])
def test_query_count_does_not_grow_with_rows(client, manager, lots, warehouse, name):
    client.force_login(manager)
    run = plan_run()
    url = reverse(f"reports:{name}")

    def count():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    def add(start, stop):
        for index in range(start, stop):
            product = Product.objects.create(sku=f"Q-{index}", name="q", tracking="lot_expiry")
            ledger.receive(
                product=product,
                location=lots,
                quantity=1,
                unit_cost=Decimal("1"),
                lot_code=f"Q{index}",
                expires_on=timezone.localdate(),
            )
            plan_line(run, product, warehouse, None, on_hand=1, pattern="none", forecast_daily=0)

    add(0, 1)
    few = count()
    add(1, 55)
    assert count() == few
    assert few <= 12


def test_expiring_count_is_kept_until_the_next_move(client, manager, lots, lot_product):
    """Shown again without a move: the count is not taken again (one query fewer); after a
    move — the expired lot written off — the pager counts one row less at once."""
    client.force_login(manager)
    url = reverse("reports:expiring")
    with CaptureQueriesContext(connection) as first:
        assert client.get(url).context["page_obj"].paginator.count == 2
    with CaptureQueriesContext(connection) as again:
        assert client.get(url).context["page_obj"].paginator.count == 2
    assert len(again) == len(first) - 1
    assert client.get(url, {"days": "31"}).context["page_obj"].paginator.count == 3
    ledger.adjust(
        product=lot_product,
        location=lots,
        lot=Lot.objects.get(code="OLD"),
        quantity=-3,
        reason="Expired lot written off",
    )
    assert client.get(url).context["page_obj"].paginator.count == 1
