"""Sales order pages: the list and its filters, the order page, allocate / pick / ship /
cancel as POST buttons with their permissions, refusals that show a message and change
nothing, the pick list and packing slip, dropship orders, flat query counts."""

import contextlib
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from common.testing import html_of, non_field_errors, text_of
from inventory import ledger
from inventory.models import Product, StockLevel
from inventory.tests.test_views import count_queries, input_value, table_rows
from orders.conftest import snapshot
from orders.models import (
    Allocation,
    PurchaseOrder,
    SalesOrder,
    SalesOrderEvent,
    SalesOrderLine,
)
from orders.purchasing import services as purchasing
from orders.sales import services as sales

TODAY = timezone.localdate


def all_rows() -> dict:
    rows = snapshot()
    for model in (SalesOrder, SalesOrderLine, Allocation, SalesOrderEvent):
        fields = [field.attname for field in model._meta.concrete_fields]
        rows[model.__name__] = list(model.objects.order_by("pk").values_list(*fields))
    return rows


@contextlib.contextmanager
def writes_nothing():
    before = all_rows()
    yield
    assert all_rows() == before, "a refused action changed the database"


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def clerk_client(client, clerk):
    client.force_login(clerk)
    return client


def place(channel, ref: str, lines: list[tuple[str, int]], **extra) -> SalesOrder:
    order, created = sales.create_order(
        channel=channel,
        external_ref=ref,
        customer_name=extra.pop("customer_name", "Ada Lovelace"),
        customer_email=extra.pop("customer_email", "ada@example.com"),
        shipping_address=extra.pop("shipping_address", "12 Analytical Row\nLondon"),
        lines=[{"sku": sku, "quantity": q, "unit_price": "9.90"} for sku, q in lines],
        **extra,
    )
    assert created
    return order


def stock(product, location, quantity: int, **extra):
    return ledger.receive(
        product=product, location=location, quantity=quantity, unit_cost="2.00", **extra
    )


def levels(product) -> dict[str, tuple[int, int]]:
    return {
        level.location.barcode: (level.on_hand, level.committed)
        for level in StockLevel.objects.filter(product=product).select_related("location")
    }


def make_products(count: int, locations, *, start: int = 0) -> list[str]:
    """``count`` products, every other one lot-tracked, each with 5 units in bin1."""
    skus = []
    for i in range(start, start + count):
        tracked = i % 2 == 1
        product = Product.objects.create(
            sku=f"S{i:03d}", name=f"Item {i}", tracking="lot_expiry" if tracked else "none"
        )
        extra = (
            {"lot_code": f"L{i}", "expires_on": TODAY() + timedelta(days=30 + i)}
            if tracked
            else {}
        )
        stock(product, locations["bin1" if i % 3 else "bin2"], 5, **extra)
        skus.append(product.sku)
    return skus


# --- list ----------------------------------------------------------------------------


def test_list_shows_units_allocated_and_backordered_per_order(
    clerk_client, web_store, marketplace, product, lot_product, locations
):
    stock(product, locations["bin1"], 4)
    first = place(web_store, "W-1", [("MUG-001", 3), ("TEA-100", 2)])
    second = place(marketplace, "M-1", [("MUG-001", 5)], customer_name="Grace Hopper")
    response = clerk_client.get(reverse("sales_order_list"))
    rows = {order.number: order for order in response.context["page_obj"]}
    assert (rows[first.number].line_count, rows[first.number].units) == (2, 5)
    assert (rows[first.number].units_allocated, rows[first.number].units_backordered) == (3, 2)
    assert (rows[second.number].units_allocated, rows[second.number].units_backordered) == (1, 4)
    text = text_of(response)
    assert f"{first.number} WEB W-1 Ada Lovelace Backordered 2 5 3 2 0" in text
    assert f"{second.number} MKT M-1 Grace Hopper Backordered 1 5 1 4 0" in text


