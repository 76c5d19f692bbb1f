"""The import benchmark's file is one the product import takes whole."""

import pytest

from bench.imports import write_file
from inventory import imports
from inventory.models import Product


@pytest.mark.django_db
def test_the_generated_file_imports_whole(tmp_path):
    path = tmp_path / "products.csv"
    size = write_file(path, 500)
    assert 70 * 500 < size < 85 * 500  # about 76 bytes a row: 663,656 rows make 50 MB
    result = imports.import_products(path)
    assert result.created == 500 == Product.objects.exclude(gtin=None).count()
    assert set(Product.objects.values_list("tracking", flat=True)) == {"none", "lot", "lot_expiry"}
