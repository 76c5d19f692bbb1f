"""Purchasing pages: what they show, refusals that keep the input and write nothing,
permissions, and query counts that do not grow with the rows."""

import contextlib
import html as html_lib
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from common.testing import field_error, html_of, non_field_errors, text_of
from inventory.models import Product, StockLevel
from inventory.tests.test_views import count_queries, input_value, table_rows
from orders.conftest import snapshot
from orders.models import (
    PurchaseOrder,
    PurchaseOrderEvent,
    ReceiptLine,
    Supplier,
    SupplierProduct,
)
from orders.purchasing import receiving
from orders.purchasing import services as purchasing
from warehouses.models import Warehouse

N = 3
TODAY = timezone.localdate


def all_rows() -> dict:
    rows = snapshot()
    for model in (Supplier, SupplierProduct):
        fields = [field.attname for field in model._meta.concrete_fields]
        rows[model.__name__] = list(model.objects.order_by("pk").values_list(*fields))
    return rows


@contextlib.contextmanager
def writes_nothing(mailoutbox=None):
    before = all_rows()
    sent = len(mailoutbox) if mailoutbox is not None else 0
    yield
    assert all_rows() == before, "a refused form changed the database"
    if mailoutbox is not None:
        assert len(mailoutbox) == sent


@pytest.fixture
def buyer_client(client, buyer):
    client.force_login(buyer)
    return client


@pytest.fixture
def clerk_client(client, clerk):
    client.force_login(clerk)
    return client


def make_supplier(i: int, **extra) -> Supplier:
    return Supplier.objects.create(
        code=f"S{i:03d}", name=f"Supplier {i}", email=f"s{i}@example.com", **extra
    )


def build_purchasing(count: int, warehouse, locations, user, *, start: int = 0) -> list:
    """Suppliers that each sell two products, with a received, a sent and a draft order."""
    orders = []
    for i in range(start, start + count):
        supplier = make_supplier(i, dropships=i % 2 == 1)
        plain = Product.objects.create(sku=f"PP{i:03d}", name=f"Plain {i}")
        tracked = Product.objects.create(sku=f"PT{i:03d}", name=f"Tea {i}", tracking="lot_expiry")
        for product, cost in ((plain, "2.50"), (tracked, "1.20")):
            SupplierProduct.objects.create(
                supplier=supplier, product=product, unit_cost=Decimal(cost), pack_size=2
            )
        for kind in ("received", "sent", "draft"):
            order = purchasing.create_order(
                supplier=supplier, warehouse=warehouse, user=user, expected_on=TODAY()
            )
            purchasing.set_line(order=order, product=plain, quantity=4, user=user)
            purchasing.set_line(order=order, product=tracked, quantity=6, user=user)
            if kind != "draft":
                purchasing.send_order(order=order, user=user)
            if kind == "received":
                lines = list(order.lines.select_related("product").order_by("id"))
                receiving.receive_order(
                    order=order,
                    lines=[
                        {"line": lines[0], "quantity": 2},
                        {
                            "line": lines[1],
                            "quantity": 6,
                            "lot_code": f"L{i}",
                            "expires_on": TODAY() + timedelta(days=90),
                        },
                    ],
                    user=user,
                )
                receiving.receive_order(
                    order=order,
                    lines=[{"line": lines[0], "quantity": 2, "location": locations["bin1"]}],
                    user=user,
                )
            orders.append(order)
    return orders


def assert_flat(client, url, build_more, bound, django_assert_max_num_queries):
    small, _ = count_queries(client, url)
    build_more()
    with django_assert_max_num_queries(bound):
        large, response = count_queries(client, url)
    assert small == large, f"{url}: {small} queries with N rows, {large} with 3N"
    return response


# --- suppliers ---------------------------------------------------------------------


def test_supplier_list_filters_by_search_dropships_and_active(buyer_client, warehouse, locations):
    build_purchasing(3, warehouse, locations, None)
    Supplier.objects.create(code="OLD", name="Gone Ltd", active=False)
    url = reverse("supplier_list")

    def codes(**params):
        return [s.code for s in buyer_client.get(url, params).context["page_obj"]]

    assert codes() == ["OLD", "S000", "S001", "S002"]
    assert codes(q="supplier 1") == ["S001"]
    assert codes(q="s00") == ["S000", "S001", "S002"]
    assert codes(dropships="true") == ["S001"]
    assert codes(dropships="false", active="true") == ["S000", "S002"]
    assert codes(active="false") == ["OLD"]
    page = buyer_client.get(url).context["page_obj"]
    first = next(s for s in page if s.code == "S000")
    assert (first.product_count, first.open_order_count) == (2, 2)


def test_supplier_list_answers_htmx_with_the_results_only(buyer_client, supplier):
    response = buyer_client.get(
        reverse("supplier_list"), {"q": "acme"}, headers={"HX-Request": "true"}
    )
    html = html_of(response)
    assert html.lstrip().startswith('<div id="results"') and "<html" not in html
    assert "ACME" in html
    assert "HX-Request" in response.headers["Vary"]


def test_supplier_list_paginates(buyer_client):
    Supplier.objects.bulk_create([Supplier(code=f"X{i:03d}", name=f"X {i}") for i in range(60)])
    response = buyer_client.get(reverse("supplier_list"), {"q": "x", "page": 2})
    assert [s.code for s in response.context["page_obj"]][:1] == ["X050"]
    assert len(response.context["page_obj"]) == 10


def test_supplier_list_query_count_is_flat(
    buyer_client, buyer, warehouse, locations, django_assert_max_num_queries
):
    build_purchasing(N, warehouse, locations, buyer)
    response = assert_flat(
        buyer_client,
        reverse("supplier_list") + "?active=true",
        lambda: build_purchasing(2 * N, warehouse, locations, buyer, start=N),
        6,
        django_assert_max_num_queries,
    )
    assert table_rows(response) == 3 * N