def test_list_filters_by_channel_status_search_and_dates(
    clerk_client, web_store, marketplace, product, locations
):
    stock(product, locations["bin1"], 10)
    web = place(web_store, "W-7", [("MUG-001", 2)])
    old = place(web_store, "W-8", [("MUG-001", 1)], customer_name="Old Customer")
    SalesOrder.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    market = place(marketplace, "M-9", [("MUG-001", 50)], customer_email="grace@navy.example")
    url = reverse("sales_order_list")

    def numbers(**params):
        return {o.number for o in clerk_client.get(url, params).context["page_obj"]}

    assert numbers() == {web.number, old.number, market.number}
    assert numbers(channel="MKT") == {market.number}
    assert numbers(status="backordered") == {market.number}
    assert numbers(status="allocated", channel="WEB") == {web.number, old.number}
    assert numbers(q="w-7") == {web.number}
    assert numbers(q=market.number) == {market.number}
    assert numbers(q="old cust") == {old.number}
    assert numbers(q="navy.example") == {market.number}
    since = (TODAY() - timedelta(days=7)).isoformat()
    assert numbers(created_from=since) == {web.number, market.number}
    assert numbers(created_to=(TODAY() - timedelta(days=30)).isoformat()) == {old.number}


def test_list_refuses_a_bad_filter_with_a_message(clerk_client, web_store, product, locations):
    place(web_store, "W-1", [("MUG-001", 1)])
    response = clerk_client.get(reverse("sales_order_list"), {"status": "lost", "channel": "X"})
    assert table_rows(response) == 0
    text = non_field_errors(html_of(response))
    assert "Select a valid choice" in text


def test_list_refuses_dates_the_wrong_way_round(clerk_client, web_store, product, locations):
    place(web_store, "W-1", [("MUG-001", 1)])
    response = clerk_client.get(
        reverse("sales_order_list"), {"created_from": "2026-03-01", "created_to": "2026-02-01"}
    )
    assert table_rows(response) == 0
    assert "“Created from” (2026-03-01) is after “Created to” (2026-02-01)" in (
        non_field_errors(html_of(response))
    )
    assert 'value="2026-03-01"' in html_of(response)


def test_list_htmx_partial_and_pagination(clerk_client, web_store, product, locations):
    stock(product, locations["bin1"], 100)
    for i in range(55):
        place(web_store, f"P-{i:02d}", [("MUG-001", 1)])
    url = reverse("sales_order_list")
    response = clerk_client.get(url, {"q": "P-", "page": 2}, headers={"HX-Request": "true"})
    html = html_of(response)
    assert html.lstrip().startswith('<div id="results"') and "<html" not in html
    assert "HX-Request" in response.headers["Vary"]
    assert len(response.context["page_obj"]) == 5


def test_list_query_count_is_flat(
    clerk_client, web_store, marketplace, locations, django_assert_max_num_queries
):
    skus = make_products(4, locations)
    for i in range(3):
        place(web_store, f"A-{i}", [(skus[0], 1), (skus[1], 2)])
    small, _ = count_queries(clerk_client, reverse("sales_order_list"))
    for i in range(9):
        place(marketplace, f"B-{i}", [(skus[2], 1), (skus[3], 9)])
    with django_assert_max_num_queries(7):
        large, response = count_queries(clerk_client, reverse("sales_order_list"))
    assert small == large
    assert table_rows(response) == 12


def test_list_counts_nothing_backordered_for_cancelled_or_shipped_orders(
    clerk_client, web_store, product, locations
):
    cancelled = place(web_store, "W-C", [("MUG-001", 3)])
    sales.cancel_order(order=cancelled)
    stock(product, locations["bin1"], 2)
    shipped = place(web_store, "W-S", [("MUG-001", 2)])
    sales.ship_order(order=shipped)
    waiting = place(web_store, "W-W", [("MUG-001", 4)])
    response = clerk_client.get(reverse("sales_order_list"))
    rows = {order.number: order.units_backordered for order in response.context["page_obj"]}
    assert rows == {cancelled.number: 0, shipped.number: 0, waiting.number: 4}


# --- detail --------------------------------------------------------------------------


