"""``manage.py import_sales`` on the real UCI December 2010 files, and on bad files."""

import csv
import re
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum

from inventory.demo_catalog import UCI_DATA
from inventory.models import Product
from planning.imports import UCI_MAP
from planning.models import ImportedDemand
from warehouses.models import Warehouse

pytestmark = pytest.mark.django_db
FILES = sorted(UCI_DATA.glob("2010-12-*.csv"))
PRODUCT_CODE = re.compile(r"^\d{5}[A-Za-z]{0,2}$")


@pytest.fixture
def uci_products(db):
    """Products for the goods codes of the first day's file (the rest are unknown SKUs)."""
    if not FILES:
        pytest.skip("the UCI files are not on this machine")
    with FILES[0].open(encoding="utf-8", newline="") as handle:
        codes = {row["StockCode"].upper() for row in csv.DictReader(handle)}
    Product.objects.bulk_create(
        Product(sku=code, name=f"UCI {code}", sell_price=Decimal("1.00"))
        for code in sorted(codes)
        if PRODUCT_CODE.match(code)
    )
    return Warehouse.objects.create(code="UK", name="UK warehouse")


def run(*args) -> str:
    out = StringIO()
    call_command("import_sales", *args, stdout=out)
    return out.getvalue()


def test_the_real_december_files_load_with_a_skip_report(uci_products):
    assert len(FILES) == 20
    output = run(*map(str, FILES), "--map", UCI_MAP, "--warehouse", "UK")
    products = Product.objects.count()
    assert products == 1346
    # 42,481 lines in the month (PROVENANCE.md); every one is either used or skipped.
    assert "of 42481 rows from 2010-12-01 to 2010-12-23" in output
    assert "Imported 34156 of 42481 rows" in output
    assert "294207 units ordered, 17120 returned, 15962 product × day rows" in output
    assert "Skipped 8325 rows:" in output
    assert "  unknown SKU: 8125\n    2010-12-02.csv:2 '21421'" in output
    assert "  non-product code: 200\n    2010-12-01.csv:47 'POST'" in output
    assert ImportedDemand.objects.count() == 15962
    assert ImportedDemand.objects.filter(warehouse=uci_products).exists()
    # One product-day against the file itself: 85123A on 1 December, all countries.
    with FILES[0].open(encoding="utf-8", newline="") as handle:
        expected = sum(
            int(row["Quantity"]) for row in csv.DictReader(handle) if row["StockCode"] == "85123A"
        )
    got = ImportedDemand.objects.filter(product__sku="85123A", day=date(2010, 12, 1)).aggregate(
        units=Sum("quantity")
    )["units"]
    assert got == expected == 454


def test_returns_are_negative_and_reduce_the_day(uci_products, tmp_path):
    Product.objects.create(sku="RET-1", name="Returned")
    path = tmp_path / "returns.csv"
    path.write_text(
        "day,code,qty\n2024-03-01,RET-1,5\n2024-03-01 17:30:00,ret-1,-2\n2024-03-02,RET-1,-1\n"
    )
    run(str(path), "--map", "date=day,sku=code,quantity=qty", "--warehouse", "UK")
    by_day = dict(
        ImportedDemand.objects.filter(product__sku="RET-1").values_list("day", "quantity")
    )
    assert by_day == {date(2024, 3, 1): 3, date(2024, 3, 2): -1}


def test_a_malformed_row_fails_every_file_and_changes_nothing(uci_products, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("date,sku,quantity\n2024-01-02,85123A,4\n")
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "date,sku,quantity\n2024-01-02,85123A,4\n02/01/2024,85123A,1\n2024-01-03,85123A,1.5\n"
    )
    with pytest.raises(CommandError) as caught:
        run(str(good), str(bad), "--warehouse", "UK")
    message = str(caught.value)
    assert "Nothing was imported" in message
    assert "bad.csv:3: date '02/01/2024' is not a date" in message
    assert "bad.csv:4: quantity '1.5' is not a whole number" in message
    assert not ImportedDemand.objects.exists()


def test_importing_a_file_twice_is_refused_unless_replaced(uci_products, tmp_path):
    path = tmp_path / "once.csv"
    path.write_text("date,sku,quantity\n2024-01-02,85123A,4\n")
    run(str(path), "--warehouse", "UK")
    with pytest.raises(CommandError, match=r"already imported: once\.csv"):
        run(str(path), "--warehouse", "UK")
    run(str(path), "--warehouse", "UK", "--replace")
    assert ImportedDemand.objects.get().quantity == 4


def test_missing_columns_and_an_unknown_warehouse_are_refused(uci_products, tmp_path):
    path = tmp_path / "cols.csv"
    path.write_text("when,sku,quantity\n2024-01-02,85123A,4\n")
    with pytest.raises(CommandError, match=r"cols\.csv: Required column\(s\) missing: date"):
        run(str(path), "--warehouse", "UK")
    with pytest.raises(CommandError, match="no warehouse with code NOPE"):
        run(str(path), "--warehouse", "NOPE")
    assert not ImportedDemand.objects.exists()