def test_supplier_detail_shows_contact_products_lead_times_and_orders(
    buyer_client, sent_order, locations, buyer
):
    lines = list(sent_order.lines.order_by("id"))
    receiving.receive_line(line=lines[0], quantity=4, user=buyer)
    receiving.receive_line(line=lines[0], quantity=6, user=buyer)
    response = buyer_client.get(reverse("supplier_detail", args=["ACME"]))
    html = html_of(response)
    assert response.context["stats"]["n"] == 2
    assert "orders@acme.example" in html
    assert "ACME-MUG" in html and "ACME-TEA" in html and "preferred" in html
    assert "2 receipts 0.0 days on average 0.0 days standard deviation" in text_of(response)
    assert sent_order.number in html
    products = {item.product.sku: item for item in response.context["products"]}
    assert products["MUG-001"].receipts == 2 and products["MUG-001"].mean_lead_days == 0
    assert products["TEA-100"].receipts == 0


def test_supplier_detail_without_receipts_says_the_default_applies(buyer_client, supplier):
    html = html_of(buyer_client.get(reverse("supplier_detail", args=["ACME"])))
    assert "No deliveries received yet: the default lead time of 7 days applies." in html


def test_supplier_detail_query_count_is_flat(
    buyer_client, buyer, warehouse, locations, django_assert_max_num_queries
):
    supplier = Supplier.objects.create(code="BIG", name="Big", email="big@example.com")

    def more(start, count):
        for i in range(start, start + count):
            product = Product.objects.create(sku=f"B{i:03d}", name=f"B {i}")
            SupplierProduct.objects.create(supplier=supplier, product=product, unit_cost=1)
            order = purchasing.create_order(supplier=supplier, warehouse=warehouse)
            line = purchasing.set_line(order=order, product=product, quantity=3)
            purchasing.send_order(order=order, user=buyer)
            receiving.receive_line(line=line, quantity=3, user=buyer)

    more(0, N)
    response = assert_flat(
        buyer_client,
        reverse("supplier_detail", args=["BIG"]),
        lambda: more(N, 2 * N),
        9,
        django_assert_max_num_queries,
    )
    assert len(response.context["products"]) == 3 * N


def supplier_data(**overrides) -> dict:
    data = {
        "code": "NEWCO",
        "name": "New Company",
        "email": "sales@newco.example",
        "default_lead_time_days": "12",
        "receipt_tolerance_percent": "5",
        "dropships": "",
        "active": "on",
    }
    data.update(overrides)
    return data


def test_buyer_creates_a_supplier(buyer_client):
    response = buyer_client.post(reverse("supplier_create"), supplier_data())
    assert response.status_code == 302
    supplier = Supplier.objects.get(code="NEWCO")
    assert response.url == supplier.get_absolute_url()
    assert (supplier.default_lead_time_days, supplier.receipt_tolerance_percent) == (12, 5)
    assert supplier.history.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"code": "acme"}, "code", "Supplier ACME already exists (Acme Trading)."),
        ({"code": "new"}, "code", "“new” is reserved by the supplier pages"),
        ({"code": "bad code"}, "code", "Use letters, digits, dot, dash or underscore"),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"default_lead_time_days": "-3"}, "default_lead_time_days", "greater than or equal to 0"),
        ({"default_lead_time_days": "2.5"}, "default_lead_time_days", "Enter a whole number."),
        (
            {"receipt_tolerance_percent": "150"},
            "receipt_tolerance_percent",
            "less than or equal to 100",
        ),
        ({"name": ""}, "name", "This field is required."),
    ],
)
def test_bad_supplier_keeps_the_input_and_writes_nothing(
    buyer_client, supplier, overrides, field, message
):
    data = supplier_data(**overrides)
    with writes_nothing():
        response = buyer_client.post(reverse("supplier_create"), data)
    assert response.status_code == 200
    html = html_of(response)
    assert message in field_error(html, f"id_{field}")
    for name in ("code", "name", "email", "default_lead_time_days"):
        assert input_value(html, name) == (data[name] or None)


def test_buyer_edits_a_supplier_but_not_its_code(buyer_client, supplier):
    response = buyer_client.post(
        reverse("supplier_edit", args=["ACME"]),
        supplier_data(code="OTHER", name="Acme Trading BV", default_lead_time_days="9"),
    )
    assert response.status_code == 302
    supplier.refresh_from_db()
    assert (supplier.code, supplier.name, supplier.default_lead_time_days) == (
        "ACME",
        "Acme Trading BV",
        9,
    )
    assert supplier.history.count() == 2


# --- supplier products -------------------------------------------------------------


def item_data(**overrides) -> dict:
    data = {
        "product": "TEA-100",
        "supplier_sku": "ACME-TEA",
        "unit_cost": "1.2345",
        "lead_time_days": "",
        "minimum_order_quantity": "10",
        "pack_size": "5",
        "preferred": "",
        "active": "on",
    }
    data.update(overrides)
    return data


def test_buyer_adds_a_product_the_supplier_sells(buyer_client, supplier, lot_product):
    url = reverse("supplier_product_add", args=["ACME"])
    response = buyer_client.post(url, item_data(product="tea-100"))
    assert response.status_code == 302
    item = SupplierProduct.objects.get(supplier=supplier)
    assert item.product == lot_product
    assert (item.unit_cost, item.minimum_order_quantity, item.pack_size) == (
        Decimal("1.2345"),
        10,
        5,
    )
    assert item.effective_lead_time_days == 7
    assert item.history.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"product": "NO-SUCH"},
            "product",
            ("No product has the SKU, GTIN or barcode “NO-SUCH”."),
        ),
        ({"product": "MUG-001"}, "product", "ACME already sells MUG-001: edit that row instead."),
        (
            {"supplier_sku": "ACME-MUG"},
            "supplier_sku",
            "Supplier SKU ACME-MUG is already used for MUG-001.",
        ),
        ({"unit_cost": "-1"}, "unit_cost", "greater than or equal to 0"),
        ({"unit_cost": "abc"}, "unit_cost", "Enter a number."),
        ({"pack_size": "0"}, "pack_size", "greater than or equal to 1"),
        ({"minimum_order_quantity": "1.5"}, "minimum_order_quantity", "Enter a whole number."),
    ],
)
def test_bad_supplier_product_keeps_the_input_and_writes_nothing(
    buyer_client, supplier_product, lot_product, overrides, field, message
):
    data = item_data(**overrides)
    with writes_nothing():
        response = buyer_client.post(reverse("supplier_product_add", args=["ACME"]), data)
    assert response.status_code == 200
    html = html_of(response)
    assert message in field_error(html, f"id_{field}")
    for name in ("product", "supplier_sku", "unit_cost", "pack_size"):
        assert input_value(html, name) == data[name]