@pytest.fixture
def mixed_order(web_store, product, lot_product, dropship_supplier, locations):
    """3 × MUG-001 from bin1; 5 × TEA-100, 4 of them from two lots (SOON in bin1, LATE in
    bin2) and 1 backordered; 1 × SOFA-9 dropshipped by DROPCO (a draft dropship PO)."""
    stock(product, locations["bin1"], 5)
    stock(lot_product, locations["bin2"], 2, lot_code="LATE", expires_on=TODAY() + timedelta(90))
    stock(lot_product, locations["bin1"], 2, lot_code="SOON", expires_on=TODAY() + timedelta(20))
    return place(web_store, "MIX-1", [("MUG-001", 3), ("TEA-100", 5), ("SOFA-9", 1)])


def test_detail_shows_header_lines_allocations_dropship_and_events(clerk_client, mixed_order):
    response = clerk_client.get(mixed_order.get_absolute_url())
    text = text_of(response)
    po = PurchaseOrder.objects.get(dropship=True)
    assert "Channel WEB · Web store" in text
    assert "External reference MIX-1" in text
    assert "ada@example.com" in text and "12 Analytical Row London" in text
    assert "Backordered" in response.context["order"].get_status_display()
    assert "MUG-001 Enamel mug 3 9.90 3 0 0 — Warehouse" in text
    assert "TEA-100 Green tea 100 g 5 9.90 4 1 0 — Warehouse" in text
    assert f"SOFA-9 Sofa 1 9.90 0 0 0 — Dropship — Drop Co on {po.number}" in text
    assert f'href="{po.get_absolute_url()}"' in html_of(response)
    # Allocations by location (shown as its barcode), earliest expiry first within one place.
    assert "WH1-A-01 MUG-001 — — 3 0" in text
    assert f"WH1-A-01 TEA-100 SOON {(TODAY() + timedelta(20)).isoformat()} 2 0" in text
    assert f"WH1-A-02 TEA-100 LATE {(TODAY() + timedelta(90)).isoformat()} 2 0" in text
    assert "Open Backordered" in text  # the status history
    assert "Total 9 7 1 0" in text


def test_detail_buttons_follow_status_and_permissions(client, clerk, buyer, manager, mixed_order):
    def buttons(user):
        client.force_login(user)
        html = html_of(client.get(mixed_order.get_absolute_url()))
        return {
            name
            for name in ("allocate", "pick", "ship", "cancel")
            if reverse(f"sales_order_{name}", args=[mixed_order.number]) in html
        }

    # Backordered: a manager may allocate the rest (or cancel); nobody ships yet.
    assert buttons(manager) == {"allocate", "cancel"}
    assert buttons(clerk) == set()
    assert buttons(buyer) == set()
    SalesOrderLine.objects.filter(order=mixed_order, product__sku="TEA-100").update(quantity=4)
    SalesOrder.objects.filter(pk=mixed_order.pk).update(status="allocated")
    assert buttons(manager) == {"pick", "ship", "cancel"}
    assert buttons(clerk) == {"pick", "ship"}
    assert buttons(buyer) == set()


@pytest.mark.parametrize("status", ["allocated", "picking"])
def test_allocate_is_offered_when_reserved_stock_can_no_longer_ship(
    manager_client, web_store, lot_product, locations, status
):
    from inventory.models import Lot

    stock(lot_product, locations["bin1"], 2, lot_code="OLD", expires_on=TODAY() + timedelta(5))
    order = place(web_store, "ST-1", [("TEA-100", 2)])
    if status == "picking":
        sales.start_picking(order=order)
    allocate_url = reverse("sales_order_allocate", args=[order.number])
    assert allocate_url not in html_of(manager_client.get(order.get_absolute_url()))

    Lot.objects.filter(code="OLD").update(expires_on=TODAY() - timedelta(1))
    response = manager_client.get(order.get_absolute_url())

    assert allocate_url in html_of(response)
    assert response.context["stale_units"] == 2
    assert "2 reserved units can no longer ship" in html_of(response)
    assert "cannot ship" in html_of(response)
    with writes_nothing():
        refused = manager_client.post(reverse("sales_order_ship", args=[order.number]))
    assert "Use Allocate to replace them" in non_field_errors(html_of(refused))
    manager_client.post(allocate_url)
    order.refresh_from_db()
    assert order.status == "backordered"
    assert levels(lot_product) == {"WH1-A-01": (2, 0)}


