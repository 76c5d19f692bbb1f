"""The New sales order page: a phone or counter order goes through the API's service
(allocated, backordered and dropshipped the same way), every refusal shows on the form
with what was typed, a double submit enters one order, only managers may use it."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from common.testing import field_error, html_of, non_field_errors, text_of
from inventory.models import Product
from orders.models import Channel, ChannelWarehouse, PurchaseOrder, SalesOrder
from orders.sales.tests.test_sales_views import stock, writes_nothing

URL = "/sales-orders/new/"


@pytest.fixture
def counter(warehouse, locations, second_warehouse):
    """Channel POS selling from WH1 only."""
    channel = Channel.objects.create(code="POS", name="Shop counter", kind=Channel.Kind.POS)
    ChannelWarehouse.objects.create(channel=channel, warehouse=warehouse, priority=1)
    return channel


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def reference_of(response) -> str:
    return re.search(r'name="reference" value="([^"]*)"', html_of(response)).group(1)


def order_data(reference: str, lines=(), **fields) -> dict:
    data = {
        "channel": "POS",
        "customer_name": "Ada Lovelace",
        "customer_email": "ada@example.com",
        "shipping_address": "12 Analytical Row\nLondon",
        "reference": reference,
        "line-TOTAL_FORMS": "5",
        "line-INITIAL_FORMS": "0",
        "line-MIN_NUM_FORMS": "0",
        "line-MAX_NUM_FORMS": "5",
    }
    data.update(fields)
    for index, (sku, quantity, price) in enumerate(lines):
        data[f"line-{index}-product"] = sku
        data[f"line-{index}-quantity"] = quantity
        data[f"line-{index}-unit_price"] = price
    return data


def test_the_url_is_the_one_the_list_links_to(manager_client):
    assert reverse("sales_order_create") == URL
    assert f'href="{URL}"' in html_of(manager_client.get(reverse("sales_order_list")))


def test_the_page_offers_active_channels_and_five_empty_lines(
    manager_client, counter, web_store, django_assert_max_num_queries
):
    Channel.objects.create(code="OLD", name="Closed shop", active=False)
    with django_assert_max_num_queries(6):
        response = manager_client.get(URL)
    html = html_of(response)
    channels = re.findall(r'<option value="(\w+)"', html)
    assert channels == ["POS", "WEB"]
    assert html.count('name="line-') == 5 * 3 + 4  # three fields a row, the management form
    assert re.fullmatch(r"[0-9A-F]{12}", reference_of(response))
    assert "Reference" not in text_of(response)
    assert "style=" not in html and "<script>" not in html


def test_the_page_query_count_does_not_grow_with_channels(manager_client, counter):
    from inventory.tests.test_views import count_queries

    few, _ = count_queries(manager_client, URL)
    for i in range(12):
        Channel.objects.create(code=f"C{i:02d}", name=f"Channel {i}")
    many, response = count_queries(manager_client, URL)
    assert few == many
    assert len(re.findall(r"<option ", html_of(response))) == 13


def test_manual_order_is_allocated_backordered_and_dropshipped_like_an_api_order(
    manager_client,
    manager,
    counter,
    product,
    lot_product,
    dropship_supplier,
    locations,
    second_warehouse,
):
    stock(product, locations["bin1"], 2)
    reference = reference_of(manager_client.get(URL))
    data = order_data(
        reference,
        [("MUG-001", "2", ""), ("TEA-100", "3", "5.00"), ("SOFA-9", "1", "")],
        customer_email=" ada@example.com ",
    )

    response = manager_client.post(URL, data)

    order = SalesOrder.objects.get()
    assert response.status_code == 302 and response.url == order.get_absolute_url()
    assert order.external_ref == f"MANUAL-{reference}"
    assert (order.channel, order.status, order.customer_email) == (
        counter,
        "backordered",
        "ada@example.com",
    )
    lines = {line.product.sku: line for line in order.lines.select_related("product")}
    assert (lines["MUG-001"].quantity_allocated, lines["MUG-001"].unit_price) == (
        2,
        Decimal("9.90"),  # the product's sell price
    )
    assert (lines["TEA-100"].quantity_backordered, lines["TEA-100"].unit_price) == (
        3,
        Decimal("5.00"),
    )
    assert lines["SOFA-9"].dropship and lines["SOFA-9"].unit_price == Decimal("0.00")
    po = PurchaseOrder.objects.get(dropship=True)
    assert po.sales_order == order
    assert order.events.first().user == manager

    html = html_of(manager_client.get(response.url))
    message = re.search(r'<li class="message message-(\w+)">(.*?)</li>', html, re.S)
    assert message.group(1) == "warning"
    assert message.group(2) == (
        f"{order.number} entered and backordered: 2 units allocated, 3 units wait for stock, "
        "1 unit to be shipped by the dropship supplier. "
        "None of TEA-100 is free anywhere and none is on order."
    )


def test_a_fully_allocated_order_says_so_in_a_success_message(
    manager_client, counter, product, locations
):
    stock(product, locations["bin1"], 1)
    response = manager_client.post(URL, order_data("A" * 12, [("mug-001", "1", "")]))
    order = SalesOrder.objects.get()
    assert order.status == "allocated"
    html = html_of(manager_client.get(response.url))
    assert (
        f'<li class="message message-success">{order.number} entered and allocated: '
        "1 unit allocated.</li>"
    ) in html


def test_submitting_the_same_page_twice_enters_one_order(manager_client, counter, product):
    data = order_data("B" * 12, [("MUG-001", "1", "9.90")])
    first = manager_client.post(URL, data)
    with writes_nothing():
        second = manager_client.post(URL, data)
    order = SalesOrder.objects.get()
    assert first.url == second.url == order.get_absolute_url()
    assert "already entered as " + order.number in text_of(manager_client.get(second.url))


def test_a_used_reference_with_other_contents_is_refused_and_replaced(
    manager_client, counter, product
):
    manager_client.post(URL, order_data("C" * 12, [("MUG-001", "1", "9.90")]))
    with writes_nothing():
        response = manager_client.post(URL, order_data("C" * 12, [("MUG-001", "2", "9.90")]))
    assert "is already used by" in non_field_errors(html_of(response))
    assert reference_of(response) != "C" * 12
    assert re.search(r'name="line-0-quantity" value="2"', html_of(response))
    again = manager_client.post(
        URL, order_data(reference_of(response), [("MUG-001", "2", "9.90")])
    )
    assert again.status_code == 302 and SalesOrder.objects.count() == 2


def test_a_missing_or_forged_reference_is_refused_with_a_new_one(manager_client, counter, product):
    for forged in ("", "x" * 12, "' OR 1=1"):
        with writes_nothing():
            response = manager_client.post(URL, order_data(forged, [("MUG-001", "1", "")]))
        assert "out of date" in non_field_errors(html_of(response))
        assert re.fullmatch(r"[0-9A-F]{12}", reference_of(response))
        assert 'value="MUG-001"' in html_of(response)


@pytest.fixture
def inactive_product(db):
    return Product.objects.create(sku="OLD-1", name="Old thing", active=False)


@pytest.fixture
def unsupplied_dropship(db):
    return Product.objects.create(sku="DS-NONE", name="Nobody ships it", fulfilment="dropship")


@pytest.mark.parametrize(
    ("lines", "fields", "where", "message"),
    [
        (
            [("NOPE-1", "1", "")],
            {},
            "id_line-0-product",
            "No product has the SKU, GTIN or barcode “NOPE-1”",
        ),
        ([("MUG-001", "1", ""), ("OLD-1", "1", "")], {}, "id_line-1-product", "no longer sold"),
        ([("DS-NONE", "1", "")], {}, "id_line-0-product", "no active supplier dropships it"),
        ([("MUG-001", "0", "")], {}, "id_line-0-quantity", "must be at least 1 (got 0)"),
        ([("MUG-001", "-3", "")], {}, "id_line-0-quantity", "must be at least 1 (got -3)"),
        ([("MUG-001", "2000000", "")], {}, "id_line-0-quantity", "more than one line may"),
        ([("MUG-001", "two", "")], {}, "id_line-0-quantity", "Enter a whole number"),
        ([("MUG-001", "1", "-1")], {}, "id_line-0-unit_price", "cannot be negative"),
        ([("MUG-001", "1", "1.234")], {}, "id_line-0-unit_price", "more than 2 decimal places"),
        ([("MUG-001", "1", "abc")], {}, "id_line-0-unit_price", "Enter an amount like 9.90"),
        ([("MUG-001", "", "")], {}, "id_line-0-quantity", "Enter a quantity"),
        ([("", "2", "")], {}, "id_line-0-product", "Enter the product's SKU"),
        ([], {}, None, "The order needs at least one line."),
        ([("MUG-001", "1", "")], {"channel": "BARE"}, "id_channel", "sells from no warehouse"),
        ([("MUG-001", "1", "")], {"channel": "GONE"}, "id_channel", "Choose an active channel"),
        (
            [("MUG-001", "1", "")],
            {"customer_email": "not-an-address"},
            "id_customer_email",
            "“not-an-address” is not an email address",
        ),
        ([("MUG-001", "1", "")], {"customer_name": "  "}, "id_customer_name", "customer's name"),
        (
            [("MUG-001", "1", "")],
            {"shipping_address": "x" * 2001},
            "id_shipping_address",
            "at most 2000 characters",
        ),
    ],
)
def test_each_refusal_shows_on_the_form_keeps_what_was_typed_and_writes_nothing(
    manager_client,
    counter,
    product,
    inactive_product,
    unsupplied_dropship,
    dropship_supplier,
    lines,
    fields,
    where,
    message,
):
    Channel.objects.create(code="BARE", name="No warehouse")
    Channel.objects.create(code="GONE", name="Closed", active=False)
    data = order_data("D" * 12, lines, **{"customer_name": "Grace Hopper", **fields})
    with writes_nothing():
        response = manager_client.post(URL, data)
    assert response.status_code == 200
    html = html_of(response)
    shown = field_error(html, where) if where else non_field_errors(html)
    assert message in shown, shown
    for index, (sku, quantity, price) in enumerate(lines):
        for name, value in (("product", sku), ("quantity", quantity), ("unit_price", price)):
            if value:
                assert re.search(rf'name="line-{index}-{name}" value="{re.escape(value)}"', html)
    if "customer_name" not in fields:
        assert 'value="Grace Hopper"' in html
    assert reference_of(response) == "D" * 12  # a refusal keeps the page's reference


def test_clerks_and_buyers_may_not_enter_orders(client, clerk, buyer, counter, product):
    for user in (clerk, buyer):
        client.force_login(user)
        assert client.get(URL).status_code == 403
        with writes_nothing():
            response = client.post(URL, order_data("E" * 12, [("MUG-001", "1", "")]))
        assert response.status_code == 403
        assert f'href="{URL}"' not in html_of(client.get(reverse("sales_order_list")))
    client.logout()
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response.url