def test_a_second_preferred_supplier_is_refused_with_a_clear_message(
    buyer_client, supplier_product, product
):
    other = Supplier.objects.create(code="BETA", name="Beta")
    data = item_data(product="MUG-001", supplier_sku="B-MUG", preferred="on")
    with writes_nothing():
        response = buyer_client.post(reverse("supplier_product_add", args=["BETA"]), data)
    assert field_error(html_of(response), "id_preferred") == (
        "ACME is already the preferred supplier of MUG-001; a product has one preferred "
        "supplier. Untick “preferred” there first."
    )
    data.pop("preferred")
    response = buyer_client.post(reverse("supplier_product_add", args=["BETA"]), data)
    assert response.status_code == 302
    assert SupplierProduct.objects.get(supplier=other).preferred is False


def test_editing_a_supplier_product_keeps_its_product(buyer_client, supplier_product):
    url = reverse("supplier_product_edit", args=["ACME", supplier_product.pk])
    html = html_of(buyer_client.get(url))
    assert input_value(html, "product") == "MUG-001"
    response = buyer_client.post(
        url,
        item_data(product="TEA-100", supplier_sku="ACME-MUG", unit_cost="2.75", preferred="on"),
    )
    assert response.status_code == 302
    supplier_product.refresh_from_db()
    assert supplier_product.product.sku == "MUG-001"
    assert supplier_product.unit_cost == Decimal("2.75")
    assert supplier_product.preferred


# --- purchase order list -----------------------------------------------------------


def test_purchase_order_list_filters_by_status_supplier_warehouse_and_number(
    buyer_client, warehouse, locations
):
    orders = build_purchasing(2, warehouse, locations, None)
    other = Warehouse.objects.create(code="WH2", name="Second")
    moved = purchasing.create_order(supplier=orders[0].supplier, warehouse=other)
    url = reverse("purchase_order_list")

    def numbers(**params):
        return {o.number for o in buyer_client.get(url, params).context["page_obj"]}

    assert numbers(status="draft") == {orders[2].number, orders[5].number, moved.number}
    assert numbers(status="received") == {orders[0].number, orders[3].number}
    assert numbers(supplier="S001", status="sent") == {orders[4].number}
    assert numbers(warehouse="WH2") == {moved.number}
    assert numbers(q=orders[1].number.lower()) == {orders[1].number}
    assert numbers(q=str(orders[1].pk)) >= {orders[1].number}
    received = next(o for o in buyer_client.get(url).context["page_obj"] if o.pk == orders[0].pk)
    assert (received.line_count, received.units_ordered, received.units_received) == (2, 10, 10)
    assert received.total == Decimal("4") * Decimal("2.5") + Decimal("6") * Decimal("1.2")
    html = html_of(buyer_client.get(url, {"status": "received"}))
    assert "17.20" in html and "10 / 10" in html


def test_purchase_order_list_refuses_an_unknown_status_with_a_message(buyer_client, draft_order):
    response = buyer_client.get(reverse("purchase_order_list"), {"status": "lost"})
    assert "Select a valid choice" in html_of(response)
    assert list(response.context["page_obj"]) == []


def test_purchase_order_list_htmx_partial(buyer_client, draft_order):
    response = buyer_client.get(
        reverse("purchase_order_list"), {"status": "draft"}, headers={"HX-Request": "true"}
    )
    html = html_of(response)
    assert html.lstrip().startswith('<div id="results"') and draft_order.number in html


def test_purchase_order_list_query_count_is_flat(
    buyer_client, buyer, warehouse, locations, django_assert_max_num_queries
):
    build_purchasing(N, warehouse, locations, buyer)
    response = assert_flat(
        buyer_client,
        reverse("purchase_order_list") + "?warehouse=WH1",
        lambda: build_purchasing(2 * N, warehouse, locations, buyer, start=N),
        9,
        django_assert_max_num_queries,
    )
    assert table_rows(response) == 9 * N


# --- creating and editing purchase orders ------------------------------------------


def test_buyer_creates_a_draft_order(buyer_client, buyer, supplier, warehouse):
    html = html_of(buyer_client.get(reverse("purchase_order_create"), {"supplier": "ACME"}))
    assert '<option value="ACME" selected>' in html
    expected = TODAY() + timedelta(days=10)
    response = buyer_client.post(
        reverse("purchase_order_create"),
        {
            "supplier": "ACME",
            "warehouse": "WH1",
            "expected_on": expected.isoformat(),
            "notes": "Rush",
        },
    )
    order = PurchaseOrder.objects.get()
    assert response.status_code == 302 and response.url == order.get_absolute_url()
    assert (order.status, order.expected_on, order.created_by, order.notes) == (
        "draft",
        expected,
        buyer,
        "Rush",
    )
    assert re.fullmatch(r"PO-\d{6}", order.number)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"warehouse": "WH1"}, "supplier", "Choose the supplier to order from."),
        ({"supplier": "GONE", "warehouse": "WH1"}, "supplier", "Choose an active supplier"),
        ({"supplier": "ACME"}, "warehouse", "Choose the warehouse the goods go to."),
        (
            {"supplier": "ACME", "warehouse": "WH1", "expected_on": "31/02/2027"},
            "expected_on",
            "Enter a valid date.",
        ),
    ],
)
def test_bad_new_order_keeps_the_input_and_writes_nothing(
    buyer_client, supplier, warehouse, data, field, message
):
    Supplier.objects.create(code="GONE", name="Gone", active=False)
    data = {"notes": "Keep me", **data}
    with writes_nothing():
        response = buyer_client.post(reverse("purchase_order_create"), data)
    html = html_of(response)
    assert message in field_error(html, f"id_{field}")
    assert "Keep me</textarea>" in html


