"""``manage.py import_supplier_stock``: all or nothing, every bad row named by its line."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from orders.models import StockOutbox, SupplierProduct
from orders.sales.tests.test_sales import table_state


@pytest.fixture
def report(tmp_path):
    def write(content: str | bytes, name="stock.csv"):
        path = tmp_path / name
        if isinstance(content, str):
            content = content.encode()
        path.write_bytes(content)
        return path

    return write


@pytest.fixture
def hooked_channel(web_store):
    web_store.webhook_url = "https://shop.example/hooks/stock"
    web_store.save()
    return web_store


def run(path):
    out, err = StringIO(), StringIO()
    call_command("import_supplier_stock", str(path), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def stock_of(supplier_sku):
    return SupplierProduct.objects.values_list("supplier_stock", "supplier_stock_updated_at").get(
        supplier_sku=supplier_sku
    )


def test_a_bom_file_sets_supplier_stock_and_announces_dropship_changes(
    dropship_supplier, supplier_product, hooked_channel, report
):
    path = report(
        b"\xef\xbb\xbfsupplier,supplier_sku,quantity\r\nDROPCO,DC-SOFA,12\r\nACME,ACME-MUG,40\r\n"
    )

    out, err = run(path)

    assert err == ""
    assert "2 rows, 2 changed, 0 unchanged" in out
    assert "1 dropship products" in out
    sofa, sofa_at = stock_of("DC-SOFA")
    mug, mug_at = stock_of("ACME-MUG")
    assert (sofa, mug) == (12, 40)
    assert sofa_at is not None and mug_at is not None
    # Only the dropship product's availability changed for channels.
    rows = list(StockOutbox.objects.values_list("channel_id", "product__sku"))
    assert rows == [(hooked_channel.pk, "SOFA-9")]


def test_an_unchanged_report_refreshes_the_date_and_announces_nothing(
    dropship_supplier, hooked_channel, report
):
    run(report("supplier,supplier_sku,quantity\nDROPCO,DC-SOFA,7\n"))  # 7 was already known
    assert StockOutbox.objects.count() == 0
    quantity, updated_at = stock_of("DC-SOFA")
    assert quantity == 7 and updated_at is not None


def test_a_messy_file_is_read(dropship_supplier, supplier_product, report):
    path = report(
        "Quantity , Supplier_SKU,  SUPPLIER ,note\n"
        "\n"
        ' 5 , DC-SOFA , dropco ,"big, blue"\n'
        ",,,\n"
        '"0",ACME-MUG,Acme,\n'
    )

    out, _ = run(path)

    assert "2 rows" in out
    assert stock_of("DC-SOFA")[0] == 5
    assert stock_of("ACME-MUG")[0] == 0


def test_every_bad_row_is_reported_and_nothing_changes(
    dropship_supplier, supplier_product, hooked_channel, report
):
    path = report(
        "supplier,supplier_sku,quantity\n"
        "DROPCO,DC-SOFA,9\n"  # line 2: good
        "NOBODY,X-1,3\n"  # line 3
        "DROPCO,NOPE,3\n"  # line 4
        "ACME,ACME-MUG,-2\n"  # line 5
        "ACME,ACME-MUG,2.5\n"  # line 6
        "ACME,ACME-MUG,lots\n"  # line 7
        "ACME,,\n"  # line 8
        "DROPCO,DC-SOFA,1\n"  # line 9: twice
    )
    before = table_state()
    stock_before = list(SupplierProduct.objects.order_by("pk").values_list("supplier_stock"))

    with pytest.raises(CommandError) as caught:
        call_command(
            "import_supplier_stock", str(path), stdout=StringIO(), stderr=(err := StringIO())
        )

    lines = err.getvalue().splitlines()
    assert lines == [
        "line 3: unknown supplier “NOBODY”",
        "line 4: DROPCO has no product with supplier SKU “NOPE”",
        "line 5: the quantity “-2” is not a whole number of 0 or more",
        "line 6: the quantity “2.5” is not a whole number of 0 or more",
        "line 7: the quantity “lots” is not a whole number of 0 or more",
        "line 8: the supplier SKU is missing",
        "line 8: the quantity is missing",
        "line 9: DROPCO DC-SOFA is already on line 2",
    ]
    assert "7 bad rows; nothing was imported" in str(caught.value)
    assert table_state() == before
    assert (
        list(SupplierProduct.objects.order_by("pk").values_list("supplier_stock")) == stock_before
    )


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("", "empty"),
        ("supplier,quantity\nDROPCO,3\n", "supplier_sku"),
        ("supplier,supplier_sku,quantity\n", "no rows"),
        (b"supplier,supplier_sku,quantity\nDROPCO,DC-\xff,1\n", "not UTF-8"),
    ],
)
def test_unreadable_files_are_refused(dropship_supplier, report, content, fragment):
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("import_supplier_stock", str(report(content)), stdout=out, stderr=err)
    # A whole-file problem is the error itself; a bad byte is reported on its own line.
    assert fragment in str(caught.value) + out.getvalue() + err.getvalue()
    assert stock_of("DC-SOFA")[0] == 7


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(CommandError) as caught:
        call_command("import_supplier_stock", str(tmp_path / "nope.csv"))
    assert "Cannot read" in str(caught.value)


def test_available_to_sell_follows_the_report(
    dropship_supplier, dropship_product, web_store, report
):
    from orders.channels.availability import available_to_sell

    run(report("supplier,supplier_sku,quantity\nDROPCO,DC-SOFA,3\n"))
    assert available_to_sell(web_store, [dropship_product]) == {dropship_product.pk: 3}
    assert Decimal(SupplierProduct.objects.get(supplier_sku="DC-SOFA").unit_cost) == Decimal("120")
