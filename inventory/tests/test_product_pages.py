"""Creating and editing products in the back office, and the CSV exports of the lists."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from inventory import ledger
from inventory.models import Product, ProductBarcode

GOOD = {
    "sku": "OAK-L",
    "name": "Oak candle, large",
    "gtin": "4006381333931",
    "sell_price": "12.50",
    "tracking": "none",
    "fulfilment": "stocked",
    "active": "on",
    "barcodes-TOTAL_FORMS": "2",
    "barcodes-INITIAL_FORMS": "0",
    "barcodes-MIN_NUM_FORMS": "0",
    "barcodes-MAX_NUM_FORMS": "1000",
    "barcodes-0-code": "OAK-CASE",
    "barcodes-0-units": "6",
    "barcodes-1-code": "",
    "barcodes-1-units": "1",
}


def snapshot():
    return (
        list(Product.objects.order_by("pk").values_list()),
        list(ProductBarcode.objects.order_by("pk").values_list()),
    )


@pytest.mark.parametrize("role", ["buyer", "manager"])
def test_buyer_and_manager_create_a_product_with_a_barcode(client, request, role):
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("product_create")).status_code == 200

    response = client.post(reverse("product_create"), GOOD)

    product = Product.objects.get(sku="OAK-L")
    assert response.status_code == 302 and response.url == product.get_absolute_url()
    assert (product.name, product.gtin, product.sell_price) == (
        "Oak candle, large",
        "04006381333931",
        Decimal("12.50"),
    )
    assert [(b.code, b.units) for b in product.barcodes.all()] == [("OAK-CASE", 6)]
    record = product.history.get()
    assert record.history_type == "+" and record.history_user.username == f"{role}1"


def test_edit_changes_the_product_and_its_history(client, buyer, product):
    client.force_login(buyer)
    page = client.get(reverse("product_edit", args=[product.sku]))
    assert page.status_code == 200
    assert 'value="Enamel mug"' in page.content.decode()
    data = {
        **GOOD,
        "sku": "MUG-001",
        "name": "Enamel mug, blue",
        "gtin": "",
        "sell_price": "11.00",
        "active": "",
    }

    response = client.post(reverse("product_edit", args=[product.sku]), data)

    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.name, product.gtin, product.sell_price, product.active) == (
        "Enamel mug, blue",
        None,
        Decimal("11.00"),
        False,
    )
    assert product.history.count() == 2
    assert product.history.first().history_user == buyer


def test_product_pages_link_to_create_and_edit(client, buyer, clerk, product):
    client.force_login(buyer)
    assert reverse("product_create") in client.get(reverse("product_list")).content.decode()
    detail = client.get(product.get_absolute_url()).content.decode()
    assert reverse("product_edit", args=[product.sku]) in detail
    client.force_login(clerk)
    assert reverse("product_create") not in client.get(reverse("product_list")).content.decode()
    assert "/edit/" not in client.get(product.get_absolute_url()).content.decode()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"sku": "mug-001"}, "sku", "The SKU mug-001 is already taken by MUG-001 · Enamel mug"),
        ({"sku": "new"}, "sku", "“new” is a word the product pages use"),
        ({"sku": "bad sku"}, "sku", "Use letters, digits"),
        ({"gtin": "4006381333932"}, "gtin", "the check digit is wrong"),
        ({"gtin": "04006381333931"}, "gtin", "already belongs to MUG-001"),
        ({"sell_price": "-1"}, "sell_price", "A sell price cannot be negative."),
        ({"name": ""}, "name", "Enter the product's name."),
        ({"barcodes-0-units": "0"}, "units", "A scan stands for at least one unit."),
        ({"barcodes-0-code": "4006381333931"}, "code", "is the GTIN of MUG-001"),
    ],
)
def test_bad_product_is_refused_and_keeps_what_was_typed(
    client, manager, product, change, field, message
):
    client.force_login(manager)
    data = {**GOOD, "gtin": "", **change}
    before = snapshot()

    response = client.post(reverse("product_create"), data)

    assert response.status_code == 200
    assert snapshot() == before
    form = response.context["form"]
    errors = form.errors.get(field, []) + [
        error
        for barcode in response.context["barcodes"]
        for error in barcode.errors.get(field, [])
    ]
    assert any(message in error for error in errors), (form.errors, errors)
    assert 'value="Oak candle, large"' in response.content.decode() or field == "name"


def test_tracking_of_a_product_with_stock_cannot_change(client, manager, locations, product):
    ledger.receive(product=product, location=locations["bin1"], quantity=2, unit_cost=1)
    client.force_login(manager)
    data = {**GOOD, "sku": "MUG-001", "gtin": "", "tracking": "lot"}
    response = client.post(reverse("product_edit", args=["MUG-001"]), data)
    assert response.status_code == 200
    assert (
        "has stock: its tracking cannot change" in response.context["form"].errors["tracking"][0]
    )
    product.refresh_from_db()
    assert product.tracking == "none"


def test_clerk_cannot_create_or_edit_a_product(client, clerk, product):
    client.force_login(clerk)
    before = snapshot()
    assert client.get(reverse("product_create")).status_code == 403
    assert client.post(reverse("product_create"), GOOD).status_code == 403
    edit = reverse("product_edit", args=[product.sku])
    assert client.post(edit, {**GOOD, "sku": "MUG-001"}).status_code == 403
    assert snapshot() == before


# --- CSV exports ----------------------------------------------------------------------


def read_csv(response) -> list[dict]:
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_product_export_applies_the_filters_and_defuses_formulas(client, clerk, locations):
    Product.objects.create(sku="A-1", name='=HYPERLINK("x")', tracking="lot")
    Product.objects.create(sku="B-1", name="Plain", tracking="none")
    ledger.receive(
        product=Product.objects.get(sku="B-1"), location=locations["bin1"], quantity=4, unit_cost=1
    )
    client.force_login(clerk)

    page = client.get(reverse("product_list"), {"tracking": "lot"}).content.decode()
    assert f'href="{reverse("product_export")}?tracking=lot"' in page
    rows = read_csv(client.get(reverse("product_export"), {"tracking": "lot"}))
    assert [(row["sku"], row["name"]) for row in rows] == [("A-1", '\'=HYPERLINK("x")')]
    everything = read_csv(client.get(reverse("product_export")))
    assert [(row["sku"], row["on_hand"]) for row in everything] == [("A-1", "0"), ("B-1", "4")]


def test_stock_export_applies_the_filters_and_defuses_formulas(
    client, clerk, locations, product, lot_product
):
    from datetime import date

    ledger.receive(product=product, location=locations["bin1"], quantity=5, unit_cost=1)
    ledger.receive(
        product=lot_product,
        location=locations["bin2"],
        quantity=3,
        unit_cost=1,
        lot_code="-2+3",
        expires_on=date(2030, 1, 1),
    )
    client.force_login(clerk)

    page = client.get(reverse("stock_list"), {"location": "WH1-A-02", "page": "1"})
    assert f'href="{reverse("stock_export")}?location=WH1-A-02"' in page.content.decode()
    rows = read_csv(client.get(reverse("stock_export"), {"location": "WH1-A-02"}))
    assert rows == [
        {
            "sku": "TEA-100",
            "name": "Green tea 100 g",
            "location": "WH1-A-02",
            "on_hand": "3",
            "available": "3",
            "lot": "'-2+3",
            "expires_on": "2030-01-01",
            "committed": "0",
            "warehouse": "WH1",
        }
    ]
    assert len(read_csv(client.get(reverse("stock_export")))) == 2


def test_exports_need_the_list_permissions(client, django_user_model, buyer, product):
    assert client.get(reverse("product_export")).status_code == 302
    client.force_login(django_user_model.objects.create_user(username="x", password="x"))
    assert client.get(reverse("product_export")).status_code == 403
    assert client.get(reverse("stock_export")).status_code == 403
    client.force_login(buyer)
    assert client.get(reverse("product_export")).status_code == 200
    assert client.get(reverse("stock_export")).status_code == 200