def test_purchase_order_detail_shows_lines_totals_history_and_receipts(
    buyer_client, sent_order, buyer, settings
):
    settings.STOCKROOM_CURRENCY = "SEK"
    tea = sent_order.lines.get(product__sku="TEA-100")
    receiving.receive_line(
        line=tea, quantity=8, lot_code="B-1", expires_on=TODAY() + timedelta(days=60), user=buyer
    )
    response = buyer_client.get(sent_order.get_absolute_url())
    html = html_of(response)
    assert response.context["totals"] == {
        "ordered": 30,
        "received": 8,
        "open": 22,
        "value": Decimal("49.000000"),
        "received_value": Decimal("9.600000"),
    }
    assert "49.00 SEK" in html and "Unit cost (SEK)" in html
    assert "Partially received" in html
    assert [(e.from_status, e.to_status) for e in response.context["events"]] == [
        ("", "draft"),
        ("draft", "sent"),
        ("sent", "partially_received"),
    ]
    assert "B-1" in html and "WH1-RCV" in html
    # A sent order's lines do not change: no line form, no edit links.
    assert response.context["line_form"] is None
    assert "/lines/new/" not in html and ">Edit<" not in html
    # Receiving is a clerk's job: the buyer gets no Receive button.
    assert reverse("purchase_order_receive", args=[sent_order.number]) not in html


def test_purchase_order_detail_query_count_is_flat(
    buyer_client, buyer, supplier, warehouse, locations, django_assert_max_num_queries
):
    order = purchasing.create_order(supplier=supplier, warehouse=warehouse)

    def more(start, count):
        for i in range(start, start + count):
            product = Product.objects.create(sku=f"D{i:03d}", name=f"D {i}")
            SupplierProduct.objects.create(supplier=supplier, product=product, unit_cost=1)
            purchasing.set_line(order=order, product=product, quantity=5)

    more(0, N)
    assert_flat(
        buyer_client,
        order.get_absolute_url(),
        lambda: more(N, 2 * N),
        8,
        django_assert_max_num_queries,
    )


def test_received_order_detail_query_count_is_flat(
    buyer_client, buyer, supplier, warehouse, locations, django_assert_max_num_queries
):
    order = purchasing.create_order(supplier=supplier, warehouse=warehouse)
    products = []
    for i in range(3 * N):
        product = Product.objects.create(sku=f"R{i:03d}", name=f"R {i}", tracking="lot")
        SupplierProduct.objects.create(supplier=supplier, product=product, unit_cost=1)
        purchasing.set_line(order=order, product=product, quantity=10)
        products.append(product)
    purchasing.send_order(order=order, user=buyer)
    lines = list(order.lines.select_related("product").order_by("id"))

    def receive(chunk):
        for line in chunk:
            receiving.receive_line(line=line, quantity=4, lot_code=f"L{line.pk}", user=buyer)

    receive(lines[:N])
    assert_flat(
        buyer_client,
        order.get_absolute_url(),
        lambda: receive(lines[N:]),
        8,
        django_assert_max_num_queries,
    )


def test_adding_a_line_rounds_up_and_says_so(buyer_client, draft_order, lot_supplier_product):
    lot_supplier_product.pack_size = 6
    lot_supplier_product.minimum_order_quantity = 12
    lot_supplier_product.save()
    response = buyer_client.post(
        reverse("purchase_order_line_add", args=[draft_order.number]),
        {"product": "TEA-100", "quantity": "13"},
        follow=True,
    )
    line = draft_order.lines.get(product__sku="TEA-100")
    assert (line.quantity_ordered, line.unit_cost) == (18, Decimal("1.2"))
    html = html_of(response)
    assert "Ordered 18 × TEA-100 at 1.2. Rounded up from 13 to 18: packs of 6" in html
    assert "Rounded up from 13 to 18: packs of 6</td>" in html


def test_editing_a_line_changes_quantity_and_cost(buyer_client, draft_order):
    line = draft_order.lines.get(product__sku="MUG-001")
    url = reverse("purchase_order_line_edit", args=[draft_order.number, line.pk])
    html = html_of(buyer_client.get(url))
    assert (input_value(html, "quantity"), input_value(html, "unit_cost")) == ("10", "2.5")
    response = buyer_client.post(url, {"quantity": "14", "unit_cost": "2.40"})
    assert response.status_code == 302
    line.refresh_from_db()
    assert (line.quantity_ordered, line.unit_cost) == (14, Decimal("2.4"))


