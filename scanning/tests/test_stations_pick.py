"""Pick station: order → location → item (allocated lot) → quantity → next; then it can ship."""

from datetime import date
from decimal import Decimal

import pytest

from inventory import ledger
from inventory.models import Lot
from orders.models import Channel, ChannelWarehouse, SalesOrder
from orders.sales import services as sales
from scanning.models import StationSession


@pytest.fixture
def order(warehouse, locations, product, lot_product):
    ledger.receive(product=product, location=locations["bin1"], quantity=10, unit_cost=1)
    for code, month in (("L1", 5), ("L2", 9)):
        ledger.receive(
            product=lot_product,
            location=locations["bin2"],
            quantity=3,
            unit_cost=1,
            lot_code=code,
            expires_on=date(2031, month, 1),
        )
    channel = Channel.objects.create(code="WEB", name="Web", kind=Channel.Kind.WEB_STORE)
    ChannelWarehouse.objects.create(channel=channel, warehouse=warehouse, priority=1)
    order, _ = sales.create_order(
        channel=channel,
        external_ref="WEB-1001",
        customer_name="Ada",
        shipping_address="12 Row",
        lines=[
            {"sku": "MUG-001", "quantity": 2, "unit_price": Decimal("9.90")},
            {"sku": "TEA-100", "quantity": 2, "unit_price": Decimal("4.50")},
        ],
    )
    assert order.status == SalesOrder.Status.ALLOCATED
    return order


def state(user) -> dict:
    return StationSession.objects.get(user=user, station="pick").state


@pytest.mark.parametrize("htmx", [True, False])
def test_happy_path_until_it_can_ship(client, clerk, scan, order, htmx):
    client.force_login(clerk)
    html = scan("pick", "WEB-1001", htmx=htmx).content.decode()
    assert f"Picking {order.number}: 2 line(s)." in html
    assert "Go to WH1-A-01 and scan it." in html
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.PICKING
    for code in ("WH1-A-01", "MUG-001", "MUG-001", "WH1-A-02", "L1", "L1"):
        assert "scan-ok" in scan("pick", code, htmx=htmx).content.decode(), code
    html = scan("pick", "WH1-A-02", htmx=htmx).content.decode()
    assert f"All picked: {order.number} can ship." in html


def test_typed_quantity_sets_the_picked_count(client, clerk, scan, order):
    client.force_login(clerk)
    for code in ("WEB-1001", "WH1-A-01", "MUG-001", "2"):
        html = scan("pick", code).content.decode()
    assert "MUG-001 Enamel mug: done. Next: TEA-100" in html


def refused(html: str, words: str, user, picked=0):
    assert "scan-error" in html and words in html, html
    assert state(user)["rows"][0]["picked"] == picked


def test_wrong_location_is_refused(client, clerk, scan, order):
    client.force_login(clerk)
    scan("pick", order.number)
    refused(scan("pick", "WH1-A-02").content.decode(), "Wrong location: go to WH1-A-01", clerk)


def test_item_before_location_is_refused(client, clerk, scan, order):
    client.force_login(clerk)
    scan("pick", order.number)
    refused(scan("pick", "MUG-001").content.decode(), "Scan WH1-A-01 first.", clerk)


def test_wrong_item_and_too_many_are_refused(client, clerk, scan, order):
    client.force_login(clerk)
    for code in (order.number, "WH1-A-01", "MUG-001"):
        scan("pick", code)
    refused(scan("pick", "TEA-100").content.decode(), "pick MUG-001", clerk, picked=1)
    refused(scan("pick", "3").content.decode(), "Only 2 ×", clerk, picked=1)


def test_another_lot_than_allocated_is_refused(client, clerk, scan, order):
    allocated = order.lines.get(product__sku="TEA-100").allocations.get().lot.code
    other = Lot.objects.exclude(code=allocated).get().code
    client.force_login(clerk)
    for code in (order.number, "WH1-A-01", "2", "WH1-A-02"):
        scan("pick", code)
    html = scan("pick", other).content.decode()
    assert "scan-error" in html and "is not allocated to this order" in html
    assert "scan-error" in scan("pick", "TEA-100").content.decode()
    assert state(clerk)["rows"][1]["picked"] == 0


def test_unallocated_order_is_refused(client, clerk, scan, order):
    sales.cancel_order(order=order)
    client.force_login(clerk)
    html = scan("pick", order.number).content.decode()
    assert "only an allocated order can be picked" in html


def test_buyer_cannot_pick(client, buyer):
    from django.urls import reverse

    client.force_login(buyer)
    assert client.get(reverse("scan_station", args=["pick"])).status_code == 403


def test_same_scan_id_counts_once(client, clerk, scan, order):
    client.force_login(clerk)
    scan("pick", order.number)
    scan("pick", "WH1-A-01")
    scan("pick", "MUG-001", scan_id="p-1")
    scan("pick", "MUG-001", scan_id="p-1")
    assert state(clerk)["rows"][0]["picked"] == 1


def test_query_count_per_scan(client, clerk, scan, order, django_assert_max_num_queries):
    client.force_login(clerk)
    with django_assert_max_num_queries(23):
        scan("pick", order.number)
    with django_assert_max_num_queries(12):
        scan("pick", "WH1-A-01")
    with django_assert_max_num_queries(12):
        scan("pick", "MUG-001")
