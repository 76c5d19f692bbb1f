"""The CSV imports: every row checked first, all or nothing, bad rows reported by file line."""

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from inventory import imports, ledger
from inventory.imports import products as products_import
from inventory.models import CostLayer, Lot, Product, StockLevel, StockMove

DATA = Path(__file__).parent / "data"
UCI = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "uci-online-retail-2010-12"


def write(tmp_path, text: str | bytes) -> str:
    path = tmp_path / "file.csv"
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return str(path)


def run(command: str, tmp_path, text: str | bytes) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(command, write(tmp_path, text), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(command: str, tmp_path, text: str | bytes) -> str:
    """Run an import that must fail; return what it printed about the bad rows and the error."""
    err = io.StringIO()
    with pytest.raises(CommandError) as info:
        call_command(command, write(tmp_path, text), stdout=io.StringIO(), stderr=err)
    return f"{err.getvalue()}\n{info.value}"


# --- products -----------------------------------------------------------------------


@pytest.mark.django_db
def test_import_products_creates_and_reports(tmp_path):
    out, _ = run(
        "import_products",
        tmp_path,
        "sku,name,gtin,sell_price,tracking,fulfilment,colour\n"
        "MUG-1,Mug,4006381333931,9.90,,,red\n"
        "TEA-1, Green tea ,,4.5,lot_expiry,\n"
        "SOFA-1,Sofa,,,,dropship,\n",
    )
    assert "3 created, 0 updated" in out
    mug = Product.objects.get(sku="MUG-1")
    assert mug.gtin == "04006381333931"
    assert mug.sell_price == Decimal("9.90")
    assert (mug.tracking, mug.fulfilment) == ("none", "stocked")
    tea = Product.objects.get(sku="TEA-1")
    assert tea.name == "Green tea"
    assert tea.tracking == "lot_expiry"
    sofa = Product.objects.get(sku="SOFA-1")
    assert (sofa.fulfilment, sofa.sell_price) == ("dropship", Decimal("0.00"))
    assert mug.history.count() == 1


@pytest.mark.django_db
def test_import_products_updates_by_sku_and_keeps_empty_cells(tmp_path, product):
    out, _ = run(
        "import_products",
        tmp_path,
        "sku,name,gtin,sell_price,tracking,fulfilment\nMUG-001,Enamel mug large,,12.50,,\n",
    )
    assert "0 created, 1 updated" in out
    product.refresh_from_db()
    assert product.name == "Enamel mug large"
    assert product.sell_price == Decimal("12.50")
    assert product.gtin == "04006381333931"  # empty cell: unchanged
    out, _ = run(
        "import_products", tmp_path, "sku,name,sell_price\nMUG-001,Enamel mug large,12.5\n"
    )
    assert "1 unchanged" in out


@pytest.mark.django_db
def test_bom_and_whitespace_are_accepted(tmp_path):
    run(
        "import_products",
        tmp_path,
        "\ufeffSKU , Name ,GTIN\n  CUP-1 ,  Cup  , 400638 133393 1 \n".encode(),
    )
    cup = Product.objects.get(sku="CUP-1")
    assert cup.name == "Cup"
    assert cup.gtin == "04006381333931"


@pytest.mark.django_db
def test_each_bad_product_row_is_reported_with_its_line_and_nothing_is_written(
    tmp_path, product, lot_product, locations
):
    ledger.receive(product=product, location=locations["bin1"], quantity=3, unit_cost="2")
    text = (
        "sku,name,gtin,sell_price,tracking,fulfilment\n"  # line 1
        "OK-1,Fine,,1.00,,\n"  # 2: good
        "bad sku,Spaced,,1,,\n"  # 3
        ",No SKU,,1,,\n"  # 4
        "NONAME,,,1,,\n"  # 5
        "G1,Bad check digit,4006381333932,1,,\n"  # 6
        "G2,Too short,12345,1,,\n"  # 7
        "G3,First,96385074,1,,\n"  # 8: good
        "G4,Same GTIN,0000096385074,1,,\n"  # 9: same GTIN as line 8
        "G5,Mug's GTIN,4006381333931,1,,\n"  # 10: GTIN of MUG-001
        "OK-1,Again,,1,,\n"  # 11: SKU repeated
        "P1,Negative,,-1,,\n"  # 12
        "P2,Words,,cheap,,\n"  # 13
        "P3,Fractions,,1.005,,\n"  # 14
        "T1,Tracking,,1,serial,\n"  # 15
        "F1,Fulfilment,,1,,instant\n"  # 16
        "MUG-001,Enamel mug,,9.90,lot,\n"  # 17: tracking change with stock
        "MUG-001,Enamel mug,,9.90,,\n"  # 18: SKU repeated
        "TEA-100,Tea,,4.50,none,\n"  # 19: no stock, so tracking may change
    )
    message = refused("import_products", tmp_path, text)
    expected = {
        3: "SKU “bad sku”",
        4: "SKU is required",
        5: "name is required",
        6: "check digit is wrong",
        7: "use 8, 12, 13 or 14 digits",
        9: "appears again (first on line 8)",
        10: "already belongs to product MUG-001",
        11: "SKU OK-1 appears again (first on line 2)",
        12: "sell price cannot be negative",
        13: "“cheap” is not a number",
        14: "more than 2 decimal places",
        15: "tracking “serial” is not one of",
        16: "fulfilment “instant” is not one of",
        17: "tracking cannot change from none to lot",
        18: "SKU MUG-001 appears again (first on line 17)",
    }
    for line, reason in expected.items():
        assert any(
            text.startswith(f"line {line}:") and reason in text for text in message.splitlines()
        ), (line, reason, message)
    for good_line in (2, 8, 19):
        assert f"line {good_line}:" not in message
    assert "15 bad rows; nothing was imported" in message
    assert set(Product.objects.values_list("sku", flat=True)) == {"MUG-001", "TEA-100"}
    lot_product.refresh_from_db()
    assert lot_product.tracking == "lot_expiry"


@pytest.mark.django_db
def test_missing_columns_empty_file_and_non_utf8_are_refused(tmp_path):
    message = refused("import_products", tmp_path, "sku,title\nA,B\n")
    assert "Required column(s) missing: name" in message
    assert "empty" in refused("import_products", tmp_path, "")
    assert "no rows" in refused("import_products", tmp_path, "sku,name\n\n")
    message = refused("import_products", tmp_path, "sku,name\nA,Caf\xe9\n".encode("latin-1"))
    assert "not UTF-8" in message
    assert not Product.objects.exists()


@pytest.mark.django_db
def test_failure_half_way_through_writing_leaves_nothing(monkeypatch, tmp_path, product):
    def failing_update(*args, **kwargs):
        raise RuntimeError("disk full")

    # The new products are written first, then the update fails.
    monkeypatch.setattr(products_import, "update_products", failing_update)
    with pytest.raises(RuntimeError):
        imports.import_products("sku,name\nA,First\nB,Second\nMUG-001,Renamed\n")
    assert list(Product.objects.values_list("sku", "name")) == [("MUG-001", product.name)]


@pytest.mark.django_db
def test_real_order_lines_sample(tmp_path):
    """Product rows built from UCI Online Retail order lines (StockCode, Description, price)."""
    message = refused("import_products", tmp_path, (DATA / "uci_products_sample.csv").read_bytes())
    bad = {
        int(line.split(":")[0].split()[1]) for line in message.splitlines() if line[:5] == "line "
    }
    # Same StockCode with another description; blank names; a code with a space.
    assert bad == {5, 7, 9, 10, 15, 19, 20}
    assert "line 10: SKU “BANK CHARGES”" in message
    assert "line 7: name is required" in message
    assert not Product.objects.exists()

    good_lines = [
        line
        for number, line in enumerate(
            (DATA / "uci_products_sample.csv").read_text(encoding="utf-8").splitlines(), 1
        )
        if number not in bad
    ]
    out, _ = run("import_products", tmp_path, "\n".join(good_lines) + "\n")
    assert "12 created" in out
    assert Product.objects.get(sku="gift_0001_40").name == "Dotcomgiftshop Gift Voucher £40.00"
    assert Product.objects.get(sku="15056bl").sell_price == Decimal("12.72")


def _uci_rows():
    seen, rows = set(), []
    for path in sorted(UCI.glob("2010-12-0*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for line in csv.DictReader(handle):
                key = (line["StockCode"], line["Description"])
                if key not in seen:
                    seen.add(key)
                    rows.append({"sku": key[0], "name": key[1], "sell_price": line["UnitPrice"]})
    return rows


@pytest.mark.skipif(not UCI.is_dir(), reason="shared UCI data not present")
@pytest.mark.django_db
def test_real_order_lines_in_full():
    rows = _uci_rows()
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["sku", "name", "sell_price"])
    writer.writeheader()
    writer.writerows(rows)
    with pytest.raises(imports.ImportRefused) as info:
        imports.import_products(buffer.getvalue())
    reasons = [error.message for error in info.value.errors]
    assert any("BANK CHARGES" in reason for reason in reasons) or not any(
        row["sku"] == "BANK CHARGES" for row in rows
    )
    assert any("name is required" in reason for reason in reasons)
    assert any("appears again" in reason for reason in reasons)
    assert not Product.objects.exists()

    bad_lines = {error.line for error in info.value.errors}
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["sku", "name", "sell_price"])
    writer.writeheader()
    kept = [row for line, row in enumerate(rows, 2) if line not in bad_lines]
    writer.writerows(kept)
    result = imports.import_products(buffer.getvalue())
    assert result.created == len(kept) == Product.objects.count()


# --- opening stock ------------------------------------------------------------------


@pytest.mark.django_db
def test_import_stock_posts_receipts_through_the_ledger(tmp_path, product, lot_product, locations):
    out, _ = run(
        "import_stock",
        tmp_path,
        "sku,location,lot,expires_on,quantity,unit_cost\n"
        "MUG-001,WH1-A-01,,,10,2.50\n"
        "TEA-100,WH1-A-02,L1,2030-01-31,5,1.10\n"
        "TEA-100,WH1-RCV,L1,,3,1.20\n",
    )
    assert "3 receipts, 18 units of 2 products" in out
    assert StockMove.objects.filter(kind="receipt").count() == 3
    assert CostLayer.objects.count() == 3
    level = StockLevel.objects.get(product=product, location=locations["bin1"])
    assert level.on_hand == 10
    lot = Lot.objects.get(product=lot_product, code="L1")
    assert lot.expires_on == date(2030, 1, 31)
    assert StockLevel.objects.get(lot=lot, location=locations["receiving"]).on_hand == 3
    assert StockMove.objects.filter(reference="Opening stock").count() == 3
    call_command("check_ledger", stdout=io.StringIO())


@pytest.mark.django_db
def test_each_bad_stock_row_is_reported_and_nothing_is_posted(
    tmp_path, product, lot_product, dropship_product, locations
):
    from inventory.models import Product as P

    P.objects.create(sku="BOLT-1", name="Bolt", tracking="lot")
    ledger.get_or_create_lot(product=lot_product, code="OLD", expires_on=date(2030, 5, 1))
    locations["bin2"].active = False
    locations["bin2"].save()
    text = (
        "sku,location,lot,expires_on,quantity,unit_cost\n"  # 1
        "MUG-001,WH1-A-01,,,10,2.50\n"  # 2: good
        "NOPE,WH1-A-01,,,1,1\n"  # 3
        "MUG-001,NOWHERE,,,1,1\n"  # 4
        "MUG-001,WH1-A-02,,,1,1\n"  # 5: inactive
        "TEA-100,WH1-A-01,,2030-01-01,1,1\n"  # 6: lot missing
        "MUG-001,WH1-A-01,L9,,1,1\n"  # 7: lot for untracked
        "TEA-100,WH1-A-01,NEW,,1,1\n"  # 8: expiry missing
        "TEA-100,WH1-A-01,N2,31/01/2030,1,1\n"  # 9: bad date
        "TEA-100,WH1-A-01,N3,2030-02-30,1,1\n"  # 10: impossible date
        "TEA-100,WH1-A-01,OLD,2031-01-01,1,1\n"  # 11: conflicts with the lot
        "MUG-001,WH1-A-01,,,0,1\n"  # 12
        "MUG-001,WH1-A-01,,,1.5,1\n"  # 13
        "MUG-001,WH1-A-01,,,-2,1\n"  # 14
        "MUG-001,WH1-A-01,,,1,-1\n"  # 15
        "MUG-001,WH1-A-01,,,1,abc\n"  # 16
        "SOFA-9,WH1-A-01,,,1,1\n"  # 17: dropship
        "TEA-100,WH1-A-01,OLD,,2,1\n"  # 18: good: the lot knows its expiry
        "TEA-100,WH1-A-01,N4,2030-03-01,1,1\n"  # 19: good
        "TEA-100,WH1-RCV,N4,2030-04-01,1,1\n"  # 20: conflicts with line 19
        "MUG-001,WH1-A-01,,,1,\n"  # 21: cost missing
        "BOLT-1,WH1-A-01,B1,2030-01-01,1,1\n"  # 22: expiry for a lot-only product
    )
    message = refused("import_stock", tmp_path, text)
    expected = {
        3: "unknown SKU NOPE",
        4: "unknown location NOWHERE",
        5: "location WH1-A-02 is inactive",
        6: "tracked by lot: give the lot",
        7: "not tracked by lot, but lot L9 was given",
        8: "give the expiry of lot NEW",
        9: "not a date in the form YYYY-MM-DD",
        10: "not a real date",
        11: "expires on 2030-05-01, not 2031-01-01",
        12: "quantity “0” is not a whole number above zero",
        13: "quantity “1.5”",
        14: "quantity “-2”",
        15: "unit cost cannot be negative",
        16: "unit cost “abc” is not a number",
        17: "SOFA-9 is a dropship product",
        20: "expires on 2030-03-01 (line 19), not 2030-04-01",
        21: "unit cost is required",
        22: "leave the expiry empty",
    }
    for line, reason in expected.items():
        assert any(
            text.startswith(f"line {line}:") and reason in text for text in message.splitlines()
        ), (line, reason, message)
    for good_line in (2, 18, 19):
        assert f"line {good_line}:" not in message
    assert "18 bad rows; nothing was imported" in message
    assert not StockMove.objects.exists()
    assert not StockLevel.objects.exists()
    assert set(Lot.objects.values_list("code", flat=True)) == {"OLD"}


@pytest.mark.django_db
def test_stock_missing_columns(tmp_path, product, locations):
    message = refused("import_stock", tmp_path, "sku,location,qty\nMUG-001,WH1-A-01,1\n")
    assert "Required column(s) missing: quantity, unit_cost" in message


@pytest.mark.django_db
def test_ledger_refusal_half_way_rolls_back_earlier_receipts(
    monkeypatch, product, lot_product, locations
):
    real_receive = ledger.receive

    def receive(**kwargs):
        if kwargs["product"].sku == "TEA-100":
            from inventory.errors import LocationInactive

            raise LocationInactive("Location went away.")
        return real_receive(**kwargs)

    monkeypatch.setattr(ledger, "receive", receive)
    with pytest.raises(imports.ImportRefused) as info:
        imports.import_stock(
            "sku,location,lot,expires_on,quantity,unit_cost\n"
            "MUG-001,WH1-A-01,,,10,2.50\n"
            "TEA-100,WH1-A-01,L1,2030-01-01,1,1\n"
        )
    assert str(info.value.errors[0]) == "line 3: Location went away."
    assert not StockMove.objects.exists()
    assert not CostLayer.objects.exists()


@pytest.mark.parametrize("command", ["import_products", "import_stock", "import_supplier_stock"])
def test_import_commands_say_when_the_file_cannot_be_read(db, tmp_path, command):
    from django.core.management import CommandError, call_command

    missing = tmp_path / "nope.csv"
    with pytest.raises(CommandError, match=r"Cannot read .*nope\.csv: No such file"):
        call_command(command, str(missing))