def test_removing_a_line(buyer_client, draft_order):
    line = draft_order.lines.get(product__sku="MUG-001")
    url = reverse("purchase_order_line_remove", args=[draft_order.number, line.pk])
    assert "Remove MUG-001 from" in html_of(buyer_client.get(url))
    assert buyer_client.post(url).status_code == 302
    assert list(draft_order.lines.values_list("product__sku", flat=True)) == ["TEA-100"]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"product": "NO-SUCH", "quantity": "5"},
            "product",
            ("No product has the SKU, GTIN or barcode “NO-SUCH”."),
        ),
        (
            {"product": "SOLO-1", "quantity": "5"},
            "product",
            "ACME does not sell SOLO-1: add it to the supplier's products first.",
        ),
        ({"product": "MUG-001", "quantity": "0"}, "quantity", "at least one unit (got 0)"),
        ({"product": "MUG-001", "quantity": "-4"}, "quantity", "at least one unit (got -4)"),
        ({"product": "MUG-001", "quantity": "2.5"}, "quantity", "Enter a whole number of units."),
        ({"product": "MUG-001", "quantity": "ten"}, "quantity", "Enter a whole number of units."),
        ({"product": "MUG-001", "quantity": ""}, "quantity", "Enter a quantity."),
        (
            {"product": "MUG-001", "quantity": "3", "unit_cost": "-1"},
            "unit_cost",
            "A unit cost cannot be negative.",
        ),
    ],
)
def test_bad_line_keeps_the_input_and_writes_nothing(
    buyer_client, draft_order, data, field, message
):
    Product.objects.create(sku="SOLO-1", name="Sold elsewhere")
    with writes_nothing():
        response = buyer_client.post(
            reverse("purchase_order_line_add", args=[draft_order.number]), data
        )
    assert response.status_code == 200
    html = html_of(response)
    assert message in field_error(html, f"id_{field}")
    assert input_value(html, "product") == data["product"]
    assert input_value(html, "quantity") == (data["quantity"] or None)


def test_lines_of_a_sent_order_cannot_change(buyer_client, sent_order):
    line = sent_order.lines.get(product__sku="MUG-001")
    number = sent_order.number
    refusal = f"{number} is sent: lines change only in a draft."
    with writes_nothing():
        added = buyer_client.post(
            reverse("purchase_order_line_add", args=[number]),
            {"product": "MUG-001", "quantity": "50"},
        )
        edited = buyer_client.post(
            reverse("purchase_order_line_edit", args=[number, line.pk]), {"quantity": "50"}
        )
        removed = buyer_client.post(reverse("purchase_order_line_remove", args=[number, line.pk]))
    assert refusal in field_error(html_of(added), "id_product")
    assert input_value(html_of(added), "quantity") == "50"
    assert refusal in field_error(html_of(edited), "id_product")
    assert input_value(html_of(edited), "quantity") == "50"
    assert refusal in non_field_errors(html_of(removed))


# --- sending, cancelling, closing, documents -----------------------------------------


@pytest.mark.django_db(transaction=True)  # the email goes after the commit, as in production
def test_buyer_sends_an_order_by_email_with_pdf_and_csv(
    buyer_client, buyer, draft_order, mailoutbox
):
    url = reverse("purchase_order_send", args=[draft_order.number])
    html = html_of(buyer_client.get(url))
    assert "orders@acme.example" in html and "MUG-001" in html
    response = buyer_client.post(url, follow=True)
    draft_order.refresh_from_db()
    assert (draft_order.status, draft_order.sent_by) == ("sent", buyer)
    assert f"{draft_order.number} sent to orders@acme.example" in html_of(response)
    (email,) = mailoutbox
    assert email.to == ["orders@acme.example"]
    assert [a[2] for a in email.attachments] == ["application/pdf", "text/csv"]


def test_sending_is_refused_without_lines_or_email(buyer_client, supplier, warehouse, mailoutbox):
    empty = purchasing.create_order(supplier=supplier, warehouse=warehouse)
    with writes_nothing(mailoutbox):
        response = buyer_client.post(reverse("purchase_order_send", args=[empty.number]))
    assert f"{empty.number} has no lines" in non_field_errors(html_of(response))

    mute = Supplier.objects.create(code="MUTE", name="No email")
    order = purchasing.create_order(supplier=mute, warehouse=warehouse)
    html = html_of(buyer_client.get(reverse("purchase_order_send", args=[order.number])))
    assert "MUTE has no contact email" in html
    with writes_nothing(mailoutbox):
        response = buyer_client.post(reverse("purchase_order_send", args=[order.number]))
    assert "Supplier MUTE has no contact email" in non_field_errors(html_of(response))
    assert reverse("purchase_order_mark_sent", args=[order.number]) in html_of(response)


def test_cancel_a_sent_order_but_not_a_partly_received_one(buyer_client, buyer, sent_order):
    mug = sent_order.lines.get(product__sku="MUG-001")
    url = reverse("purchase_order_cancel", args=[sent_order.number])
    receiving.receive_line(line=mug, quantity=3, user=buyer)
    with writes_nothing():
        response = buyer_client.post(url, {"reason": "Too slow"})
    assert "cannot be cancelled. Close it instead" in non_field_errors(html_of(response))
    assert input_value(html_of(response), "reason") == "Too slow"

    other = purchasing.create_order(supplier=sent_order.supplier, warehouse=sent_order.warehouse)
    response = buyer_client.post(
        reverse("purchase_order_cancel", args=[other.number]), {"reason": "Duplicate"}
    )
    assert response.status_code == 302
    event = PurchaseOrderEvent.objects.filter(order=other).last()
    assert (event.to_status, event.note, event.user) == ("cancelled", "Duplicate", buyer)


def test_close_a_short_delivery_with_a_reason(buyer_client, buyer, sent_order):
    url = reverse("purchase_order_close", args=[sent_order.number])
    with writes_nothing():
        response = buyer_client.post(url, {"reason": "x"})
    assert "Nothing of" in non_field_errors(html_of(response))
    mug = sent_order.lines.get(product__sku="MUG-001")
    receiving.receive_line(line=mug, quantity=10, user=buyer)
    with writes_nothing():
        response = buyer_client.post(url, {"reason": ""})
    assert field_error(html_of(response), "id_reason") == "Say why."
    response = buyer_client.post(url, {"reason": "Tea discontinued"})
    assert response.status_code == 302
    sent_order.refresh_from_db()
    assert sent_order.status == "closed"


