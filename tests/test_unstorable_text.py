"""Text and numbers a column cannot hold are refused the same way on every database.

Issue 15 items 5 and 6: a NUL in a product name was stored on SQLite and a traceback on
PostgreSQL; an integer past 2,147,483,647 was stored on SQLite and refused on
PostgreSQL. One check (common.columns) now judges both, everywhere.
"""

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.validators import MaxValueValidator
from django.db import models
from django.urls import reverse

from common.columns import storable_text, unstorable
from inventory import imports
from inventory.admin import ProductAdmin
from inventory.models import Lot, Product, ProductBarcode, StockMove
from inventory.product_forms import ProductForm

NUL = "Mug\x00"
SURROGATE = "Mug \ud800"


@pytest.mark.parametrize("text", [NUL, SURROGATE])
def test_unstorable_names_what_is_wrong(text):
    assert unstorable(text)
    assert unstorable("Mug ü — 杯") is None


def test_every_text_column_and_integer_column_carries_its_limits():
    missing = []
    for model in apps.get_models(include_auto_created=True):
        for field in model._meta.concrete_fields:
            if isinstance(field, models.CharField | models.TextField):
                wanted = storable_text
            elif field.get_internal_type() in ("IntegerField", "PositiveIntegerField"):
                wanted = MaxValueValidator(2_147_483_647)
            else:
                continue
            if wanted not in field.validators:
                missing.append(f"{model.__name__}.{field.name}")
    assert missing == []


def test_no_migration_carries_the_validators():
    field = Product._meta.get_field("name")
    assert "validators" not in field.deconstruct()[3]


@pytest.mark.parametrize("text", [NUL, SURROGATE])
def test_model_validation_refuses_the_text(db, text):
    with pytest.raises(ValidationError) as info:
        Product(sku="MUG-1", name=text).full_clean()
    assert "name" in info.value.message_dict


@pytest.mark.parametrize("text", [NUL, SURROGATE])
def test_the_product_form_refuses_the_text_and_keeps_it(db, text):
    form = ProductForm(
        {
            "sku": "MUG-1",
            "name": text,
            "sell_price": "1.00",
            "tracking": "none",
            "fulfilment": "stocked",
            "active": "on",
        }
    )
    assert not form.is_valid()
    assert "name" in form.errors
    assert not Product.objects.exists()


def test_a_barcode_of_three_billion_units_is_refused_on_every_database(product):
    barcode = ProductBarcode(product=product, code="CASE-1", units=3_000_000_000)
    with pytest.raises(ValidationError) as info:
        barcode.full_clean()
    assert "2147483647" in " ".join(info.value.message_dict["units"])


@pytest.mark.parametrize("text", [NUL, SURROGATE])
def test_the_product_import_reports_the_line_and_column(db, text):
    with pytest.raises(imports.ImportRefused) as info:
        imports.import_products(f"sku,name\nOK-1,Fine\nMUG-1,{text}\n")
    assert [str(error) for error in info.value.errors] == [
        f"line 3: name: {unstorable(text).removesuffix('.')}"
    ]
    assert not Product.objects.exists()


def test_a_nul_sku_is_refused_before_it_is_looked_up(db):
    with pytest.raises(imports.ImportRefused) as info:
        imports.import_products("sku,name\nMUG\x00-1,Mug\n")
    assert str(info.value.errors[0]).startswith("line 2: sku: Text must not contain NUL")


def test_the_stock_import_reports_a_nul_lot(product, lot_product, locations):
    with pytest.raises(imports.ImportRefused) as info:
        imports.import_stock(
            "sku,location,lot,expires_on,quantity,unit_cost\n"
            "MUG-001,WH1-A-01,,,1,1\n"
            "TEA-100,WH1-A-01,L\x001,2030-01-01,1,1\n"
        )
    assert [error.line for error in info.value.errors] == [3]
    assert "lot: Text must not contain NUL" in str(info.value.errors[0])
    assert not StockMove.objects.exists() and not Lot.objects.exists()


def test_the_supplier_stock_import_reports_a_nul(db):
    from orders.management.commands.import_supplier_stock import import_supplier_stock

    with pytest.raises(imports.ImportRefused) as info:
        import_supplier_stock("supplier,supplier_sku,quantity\nACME,X\x00,1\n")
    assert "supplier_sku: Text must not contain NUL" in str(info.value.errors[0])


def test_the_admin_import_refuses_a_nul(client, admin_user):
    client.force_login(admin_user)
    formats = ProductAdmin(Product, None).get_import_formats()
    index = str(next(i for i, f in enumerate(formats) if f().get_title() == "csv"))
    upload = SimpleUploadedFile("p.csv", b"sku,name\nMUG-1,Mug\x00\n", content_type="text/csv")
    response = client.post(
        reverse("admin:inventory_product_import"), {"import_file": upload, "format": index}
    )
    assert response.status_code == 200
    assert "line 2: name: Text must not contain NUL characters" in response.content.decode()
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "/products/MUG%00/",
        "/products/MUG%00/edit/",
        "/warehouses/W%00/",
        "/locations/L%00/",
        "/channels/C%00/",
        "/suppliers/S%00/",
        "/purchase-orders/P%00/csv/",
        "/labels/locations/L%00/",
        "/labels/products/M%00/",
    ],
)
def test_a_nul_in_the_address_is_not_found(client, admin_user, url):
    client.force_login(admin_user)
    client.raise_request_exception = False
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("kind", ["lookup", "receive", "putaway", "pick", "count"])
def test_a_scan_holding_a_nul_is_refused_with_a_message(client, admin_user, kind):
    from scanning.models import ScanRecord

    client.force_login(admin_user)
    client.raise_request_exception = False
    response = client.post(f"/scan/{kind}/", {"code": "AB\x00C", "scan_id": "s1"})
    assert response.status_code == 200
    assert "is not a code: Text must not contain NUL characters" in response.content.decode()
    assert ScanRecord.objects.get().code == "AB\ufffdC"