def test_detail_query_count_is_flat(
    clerk_client, web_store, locations, dropship_supplier, django_assert_max_num_queries
):
    skus = make_products(12, locations)
    small_order = place(web_store, "Q-2", [(skus[0], 2), (skus[1], 3)])
    large_order = place(web_store, "Q-12", [(sku, 2) for sku in skus[1:]] + [("SOFA-9", 1)])
    small, _ = count_queries(clerk_client, small_order.get_absolute_url())
    with django_assert_max_num_queries(8):
        large, response = count_queries(clerk_client, large_order.get_absolute_url())
    assert small == large
    assert len(response.context["lines"]) == 12


# --- actions -------------------------------------------------------------------------


def test_manager_allocates_after_stock_arrives_then_clerk_picks_and_ships(
    client, manager, clerk, web_store, product, locations
):
    stock(product, locations["bin1"], 1)
    order = place(web_store, "FLOW-1", [("MUG-001", 3)])
    assert order.status == "backordered"
    # The receipt's re-allocation task runs on commit, which a test transaction never
    # reaches: the order still waits for the button.
    stock(product, locations["bin2"], 5)
    order.refresh_from_db()
    assert order.status == "backordered"

    client.force_login(manager)
    response = client.post(reverse("sales_order_allocate", args=[order.number]))
    assert response.status_code == 302 and response.url == order.get_absolute_url()
    order.refresh_from_db()
    assert order.status == "allocated"
    page = text_of(client.get(response.url))
    assert f"{order.number} is allocated: 3 units allocated." in page

    client.force_login(clerk)
    assert client.post(reverse("sales_order_pick", args=[order.number])).status_code == 302
    order.refresh_from_db()
    assert order.status == "picking"
    response = client.post(reverse("sales_order_ship", args=[order.number]))
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == "shipped"
    line = order.lines.get()
    assert (line.quantity_shipped, line.quantity_allocated) == (3, 0)
    assert line.cost_of_goods == Decimal("6.000000")
    assert sum(on_hand for on_hand, _ in levels(product).values()) == 3
    page = text_of(client.get(order.get_absolute_url()))
    assert "MUG-001 Enamel mug 3 9.90 0 0 3 6.00" in page
    assert "Picking Shipped" in page


def test_shipping_a_backordered_order_is_refused_with_a_message(
    clerk_client, web_store, product, locations
):
    stock(product, locations["bin1"], 1)
    order = place(web_store, "BO-1", [("MUG-001", 3)])
    with writes_nothing():
        response = clerk_client.post(reverse("sales_order_ship", args=[order.number]))
    assert response.status_code == 200
    assert "backordered: it can ship only once every line is allocated" in non_field_errors(
        html_of(response)
    )


