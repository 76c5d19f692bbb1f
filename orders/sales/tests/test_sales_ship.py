"""The Ship page asks for the carrier and tracking number and confirms what leaves; an
allocation that leaves units waiting says why, as a warning; wording of sales pages."""

import re

import pytest
from django.urls import reverse

from common.testing import field_error, html_of, text_of
from orders.models import Channel, ChannelWarehouse, SalesOrder
from orders.sales import errors
from orders.sales import services as sales
from orders.sales.tests.test_sales_views import all_rows, place, stock, writes_nothing

LONG_TRACKING = "1Z" + "9" * 99  # 101 characters


@pytest.fixture
def clerk_client(client, clerk):
    client.force_login(clerk)
    return client


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def allocated(web_store, product, locations, second_warehouse):
    stock(product, locations["bin1"], 1)
    stock(product, second_warehouse.bin, 2)
    return place(web_store, "SHIP-1", [("MUG-001", 3)])


# --- ship ----------------------------------------------------------------------------


def test_ship_asks_for_carrier_and_tracking_and_confirms_what_leaves(clerk_client, allocated):
    detail = html_of(clerk_client.get(allocated.get_absolute_url()))
    url = reverse("sales_order_ship", args=[allocated.number])
    # The order page links to the question; it no longer ships on one click.
    assert f'href="{url}"' in detail and f'action="{url}"' not in detail

    with writes_nothing():
        ask = clerk_client.get(url)
    text = text_of(ask)
    assert f"Ship {allocated.number}: 1 unit from WH1 and 2 units from WH2" in text
    html = html_of(ask)
    assert 'name="carrier"' in html and 'maxlength="64"' in html
    assert 'name="tracking_number"' in html and 'maxlength="100"' in html
    assert re.search(r'<button type="submit" class="primary">Ship</button>', html)
    assert f'<span class="doc-number">{allocated.number}</span>' in html


def test_shipping_stores_carrier_tracking_and_time_and_shows_them(clerk_client, allocated):
    url = reverse("sales_order_ship", args=[allocated.number])
    response = clerk_client.post(url, {"carrier": "  DHL ", "tracking_number": " 1Z999 "})
    assert response.status_code == 302 and response.url == allocated.get_absolute_url()
    allocated.refresh_from_db()
    assert (allocated.status, allocated.carrier, allocated.tracking_number) == (
        "shipped",
        "DHL",
        "1Z999",
    )
    assert allocated.shipped_at is not None
    event = allocated.events.last()
    assert event.note == "Shipped 3 units via DHL, tracking 1Z999"

    page = text_of(clerk_client.get(response.url))
    assert f"{allocated.number} shipped: 1 unit from WH1 and 2 units from WH2 via DHL, " in page
    assert "tracking 1Z999." in page
    assert "it is now shipped" not in page
    assert "Carrier DHL" in page and "Tracking number 1Z999" in page
    slip = text_of(clerk_client.get(reverse("sales_order_packing_slip", args=[allocated.number])))
    assert "Carrier DHL" in slip and "Tracking 1Z999" in slip


def test_shipping_without_carrier_or_tracking_is_allowed(clerk_client, allocated):
    response = clerk_client.post(reverse("sales_order_ship", args=[allocated.number]))
    assert response.status_code == 302
    allocated.refresh_from_db()
    assert (allocated.status, allocated.carrier, allocated.tracking_number) == ("shipped", "", "")
    assert allocated.events.last().note == "Shipped 3 units"
    page = text_of(clerk_client.get(response.url))
    assert f"{allocated.number} shipped: 1 unit from WH1 and 2 units from WH2." in page
    assert "Tracking number" not in page


def test_an_overlong_carrier_or_tracking_number_ships_nothing(clerk_client, allocated):
    url = reverse("sales_order_ship", args=[allocated.number])
    with writes_nothing():
        response = clerk_client.post(url, {"carrier": "DHL", "tracking_number": LONG_TRACKING})
    assert response.status_code == 200
    html = html_of(response)
    assert "at most 100 characters" in field_error(html, "id_tracking_number")
    assert 'value="DHL"' in html  # what was typed stays
    with writes_nothing():
        response = clerk_client.post(url, {"carrier": "C" * 65})
    assert "at most 64 characters" in field_error(html_of(response), "id_carrier")


def test_the_service_refuses_overlong_values_and_keeps_its_contract(refused, allocated):
    before = all_rows()
    with pytest.raises(errors.InvalidOrder) as caught:
        sales.ship_order(order=allocated, tracking_number=LONG_TRACKING)
    assert caught.value.field == "tracking_number"
    assert "at most 100 characters (got 101)" in caught.value.message
    with pytest.raises(errors.InvalidOrder) as caught:
        sales.ship_order(order=allocated, carrier=["DHL"])
    assert caught.value.field == "carrier"
    assert all_rows() == before
    # The old call, without the new keywords, still ships.
    order = sales.ship_order(order=allocated)
    assert (order.status, order.carrier, order.tracking_number) == ("shipped", "", "")


