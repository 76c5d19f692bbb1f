"""Every page needs login and a permission: walk all URL patterns, try each kind of user.

The walk starts at the root resolver, so a page added later is covered without
touching this file — unless its URL takes a parameter nobody has given a value
for (add it to ``url_kwargs``) or it is a buyer/manager-only page (add its name
to ``CLERK_FORBIDDEN``); the test says so when either is missing.
"""

import re
from datetime import date
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from inventory import ledger
from inventory.models import ProductImport

# Pages that change purchasing data: buyers and managers only.
BUYING_PAGES = {
    "supplier_create",
    "supplier_edit",
    "supplier_product_add",
    "supplier_product_edit",
    "purchase_order_create",
    "purchase_order_line_add",
    "purchase_order_line_edit",
    "purchase_order_line_remove",
    "purchase_order_send",
    "purchase_order_mark_sent",
    "purchase_order_resend",
    "purchase_order_cancel",
    "purchase_order_close",
}
# Pages that change channels or show their secrets, enter, allocate or cancel sales
# orders: managers.
SALES_MANAGING_PAGES = {
    "channel_create",
    "channel_edit",
    "channel_token",
    "channel_webhook_secret",
    "sales_order_create",
    "sales_order_allocate",
    "sales_order_cancel",
}
# Pages that pick and ship sales orders (clerks and managers).
SHIPPING_PAGES = {
    "sales_order_pick",
    "sales_order_ship",
    "purchase_order_confirm_shipment",
}
# Pages that create, change or import products: buyers and managers.
CATALOG_PAGES = {"product_create", "product_edit", "product_import", "product_import_status"}
# Replenishment: buyers and managers plan; clerks do not.
PLANNING_PAGES = {
    "planning:replenishment",
    "planning:create_drafts",
    "planning:drafts_created",
    "planning:product",
    "planning:policy",
    "planning:advisor",
    "planning:apply_advice",
    "planning:demand_chart",
}
# Reports (planning/reports): buyers see units; values and margins are managers'.
BUYER_REPORTS = {"reports:low_stock", "reports:stockouts", "reports:supplier_performance"}
MANAGER_REPORTS = {
    "reports:overstock",
    "reports:slow_movers",
    "reports:expiring",
    "reports:abc_xyz",
    "reports:turnover",
    "reports:channel_sales",
}
# Pages a clerk may not open; every other page is one a clerk may view.
CLERK_FORBIDDEN = {
    *PLANNING_PAGES,
    *BUYER_REPORTS,
    *MANAGER_REPORTS,
    "adjust_stock",
    "planning:cycle_counts",  # managers schedule counts (inventory.adjust_stock)
    *CATALOG_PAGES,
    "valuation_report",
    *BUYING_PAGES,
    *SALES_MANAGING_PAGES,
}
# Pages a buyer may not open: stock changes, receiving and shipping (a clerk's job),
# valuation, and changing channels or sales orders (buyers only view those).
BUYER_FORBIDDEN = {
    "adjust_stock",
    "transfer_stock",
    "valuation_report",
    *MANAGER_REPORTS,
    "planning:cycle_counts",
    "purchase_order_receive",
    "scan_station",  # tried with the put-away station (kind "putaway")
    "scan_count_list",
    *SALES_MANAGING_PAGES,
    *SHIPPING_PAGES,
}

SKIP_PREFIXES = ("admin/", "api/", "static/", "media/", "__")
SKIP_NAMES = {"healthz", "favicon", "login", "logout"}  # public on purpose
ROUTE_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")
REGEX_PARAM = re.compile(r"\(\?P<(\w+)>")