def test_print_page_pdf_and_csv(buyer_client, sent_order):
    number = sent_order.number
    html = html_of(buyer_client.get(reverse("purchase_order_print", args=[number])))
    assert f"Purchase order {number}" in html and "ACME-MUG" in html and "site-nav" not in html
    pdf = buyer_client.get(reverse("purchase_order_pdf", args=[number]))
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert f'filename="{number}.pdf"' in pdf["Content-Disposition"]
    csv = buyer_client.get(reverse("purchase_order_csv", args=[number]))
    assert csv["Content-Type"].startswith("text/csv")
    assert "MUG-001" in csv.content.decode()


@pytest.mark.parametrize(
    ("name", "bound"), [("purchase_order_print", 7), ("purchase_order_send", 6)]
)
def test_document_pages_query_count_is_flat(
    buyer_client, supplier, warehouse, name, bound, django_assert_max_num_queries
):
    order = purchasing.create_order(supplier=supplier, warehouse=warehouse)

    def more(start, count):
        for i in range(start, start + count):
            product = Product.objects.create(sku=f"Q{i:03d}", name=f"Q {i}")
            SupplierProduct.objects.create(supplier=supplier, product=product, unit_cost=1)
            purchasing.set_line(order=order, product=product, quantity=5)

    more(0, N)
    assert_flat(
        buyer_client,
        reverse(name, args=[order.number]),
        lambda: more(N, 2 * N),
        bound,
        django_assert_max_num_queries,
    )


# --- receiving ---------------------------------------------------------------------


def receive_data(order, **rows) -> dict:
    """Form data for the receiving page: ``rows`` maps SKU to that row's fields."""
    data = {}
    for line in order.lines.select_related("product"):
        prefix = f"line-{line.pk}"
        fields = {"quantity": "", "location": "WH1-RCV", "lot_code": "", "expires_on": ""}
        fields.update(rows.get(line.product.sku.replace("-", "_"), {}))
        for name, value in fields.items():
            data[f"{prefix}-{name}"] = value
    return data


def row_id(order, sku: str, field: str) -> str:
    line = order.lines.get(product__sku=sku)
    return f"id_line-{line.pk}-{field}"


def test_receive_page_lists_open_lines_with_the_default_location(clerk_client, sent_order):
    html = html_of(clerk_client.get(reverse("purchase_order_receive", args=[sent_order.number])))
    mug = sent_order.lines.get(product__sku="MUG-001")
    assert input_value(html, f"line-{mug.pk}-location") == "WH1-RCV"
    assert input_value(html, f"line-{mug.pk}-quantity") is None
    # Lot and expiry only for the tracked product.
    assert f'name="line-{mug.pk}-lot_code"' not in html
    tea = sent_order.lines.get(product__sku="TEA-100")
    assert f'name="line-{tea.pk}-lot_code"' in html and f'name="line-{tea.pk}-expires_on"' in html
    assert 'name="confirm_expired"' not in html


def test_clerk_receives_in_two_partial_deliveries(clerk_client, clerk, sent_order, locations):
    url = reverse("purchase_order_receive", args=[sent_order.number])
    expiry = TODAY() + timedelta(days=200)
    first = receive_data(
        sent_order,
        MUG_001={"quantity": "4"},
        TEA_100={"quantity": "8", "lot_code": "T-1", "expires_on": expiry.isoformat()},
    )
    response = clerk_client.post(url, first, follow=True)
    html = html_of(response)
    assert "Received 4 × MUG-001, 8 × TEA-100 on" in html
    assert "The order is now partially received." in html
    sent_order.refresh_from_db()
    assert sent_order.status == "partially_received"
    second = receive_data(
        sent_order,
        MUG_001={"quantity": "6", "location": "WH1-A-01"},
        TEA_100={"quantity": "12", "lot_code": "T-2", "expires_on": expiry.isoformat()},
    )
    response = clerk_client.post(url, second, follow=True)
    assert "The order is now received." in html_of(response)
    sent_order.refresh_from_db()
    assert sent_order.status == "received"
    levels = {
        (level.product.sku, level.location.barcode, level.lot.code if level.lot else None): (
            level.on_hand
        )
        for level in StockLevel.objects.select_related("product", "location", "lot")
    }
    assert levels == {
        ("MUG-001", "WH1-RCV", None): 4,
        ("MUG-001", "WH1-A-01", None): 6,
        ("TEA-100", "WH1-RCV", "T-1"): 8,
        ("TEA-100", "WH1-RCV", "T-2"): 12,
    }
    assert ReceiptLine.objects.filter(user=clerk).count() == 4


def test_receipt_within_tolerance_says_so(clerk_client, sent_order):
    Supplier.objects.filter(pk=sent_order.supplier_id).update(receipt_tolerance_percent=10)
    url = reverse("purchase_order_receive", args=[sent_order.number])
    html = html_of(clerk_client.get(url))
    assert "(up to 11)" in html
    response = clerk_client.post(
        url, receive_data(sent_order, MUG_001={"quantity": "11"}), follow=True
    )
    assert (
        "MUG-001: 11 received against 10 ordered, within ACME's over-receipt tolerance of 10 %"
        in html_lib.unescape(html_of(response))
    )