def test_cancel_with_a_reason_releases_the_reservations(
    manager_client, web_store, product, locations
):
    stock(product, locations["bin1"], 5)
    order = place(web_store, "C-1", [("MUG-001", 4)])
    assert levels(product)["WH1-A-01"] == (5, 4)
    url = reverse("sales_order_cancel", args=[order.number])
    ask = manager_client.get(url)
    assert ask.context["form"].fields["reason"] and "Cancel the order" in text_of(ask)
    response = manager_client.post(url, {"reason": "Customer changed their mind"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert levels(product)["WH1-A-01"] == (5, 0)
    assert order.events.last().note == "Customer changed their mind"


def test_a_shipped_order_cannot_be_cancelled(manager_client, web_store, product, locations):
    stock(product, locations["bin1"], 5)
    order = place(web_store, "S-1", [("MUG-001", 2)])
    sales.ship_order(order=order)
    with writes_nothing():
        response = manager_client.post(
            reverse("sales_order_cancel", args=[order.number]), {"reason": "too late"}
        )
    assert "a shipped order cannot be cancelled" in non_field_errors(html_of(response))
    assert input_value(html_of(response), "reason") == "too late"  # the input stays


def test_clerks_cannot_allocate_or_cancel_and_buyers_cannot_ship(
    client, clerk, buyer, web_store, product, locations
):
    stock(product, locations["bin1"], 5)
    order = place(web_store, "P-1", [("MUG-001", 2)])
    with writes_nothing():
        client.force_login(clerk)
        for name in ("allocate", "cancel"):
            url = reverse(f"sales_order_{name}", args=[order.number])
            assert client.post(url, {"reason": "x"}).status_code == 403
        client.force_login(buyer)
        assert client.get(order.get_absolute_url()).status_code == 200
        for name in ("allocate", "pick", "ship", "cancel"):
            url = reverse(f"sales_order_{name}", args=[order.number])
            assert client.post(url).status_code == 403
        client.logout()
        response = client.post(reverse("sales_order_ship", args=[order.number]))
        assert response.status_code == 302 and "/login/" in response.url


# --- printable pages -----------------------------------------------------------------


def test_pick_list_sorted_by_location_lot_and_expiry_with_checkboxes(clerk_client, mixed_order):
    response = clerk_client.get(reverse("sales_order_pick_list", args=[mixed_order.number]))
    rows = [(r["path"], r["sku"], r["lot_code"], r["quantity"]) for r in response.context["rows"]]
    assert rows == [
        ("WH1/A/01", "MUG-001", "", 3),
        ("WH1/A/01", "TEA-100", "SOON", 2),
        ("WH1/A/02", "TEA-100", "LATE", 2),
    ]
    html = html_of(response)
    assert html.count('type="checkbox"') == 3
    assert "Units to pick 7" in text_of(response)
    assert "9.90" not in html  # no prices on the floor
    assert "print-page" in html and "site-header" not in html


def test_packing_slip_shows_the_address_and_what_ships_without_prices(clerk_client, mixed_order):
    url = reverse("sales_order_packing_slip", args=[mixed_order.number])
    text = text_of(clerk_client.get(url))
    assert "Ship to Ada Lovelace 12 Analytical Row London" in text
    assert "1 MUG-001 Enamel mug 3 0 3" in text
    assert "2 TEA-100 Green tea 100 g 5 0 4 1 to follow" in text
    assert "3 SOFA-9 Sofa 1 0 0 Ships separately from Drop Co" in text
    assert "9.90" not in text
    sales.allocate_order(order=mixed_order)  # nothing new: still one TEA waits
    SalesOrderLine.objects.filter(order=mixed_order, product__sku="TEA-100").update(quantity=4)
    SalesOrder.objects.filter(pk=mixed_order.pk).update(status="allocated")
    sales.ship_order(order=mixed_order)
    text = text_of(clerk_client.get(url))
    assert "1 MUG-001 Enamel mug 3 3 0" in text


def test_printable_pages_query_count_is_flat(
    clerk_client, web_store, locations, django_assert_max_num_queries
):
    skus = make_products(12, locations)
    small_order = place(web_store, "R-2", [(skus[0], 2), (skus[1], 3)])
    large_order = place(web_store, "R-12", [(sku, 2) for sku in skus])
    for name in ("sales_order_pick_list", "sales_order_packing_slip"):
        small, _ = count_queries(clerk_client, reverse(name, args=[small_order.number]))
        with django_assert_max_num_queries(6):
            large, _ = count_queries(clerk_client, reverse(name, args=[large_order.number]))
        assert small == large, name


def test_sales_pages_carry_no_inline_script_or_style(manager_client, mixed_order):
    number = mixed_order.number
    for url in [
        reverse("sales_order_list"),
        mixed_order.get_absolute_url(),
        reverse("sales_order_cancel", args=[number]),
        reverse("sales_order_allocate", args=[number]),
        reverse("sales_order_pick_list", args=[number]),
        reverse("sales_order_packing_slip", args=[number]),
    ]:
        html = html_of(manager_client.get(url))
        assert "style=" not in html and "<style" not in html, url
        assert " onclick" not in html and "hx-on" not in html, url
        for script in re.findall(r"<script[^>]*>", html):
            assert "src=" in script and "nonce=" in script, (url, script)


# --- dropship purchase orders --------------------------------------------------------


def test_dropship_po_page_says_for_whom_and_confirms_the_shipment(
    client, buyer, clerk, mixed_order, mailoutbox
):
    po = PurchaseOrder.objects.get(dropship=True)
    client.force_login(clerk)
    text = text_of(client.get(po.get_absolute_url()))
    assert f"Dropship for {mixed_order.number}, ship to Ada Lovelace 12 Analytical Row London" in (
        text.replace(" ,", ",")
    )
    assert "send it to Drop Co" in text
    html = html_of(client.get(po.get_absolute_url()))
    assert reverse("purchase_order_receive", args=[po.number]) not in html
    assert reverse("purchase_order_confirm_shipment", args=[po.number]) not in html

    purchasing.send_order(order=po, user=buyer)
    html = html_of(client.get(po.get_absolute_url()))
    assert reverse("purchase_order_receive", args=[po.number]) not in html
    url = reverse("purchase_order_confirm_shipment", args=[po.number])
    assert f'action="{url}"' in html

    with writes_nothing():
        response = client.post(url, {"tracking_number": "  ", "carrier": "DHL"})
    assert "Enter the tracking number" in html_of(response)
    assert 'value="DHL"' in html_of(response)

    response = client.post(url, {"tracking_number": "1Z999", "carrier": "UPS"})
    assert response.status_code == 302
    po.refresh_from_db()
    assert (po.tracking_number, po.carrier, po.status) == ("1Z999", "UPS", "received")
    sofa = mixed_order.lines.get(product__sku="SOFA-9")
    assert (sofa.quantity_shipped, sofa.cost_of_goods) == (1, Decimal("120.000000"))
    page = text_of(client.get(po.get_absolute_url()))
    assert "tracking 1Z999" in page and "Confirm the supplier's shipment" not in page
    so_page = text_of(client.get(mixed_order.get_absolute_url()))
    assert "tracking 1Z999" in so_page

    # Confirming again is not possible and writes nothing.
    with writes_nothing():
        again = client.post(url, {"tracking_number": "X2"})
    assert "no shipment left to confirm" in text_of(again)


def test_a_dropship_order_is_never_received(clerk_client, buyer, mixed_order):
    po = PurchaseOrder.objects.get(dropship=True)
    purchasing.send_order(order=po, user=buyer)
    line = po.lines.get()
    with writes_nothing():
        response = clerk_client.post(
            reverse("purchase_order_receive", args=[po.number]),
            {f"line-{line.pk}-quantity": "1", f"line-{line.pk}-location": "WH1-A-01"},
        )
    assert response.status_code == 302 and response.url == po.get_absolute_url()
    assert "is a dropship order" in text_of(clerk_client.get(response.url))


def test_confirming_a_warehouse_po_or_by_a_buyer_is_refused(
    client, buyer, clerk, sent_order, mixed_order
):
    url = reverse("purchase_order_confirm_shipment", args=[sent_order.number])
    client.force_login(clerk)
    with writes_nothing():
        response = client.post(url, {"tracking_number": "1Z"})
    assert "is not a dropship order" in text_of(response)
    client.force_login(buyer)
    po = PurchaseOrder.objects.get(dropship=True)
    dropship_url = reverse("purchase_order_confirm_shipment", args=[po.number])
    assert client.post(dropship_url, {"tracking_number": "1Z"}).status_code == 403


# --- admin ---------------------------------------------------------------------------


def test_sales_order_admin_query_counts_are_flat(
    manager_client, web_store, marketplace, locations, dropship_supplier
):
    skus = make_products(12, locations)
    small_order = place(web_store, "AD-2", [(skus[0], 1), (skus[1], 1)])
    changelist = reverse("admin:orders_salesorder_changelist")
    few, _ = count_queries(manager_client, changelist)
    small, _ = count_queries(
        manager_client, reverse("admin:orders_salesorder_change", args=[small_order.pk])
    )
    large_order = place(marketplace, "AD-12", [(sku, 1) for sku in skus[1:]] + [("SOFA-9", 1)])
    for i in range(6):
        place(web_store, f"AD-X{i}", [(skus[i], 1)])
    many, _ = count_queries(manager_client, changelist)
    large, response = count_queries(
        manager_client, reverse("admin:orders_salesorder_change", args=[large_order.pk])
    )
    assert few == many == 9
    assert small == large == 9
    assert "WH1-A-01" in response.text and "S011" in response.text