def test_a_refused_shipment_keeps_what_was_typed(clerk_client, web_store, product, locations):
    stock(product, locations["bin1"], 1)
    order = place(web_store, "BO-1", [("MUG-001", 3)])
    with writes_nothing():
        response = clerk_client.post(
            reverse("sales_order_ship", args=[order.number]),
            {"carrier": "UPS", "tracking_number": "1Z5"},
        )
    html = html_of(response)
    assert "it can ship only once every line is allocated" in html
    assert 'value="UPS"' in html and 'value="1Z5"' in html


def test_shipping_the_warehouse_part_of_a_dropship_order_says_it_stays_open(
    clerk_client, web_store, product, locations, dropship_supplier
):
    stock(product, locations["bin1"], 2)
    order = place(web_store, "DS-1", [("MUG-001", 2), ("SOFA-9", 1)])
    response = clerk_client.post(
        reverse("sales_order_ship", args=[order.number]), {"tracking_number": "T-1"}
    )
    order.refresh_from_db()
    assert order.status == "allocated" and order.tracking_number == "T-1"
    assert order.shipped_at is not None
    page = text_of(clerk_client.get(response.url))
    assert (
        f"{order.number} shipped: 2 units from WH1, tracking T-1. "
        "It stays allocated until its dropship lines ship."
    ) in page


def test_admin_shows_carrier_and_tracking(manager_client, allocated):
    sales.ship_order(order=allocated, carrier="DHL", tracking_number="1Z999")
    html = html_of(
        manager_client.get(reverse("admin:orders_salesorder_change", args=[allocated.pk]))
    )
    assert "Carrier" in html and "DHL" in html and "1Z999" in html
    found = manager_client.get(reverse("admin:orders_salesorder_changelist"), {"q": "1Z999"})
    assert allocated.number in html_of(found)


# --- allocate ------------------------------------------------------------------------


def test_allocating_an_order_that_stays_backordered_warns_why(
    manager_client, product, warehouse, locations, second_warehouse
):
    counter = Channel.objects.create(code="POS", name="Shop counter", kind=Channel.Kind.POS)
    ChannelWarehouse.objects.create(channel=counter, warehouse=warehouse, priority=1)
    order = place(counter, "POS-1", [("MUG-001", 4)])
    stock(product, locations["bin1"], 1)
    stock(product, second_warehouse.bin, 719)

    response = manager_client.post(reverse("sales_order_allocate", args=[order.number]))

    assert response.status_code == 302
    html = html_of(manager_client.get(response.url))
    message = re.search(r'<li class="message message-(\w+)">(.*?)</li>', html, re.S)
    assert message.group(1) == "warning"
    assert message.group(2) == (
        f"{order.number} is backordered: 1 unit allocated, 3 units wait for stock. "
        "POS sells from WH1 only; 719 free units of MUG-001 are in WH2."
    )


def test_allocating_in_full_is_a_success(manager_client, web_store, product, locations):
    order = place(web_store, "W-1", [("MUG-001", 1)])
    stock(product, locations["bin1"], 1)
    response = manager_client.post(reverse("sales_order_allocate", args=[order.number]))
    html = html_of(manager_client.get(response.url))
    assert (
        f'<li class="message message-success">{order.number} is allocated: 1 unit allocated.</li>'
        in html
    )


# --- wording -------------------------------------------------------------------------


def test_order_numbers_do_not_break(clerk_client, allocated):
    number = allocated.number
    pages = {
        "list": reverse("sales_order_list"),
        "detail": allocated.get_absolute_url(),
        "pick list": reverse("sales_order_pick_list", args=[number]),
        "packing slip": reverse("sales_order_packing_slip", args=[number]),
        "ship": reverse("sales_order_ship", args=[number]),
    }
    for name, url in pages.items():
        html = html_of(clerk_client.get(url))
        shown = re.findall(rf"<[^<>]*>{number}<", html)
        assert shown, name
        for tag in shown:
            assert 'class="doc-number"' in tag, (name, tag)


def test_status_history_says_one_unit(clerk_client, web_store, product, locations):
    stock(product, locations["bin1"], 1)
    order = place(web_store, "ONE", [("MUG-001", 1)])
    sales.ship_order(order=order)
    text = text_of(clerk_client.get(order.get_absolute_url()))
    assert "Allocated 1 unit 20" in text and text.endswith("Shipped 1 unit")
    assert "1 units" not in text
    assert SalesOrder.objects.get(pk=order.pk).status == "shipped"