@pytest.mark.parametrize(
    ("rows", "sku", "field", "message"),
    [
        ({"MUG_001": {"quantity": "11"}}, "MUG-001", "quantity", "ACME allows at most 10"),
        ({"MUG_001": {"quantity": "0"}}, "MUG-001", "quantity", "at least one unit (got 0)"),
        ({"MUG_001": {"quantity": "-2"}}, "MUG-001", "quantity", "at least one unit (got -2)"),
        (
            {"MUG_001": {"quantity": "1.5"}},
            "MUG-001",
            "quantity",
            "Enter a whole number of units.",
        ),
        (
            {"MUG_001": {"quantity": "2", "location": "WH1-QUA"}},
            "MUG-001",
            "location",
            "is a quarantine location",
        ),
        (
            {"MUG_001": {"quantity": "2", "location": "NOWHERE"}},
            "MUG-001",
            "location",
            "No location has the barcode “NOWHERE”.",
        ),
        (
            {"MUG_001": {"quantity": "2", "location": "WH1-SHP"}},
            "MUG-001",
            "location",
            "is a shipping location",
        ),
        (
            {"TEA_100": {"quantity": "2", "expires_on": "2031-01-01"}},
            "TEA-100",
            "lot_code",
            "TEA-100 is tracked by lot: give the lot code",
        ),
        (
            {"TEA_100": {"quantity": "2", "lot_code": "X"}},
            "TEA-100",
            "expires_on",
            "TEA-100 is tracked by expiry: give the expiry date of lot X.",
        ),
        (
            {"TEA_100": {"quantity": "2", "lot_code": "X", "expires_on": "2031-02-30"}},
            "TEA-100",
            "expires_on",
            "Enter a valid date.",
        ),
    ],
)
def test_bad_receipt_keeps_the_input_and_writes_nothing(
    clerk_client, sent_order, mailoutbox, rows, sku, field, message
):
    url = reverse("purchase_order_receive", args=[sent_order.number])
    # Another row with good input: it is kept too, and not received either.
    rows = {"MUG_001": {"quantity": "3"}, **rows} if sku != "MUG-001" else rows
    data = receive_data(sent_order, **rows)
    with writes_nothing(mailoutbox):
        response = clerk_client.post(url, data)
    assert response.status_code == 200
    html = html_of(response)
    assert message in field_error(html, row_id(sent_order, sku, field))
    for name, value in data.items():
        if value:
            assert input_value(html, name) == value, name


def test_quarantine_receipt_goes_through_once_confirmed(clerk_client, sent_order):
    url = reverse("purchase_order_receive", args=[sent_order.number])
    data = receive_data(sent_order, MUG_001={"quantity": "2", "location": "WH1-QUA"})
    html = html_of(clerk_client.post(url, data))
    assert 'name="allow_quarantine"' in html
    response = clerk_client.post(url, {**data, "allow_quarantine": "on"})
    assert response.status_code == 302
    assert StockLevel.objects.get(location__barcode="WH1-QUA").on_hand == 2


def test_expired_lot_asks_for_confirmation_and_keeps_the_input(
    clerk_client, sent_order, mailoutbox
):
    url = reverse("purchase_order_receive", args=[sent_order.number])
    past = (TODAY() - timedelta(days=3)).isoformat()
    data = receive_data(
        sent_order,
        MUG_001={"quantity": "5"},
        TEA_100={"quantity": "4", "lot_code": "OLD-1", "expires_on": past},
    )
    with writes_nothing(mailoutbox):
        response = clerk_client.post(url, data)
    html = html_of(response)
    assert f"Lot OLD-1 of TEA-100 expired on {past}. Receive it anyway?" in field_error(
        html, row_id(sent_order, "TEA-100", "expires_on")
    )
    assert 'name="confirm_expired"' in html
    tea = sent_order.lines.get(product__sku="TEA-100")
    assert input_value(html, f"line-{tea.pk}-lot_code") == "OLD-1"
    assert input_value(html, f"line-{tea.pk}-expires_on") == past
    assert input_value(html, f"line-{tea.pk}-quantity") == "4"

    response = clerk_client.post(url, {**data, "confirm_expired": "on"})
    assert response.status_code == 302
    assert StockLevel.objects.get(lot__code="OLD-1").on_hand == 4


def test_receiving_nothing_says_so(clerk_client, sent_order):
    with writes_nothing():
        response = clerk_client.post(
            reverse("purchase_order_receive", args=[sent_order.number]), receive_data(sent_order)
        )
    assert "Enter the quantity received on at least one line." in non_field_errors(
        html_of(response)
    )


def test_a_draft_cannot_be_received(clerk_client, draft_order):
    url = reverse("purchase_order_receive", args=[draft_order.number])
    assert "it has not been sent yet" in html_of(clerk_client.get(url))
    with writes_nothing():
        response = clerk_client.post(url, receive_data(draft_order, MUG_001={"quantity": "1"}))
    assert response.status_code == 200


def test_receive_page_query_count_is_flat(
    clerk_client, buyer, supplier, warehouse, locations, django_assert_max_num_queries
):
    def sent_order_with(lines: int, start: int) -> PurchaseOrder:
        order = purchasing.create_order(supplier=supplier, warehouse=warehouse)
        for i in range(start, start + lines):
            product = Product.objects.create(
                sku=f"V{i:03d}", name=f"V {i}", tracking="lot_expiry" if i % 2 else "none"
            )
            SupplierProduct.objects.create(supplier=supplier, product=product, unit_cost=1)
            purchasing.set_line(order=order, product=product, quantity=5)
        return purchasing.send_order(order=order, user=buyer)

    small_order, large_order = sent_order_with(N, 0), sent_order_with(3 * N, N)
    small, _ = count_queries(
        clerk_client, reverse("purchase_order_receive", args=[small_order.number])
    )
    with django_assert_max_num_queries(7):
        large, response = count_queries(
            clerk_client, reverse("purchase_order_receive", args=[large_order.number])
        )
    assert small == large
    assert len(response.context["rows"]) == 3 * N


# --- who may do what ---------------------------------------------------------------


def test_buyer_cannot_receive_and_clerk_cannot_buy(client, buyer, clerk, sent_order, supplier):
    receive = reverse("purchase_order_receive", args=[sent_order.number])
    data = receive_data(sent_order, MUG_001={"quantity": "1"})
    client.force_login(buyer)
    with writes_nothing():
        assert client.post(receive, data).status_code == 403
    client.force_login(clerk)
    with writes_nothing():
        assert (
            client.post(
                reverse("purchase_order_create"), {"supplier": "ACME", "warehouse": "WH1"}
            ).status_code
            == 403
        )
        assert (
            client.post(reverse("purchase_order_cancel", args=[sent_order.number])).status_code
            == 403
        )
        assert client.post(reverse("supplier_create"), supplier_data()).status_code == 403
    html = html_of(client.get(sent_order.get_absolute_url()))
    assert "Receive</a>" in html and "Cancel order" not in html
    client.logout()
    response = client.get(sent_order.get_absolute_url())
    assert response.status_code == 302 and "/login/" in response.url