def walk(patterns=None, prefix="", namespace=""):
    """Yield (name, route, kwarg names) for every URL pattern under the root resolver."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry.url_patterns, route, inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name}" if entry.name else None
            yield name, route


def staff_pages():
    pages = []
    for name, route in walk():
        bare = route.lstrip("^")
        if bare.startswith(SKIP_PREFIXES) or (name or "").split(":")[-1] in SKIP_NAMES:
            continue
        pages.append((name, route))
    return pages


PAGES = staff_pages()


@pytest.fixture
def url_kwargs(locations, product, lot_product):
    """Values for every URL parameter, from real rows."""
    from orders.models import Channel, ChannelWarehouse, Supplier, SupplierProduct
    from orders.purchasing import services as purchasing
    from orders.sales import services as sales

    ledger.receive(product=product, location=locations["bin1"], quantity=3, unit_cost=1)
    lot_move = ledger.receive(
        product=lot_product,
        location=locations["bin1"],
        quantity=2,
        unit_cost=1,
        lot_code="L1",
        expires_on=date(2031, 1, 31),
    )
    channel = Channel.objects.create(code="WEB", name="Web store")
    ChannelWarehouse.objects.create(channel=channel, warehouse=locations["zone"].warehouse)
    # Allocated: every sales order page (pick list, ship, cancel) opens for it.
    sales_order, _ = sales.create_order(
        channel=channel,
        external_ref="W-1",
        customer_name="Ada",
        shipping_address="1 Main St",
        lines=[{"sku": product.sku, "quantity": 2, "unit_price": "9.90"}],
    )
    supplier = Supplier.objects.create(code="ACME", name="Acme", email="po@acme.example")
    item = SupplierProduct.objects.create(supplier=supplier, product=product, unit_cost=2)
    # A draft: every purchase order page, its line pages included, opens for it.
    order = purchasing.create_order(supplier=supplier, warehouse=locations["zone"].warehouse)
    line = purchasing.set_line(order=order, product=product, quantity=4)
    upload = ProductImport.objects.create(file_name="products.csv", size=10)
    return {
        "sku": product.sku,
        "code": locations["zone"].warehouse.code,
        "barcode": locations["bin1"].barcode,
        "supplier_code": supplier.code,
        "supplier_product_id": item.pk,
        "number": order.number,
        "line_id": line.pk,
        "channel_code": channel.code,
        "so_number": sales_order.number,
        "lot_id": lot_move.lot_id,
        "tracked_sku": lot_product.sku,
        "kind": "putaway",
        "import_id": upload.pk,
    }


def build_url(name, route, url_kwargs):
    assert name, f"URL pattern {route!r} has no name: name every page so it can be reversed."
    params = set(ROUTE_PARAM.findall(route)) | set(REGEX_PARAM.findall(route))
    missing = params - set(url_kwargs)
    assert not missing, (
        f"{name}: no test value for URL parameter(s) {sorted(missing)}; add them to url_kwargs."
    )
    return reverse(name, kwargs={key: url_kwargs[key] for key in params})


@pytest.fixture
def nobody(db, django_user_model):
    return django_user_model.objects.create_user(username="nobody", password="x-for-tests")


def test_the_walk_finds_the_staff_pages():
    names = {name for name, _ in PAGES}
    assert {
        "dashboard",
        "product_list",
        "product_detail",
        "stock_list",
        "warehouse_list",
        "warehouse_detail",
        "location_detail",
        "adjust_stock",
        "transfer_stock",
        "supplier_list",
        "supplier_detail",
        "purchase_order_list",
        "purchase_order_detail",
        "purchase_order_receive",
        "purchase_order_pdf",
        *BUYING_PAGES,
        "channel_list",
        "channel_detail",
        "sales_order_list",
        "sales_order_detail",
        "sales_order_pick_list",
        "sales_order_packing_slip",
        *SALES_MANAGING_PAGES,
        *SHIPPING_PAGES,
    } <= names
    assert not any(name and name.startswith("admin:") for name in names)


def test_roles_hold_the_permissions_the_pages_check(db):
    manager = set(Group.objects.get(name="manager").permissions.values_list("codename", flat=True))
    clerk = set(Group.objects.get(name="clerk").permissions.values_list("codename", flat=True))
    assert {"adjust_stock", "transfer_stock"} <= manager
    assert {"view_product", "view_stocklevel", "view_warehouse", "view_location"} <= clerk
    # Clerks put away what they receive (a transfer); adjustments stay with managers.
    assert "transfer_stock" in clerk
    assert "adjust_stock" not in clerk


@pytest.mark.parametrize(("name", "route"), PAGES, ids=[str(n) for n, _ in PAGES])
def test_anonymous_user_is_sent_to_login(client, url_kwargs, name, route):
    url = build_url(name, route, url_kwargs)
    response = client.get(url)
    assert response.status_code == 302, url
    target = urlsplit(response.url)
    assert target.path == reverse(settings.LOGIN_URL), url
    assert f"next={url}" in response.url.replace("%2F", "/")


@pytest.mark.parametrize(("name", "route"), PAGES, ids=[str(n) for n, _ in PAGES])
def test_user_without_a_role_is_forbidden(client, nobody, url_kwargs, name, route):
    client.force_login(nobody)
    url = build_url(name, route, url_kwargs)
    assert client.get(url).status_code == 403, url
    assert client.post(url, {}).status_code in (403, 405), url


@pytest.mark.parametrize(("name", "route"), PAGES, ids=[str(n) for n, _ in PAGES])
def test_clerk_sees_view_pages_and_not_manager_pages(client, clerk, url_kwargs, name, route):
    client.force_login(clerk)
    url = build_url(name, route, url_kwargs)
    response = client.get(url)
    if name in CLERK_FORBIDDEN:
        assert response.status_code == 403, url
        assert client.post(url, {}).status_code == 403, url
    else:
        assert response.status_code == 200, (
            f"{url} answered {response.status_code} to a clerk; if it is a buyer or "
            "manager page, add its name to CLERK_FORBIDDEN."
        )


@pytest.mark.parametrize(("name", "route"), PAGES, ids=[str(n) for n, _ in PAGES])
def test_buyer_opens_purchasing_pages_but_does_not_receive(client, buyer, url_kwargs, name, route):
    client.force_login(buyer)
    url = build_url(name, route, url_kwargs)
    response = client.get(url)
    if name in BUYER_FORBIDDEN:
        assert response.status_code == 403, url
        assert client.post(url, {}).status_code == 403, url
    else:
        assert response.status_code == 200, (
            f"{url} answered {response.status_code} to a buyer; if buyers may not open it, "
            "add its name to BUYER_FORBIDDEN."
        )


def test_purchasing_permissions_split_buying_from_receiving(db):
    def codenames(role):
        group = Group.objects.get(name=role)
        return set(group.permissions.values_list("codename", flat=True))

    buyer, clerk = codenames("buyer"), codenames("clerk")
    assert {"add_purchaseorder", "send_purchaseorder", "add_supplier"} <= buyer
    assert "receive_purchaseorder" not in buyer
    assert "receive_purchaseorder" in clerk
    assert not {"add_purchaseorder", "send_purchaseorder", "add_supplier"} & clerk


@pytest.mark.parametrize(("name", "route"), PAGES, ids=[str(n) for n, _ in PAGES])
def test_manager_opens_every_page(client, manager, url_kwargs, name, route):
    client.force_login(manager)
    url = build_url(name, route, url_kwargs)
    assert client.get(url).status_code == 200, url
