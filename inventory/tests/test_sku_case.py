"""SKUs are unique ignoring case, in the database (issue 15 item 11).

``DUPC-1`` and ``dupc-1`` imported as two products while the forms look SKUs up in
any case; a unique index on ``UPPER(sku)`` now refuses the second on SQLite and
PostgreSQL alike, and every way in says so in words.
"""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from inventory import imports
from inventory.models import Product
from inventory.product_forms import ProductForm


def test_the_database_refuses_a_sku_differing_only_in_case(db):
    Product.objects.create(sku="DUPC-1", name="first")
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.create(sku="dupc-1", name="second")
    assert list(Product.objects.values_list("sku", flat=True)) == ["DUPC-1"]


def test_model_validation_names_the_rule(db):
    Product.objects.create(sku="DUPC-1", name="first")
    with pytest.raises(ValidationError) as info:
        Product(sku="dupc-1", name="second").full_clean()
    assert "SKUs ignore case" in str(info.value)


def test_the_product_form_says_which_product_has_it(db):
    Product.objects.create(sku="DUPC-1", name="first")
    form = ProductForm(
        {
            "sku": "dupc-1",
            "name": "x",
            "sell_price": "1",
            "tracking": "none",
            "fulfilment": "stocked",
            "active": "on",
        }
    )
    assert not form.is_valid()
    assert "DUPC-1" in form.errors["sku"][0]


def test_an_import_with_both_cases_names_both_lines(db):
    with pytest.raises(imports.ImportRefused) as info:
        imports.import_products("sku,name\nDUPC-1,first\nOTHER-1,fine\ndupc-1,second\n")
    assert [str(error) for error in info.value.errors] == [
        "line 4: SKU dupc-1 differs only in case from DUPC-1 on line 2 (SKUs ignore case)"
    ]
    assert not Product.objects.exists()


def test_an_import_naming_an_existing_sku_in_another_case_is_refused(db):
    Product.objects.create(sku="DUPC-1", name="first")
    with pytest.raises(imports.ImportRefused) as info:
        imports.import_products("sku,name\ndupc-1,second\n")
    assert [str(error) for error in info.value.errors] == [
        "line 2: SKU dupc-1 differs only in case from the existing product DUPC-1 "
        "(SKUs ignore case)"
    ]
    assert Product.objects.get().name == "first"


def test_the_same_sku_in_the_same_case_still_updates(db):
    Product.objects.create(sku="DUPC-1", name="first")
    imports.import_products("sku,name\nDUPC-1,renamed\n")
    assert Product.objects.get().name == "renamed"


@pytest.mark.django_db(transaction=True)
def test_the_migration_refuses_existing_case_duplicates_clearly():
    executor = MigrationExecutor(connection)
    before = [("inventory", "0006_scan_lookup_indexes")]
    after = [("inventory", "0007_sku_unique_ignoring_case")]
    try:
        executor.migrate(before)
        old = MigrationExecutor(connection).loader.project_state(before).apps
        old_product = old.get_model("inventory", "Product")
        old_product.objects.create(sku="DUPC-1", name="first")
        old_product.objects.create(sku="dupc-1", name="second")
        with pytest.raises(RuntimeError) as info:
            MigrationExecutor(connection).migrate(after)
        assert "DUPC-1, dupc-1" in str(info.value)
        assert "rename" in str(info.value)
        old_product.objects.filter(sku="dupc-1").delete()
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