def test_nav_links_follow_permissions(client, buyer, django_user_model):
    nobody = django_user_model.objects.create_user("plain", password="x-for-tests")
    client.force_login(buyer)
    html = html_of(client.get(reverse("dashboard")))
    assert 'href="/suppliers/"' in html and 'href="/purchase-orders/"' in html
    client.force_login(nobody)
    response = client.get(reverse("supplier_list"))
    assert response.status_code == 403
    html = html_of(response)
    assert 'href="/suppliers/"' not in html and 'href="/purchase-orders/"' not in html


def test_purchasing_pages_carry_no_inline_script_or_style(client, manager, sent_order, buyer):
    receiving.receive_line(line=sent_order.lines.first(), quantity=1, user=buyer)
    client.force_login(manager)
    number = sent_order.number
    line = sent_order.lines.first()
    for url in [
        reverse("supplier_list"),
        reverse("supplier_detail", args=["ACME"]),
        reverse("supplier_create"),
        reverse("supplier_product_add", args=["ACME"]),
        reverse("purchase_order_list"),
        reverse("purchase_order_create"),
        sent_order.get_absolute_url(),
        reverse("purchase_order_line_edit", args=[number, line.pk]),
        reverse("purchase_order_close", args=[number]),
        reverse("purchase_order_receive", args=[number]),
        reverse("purchase_order_print", args=[number]),
    ]:
        html = html_of(client.get(url))
        assert "style=" not in html and "<style" not in html, url
        assert " onclick" not in html and "hx-on" not in html, url
        for script in re.findall(r"<script[^>]*>", html):
            assert "src=" in script and "nonce=" in script, (url, script)


# --- incoming on the stock pages ---------------------------------------------------


def test_product_page_shows_units_incoming_on_open_orders(
    clerk_client, buyer, sent_order, supplier_product, warehouse
):
    mug = sent_order.lines.get(product__sku="MUG-001")
    receiving.receive_line(line=mug, quantity=3, user=buyer)
    # Drafts and cancelled orders do not count: nothing is on its way yet / any more.
    draft = purchasing.create_order(supplier=supplier_product.supplier, warehouse=warehouse)
    purchasing.set_line(order=draft, product=supplier_product.product, quantity=40)
    cancelled = purchasing.create_order(supplier=supplier_product.supplier, warehouse=warehouse)
    purchasing.set_line(order=cancelled, product=supplier_product.product, quantity=50)
    purchasing.send_order(order=cancelled, user=buyer)
    purchasing.cancel_order(order=cancelled, user=buyer)

    response = clerk_client.get(reverse("product_detail", args=["MUG-001"]))
    assert response.context["incoming"] == 7
    assert "7 incoming" in text_of(response)
    response = clerk_client.get(reverse("product_detail", args=["TEA-100"]))
    assert response.context["incoming"] == 20


def test_stock_list_shows_incoming_per_product_of_each_row(
    clerk_client, buyer, sent_order, locations
):
    tea = sent_order.lines.get(product__sku="TEA-100")
    receiving.receive_line(
        line=tea, quantity=5, lot_code="T-1", expires_on=TODAY() + timedelta(days=30), user=buyer
    )
    mug = sent_order.lines.get(product__sku="MUG-001")
    receiving.receive_line(line=mug, quantity=2, user=buyer)
    receiving.receive_line(line=mug, quantity=1, location=locations["bin1"], user=buyer)
    rows = clerk_client.get(reverse("stock_list")).context["page_obj"]
    incoming = {(row.product.sku, row.location.barcode): row.incoming for row in rows}
    assert incoming == {
        ("MUG-001", "WH1-A-01"): 7,
        ("MUG-001", "WH1-RCV"): 7,
        ("TEA-100", "WH1-RCV"): 15,
    }


def test_stock_list_with_incoming_query_count_is_flat(
    clerk_client, buyer, warehouse, locations, django_assert_max_num_queries
):
    build_purchasing(N, warehouse, locations, buyer)
    response = assert_flat(
        clerk_client,
        reverse("stock_list") + "?warehouse=WH1",
        lambda: build_purchasing(2 * N, warehouse, locations, buyer, start=N),
        10,  # the summary line (rows, lots, units) is one query
        django_assert_max_num_queries,
    )
    rows = list(response.context["page_obj"])
    assert len(rows) == 3 * 3 * N
    # Each supplier's sent order still has 4 + 6 units open.
    assert {row.incoming for row in rows} == {4, 6}


def test_product_page_with_incoming_query_count_is_flat(
    clerk_client, buyer, supplier_product, warehouse, django_assert_max_num_queries
):
    def orders(count):
        for _ in range(count):
            order = purchasing.create_order(
                supplier=supplier_product.supplier, warehouse=warehouse
            )
            purchasing.set_line(order=order, product=supplier_product.product, quantity=2)
            purchasing.send_order(order=order, user=buyer)

    orders(N)
    response = assert_flat(
        clerk_client,
        reverse("product_detail", args=["MUG-001"]),
        lambda: orders(2 * N),
        9,
        django_assert_max_num_queries,
    )
    assert response.context["incoming"] == 2 * 3 * N


def test_nav_shows_valuation_to_managers_only(client, clerk, manager):
    client.force_login(manager)
    assert 'href="/reports/valuation/"' in client.get("/").content.decode()
    client.force_login(clerk)
    assert 'href="/reports/valuation/"' not in client.get("/").content.decode()
