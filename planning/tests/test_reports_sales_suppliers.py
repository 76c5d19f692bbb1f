"""Sales and margin per channel, and supplier performance: rules on data made through the
real services, CSV = page, filters, permissions, query counts."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from common.testing import text_of
from orders.models import Channel, ChannelWarehouse, PurchaseOrderLine, ReceiptLine, SalesOrder
from orders.purchasing import receiving
from orders.sales import services as sales
from planning.tests.test_reports_stock import csv_rows
from planning.tests.world import noon, world  # noqa: F401 — the fixture

pytestmark = pytest.mark.django_db


def ship(order):
    sales.start_picking(order=order)
    sales.ship_order(order=order)


@pytest.fixture
def sold(world):  # noqa: F811
    """SHOP: 4 shipped, 2 open, 3 cancelled, 5 forty days ago; MKT: 1 shipped."""
    product = world.product("S-1")
    world.stock(product, 100, world.today - timedelta(days=60))
    ship(world.sell(product, 4, world.today - timedelta(days=2)))
    world.sell(product, 2, world.today - timedelta(days=1))
    sales.cancel_order(order=world.sell(product, 3, world.today - timedelta(days=1)))
    world.sell(product, 5, world.today - timedelta(days=40))
    market = Channel.objects.create(code="MKT", name="Marketplace")
    ChannelWarehouse.objects.create(channel=market, warehouse=world.warehouse, priority=1)
    ship(world.sell(product, 1, world.today - timedelta(days=3), channel=market))
    return product


def by_channel(response) -> dict[str, dict[str, str]]:
    rows = csv_rows(response)
    return {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}


def test_roles_channel_sales_is_for_managers(client, buyer, manager, sold):
    url = reverse("reports:channel_sales")
    assert url == "/reports/channel-sales/"
    assert client.get(url).status_code == 302
    client.force_login(buyer)
    assert client.get(url).status_code == 403  # margins: managers only
    client.force_login(manager)
    assert client.get(url).status_code == 200


def test_sales_count_every_line_margin_only_shipped_ones(client, manager, sold):
    client.force_login(manager)
    rows = by_channel(client.get(reverse("reports:channel_sales"), {"format": "csv"}))
    shop = rows["SHOP"]
    assert shop["Orders"] == "2"  # the cancelled and the 40-day-old order are left out
    assert shop["Units ordered"] == "6"
    assert shop["Sales"] == "59.94"  # 6 × 9.99
    assert shop["Units shipped"] == "4"
    assert shop["Sales shipped"] == "39.96"
    assert shop["Cost of goods"] == "8.00"  # 4 × 2.00 FIFO
    assert shop["Margin"] == "31.96"
    assert shop["Margin %"] == "80.0"
    assert rows["MKT"]["Margin"] == "7.99"
    page = text_of(client.get(reverse("reports:channel_sales")))
    assert "last 30 days" in page
    assert "Margin 39.95" in page  # the total over both channels
    assert "SHOP" in page and "MKT" in page


def test_period_and_channel_filters(client, manager, sold):
    client.force_login(manager)
    url = reverse("reports:channel_sales")
    rows = by_channel(client.get(url, {"format": "csv", "days": "60"}))
    assert rows["SHOP"]["Units ordered"] == "11"
    rows = by_channel(client.get(url, {"format": "csv", "channel": "MKT"}))
    assert list(rows) == ["MKT"]
    bad = client.get(url, {"days": "0"})
    assert "greater than or equal to 1" in text_of(bad)


@pytest.fixture
def deliveries(world):  # noqa: F811
    product = world.product("P-1")
    world.receipt_history(product, [5, 7])  # on time
    world.receipt_history(product, [9], late_days=1)  # a day late
    partial = world.purchase(product, 10)
    line = partial.lines.get()
    receipt = receiving.receive_line(line=line, quantity=4, location=world.bin)
    ReceiptLine.objects.filter(pk=receipt.pk).update(
        received_on=world.today, expected_on=world.today, lead_time_days=7
    )
    PurchaseOrderLine.objects.filter(pk=line.pk).update(
        expected_on=world.today - timedelta(days=1)
    )
    not_due = world.purchase(product, 5)
    PurchaseOrderLine.objects.filter(order=not_due).update(
        expected_on=world.today + timedelta(days=3)
    )
    return product


def test_supplier_performance_rules(client, buyer, deliveries):
    client.force_login(buyer)
    url = reverse("reports:supplier_performance")
    assert url == "/reports/supplier-performance/"
    acme = by_channel(client.get(url, {"format": "csv"}))["ACME"]
    assert acme["Receipts"] == "4"
    assert acme["On time %"] == "75.0"  # 3 of 4 received by the expected day
    assert acme["Lead time mean (days)"] == "7.0"
    assert acme["Lead time spread σ (days)"] == "1.6"  # sample sd of 5, 7, 9, 7
    assert acme["Units ordered (due)"] == "13"  # 3 received orders + the overdue 10
    assert acme["Units received"] == "7"
    assert acme["Fill rate %"] == "53.8"
    page = text_of(client.get(url))
    assert "on or before the expected day" in page
    assert "ACME" in page


def test_supplier_performance_roles_and_filters(client, clerk, buyer, deliveries, wh2):
    url = reverse("reports:supplier_performance")
    assert client.get(url).status_code == 302
    client.force_login(clerk)
    assert client.get(url).status_code == 403
    client.force_login(buyer)
    assert by_channel(client.get(url, {"format": "csv", "warehouse": "WH2"})) == {}
    assert list(by_channel(client.get(url, {"format": "csv", "warehouse": "WH1"}))) == ["ACME"]


@pytest.mark.parametrize("name", ["channel_sales", "supplier_performance"])
def test_query_count_does_not_grow_with_rows(client, manager, world, name):  # noqa: F811
    client.force_login(manager)
    url = reverse(f"reports:{name}")
    product = world.product("Q-1")
    world.stock(product, 100)
    world.receipt_history(product, [3])
    ship(world.sell(product, 1, world.today))

    def count():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    few = count()
    for index in range(5):
        channel = Channel.objects.create(code=f"C{index}", name="c")
        ChannelWarehouse.objects.create(channel=channel, warehouse=world.warehouse, priority=1)
        world.sell(product, 1, world.today, channel=channel)
    world.receipt_history(product, [4, 5, 6])
    assert count() == few
    assert few <= 12
    assert SalesOrder.objects.count() == 6
