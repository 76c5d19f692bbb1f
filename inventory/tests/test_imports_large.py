"""Large product files: read as they go, checked without a transaction, written in bulk."""

from decimal import Decimal

import pytest
from django.db import connection

from inventory import imports
from inventory.imports import products as products_import
from inventory.models import Product


def _lines(count: int, start: int = 0) -> str:
    return "".join(f"BULK-{i:05d},Product {i}\n" for i in range(start, start + count))


@pytest.mark.django_db(transaction=True)
def test_the_file_is_checked_outside_any_transaction_and_written_inside_one(monkeypatch, tmp_path):
    """SQLite takes the write lock at BEGIN: checking inside it locked every writer out."""
    seen = {}
    real_prefetch, real_write = products_import._ProductFile.prefetch, products_import._write_chunk

    def prefetch(self, rows):
        seen.setdefault("checking", set()).add(connection.in_atomic_block)
        return real_prefetch(self, rows)

    def write_chunk(chunk, known_lines, result):
        seen.setdefault("writing", set()).add(connection.in_atomic_block)
        return real_write(chunk, known_lines, result)

    monkeypatch.setattr(products_import._ProductFile, "prefetch", prefetch)
    monkeypatch.setattr(products_import, "_write_chunk", write_chunk)
    monkeypatch.setattr(products_import, "BATCH", 3)
    path = tmp_path / "products.csv"
    path.write_text("sku,name\n" + _lines(7), encoding="utf-8")

    result = imports.import_products(path)

    assert seen == {"checking": {False}, "writing": {True}}
    assert result.created == 7 == Product.objects.count()
    assert Product.history.filter(history_type="+").count() == 7


@pytest.mark.django_db
def test_repeats_are_found_across_chunks_and_every_bad_row_is_reported(
    monkeypatch, tmp_path, product
):
    monkeypatch.setattr(products_import, "BATCH", 2)
    path = tmp_path / "products.csv"
    path.write_text(
        "sku,name,gtin\n"
        "NEW-1,One,96385074\n"  # line 2
        "New-2,Two,\n"
        "NEW-3,Three,\n"
        "NEW-1,One again,\n"  # line 5: repeats line 2 in another chunk
        "NEW-2,Two again,\n"  # line 6: differs in case from line 3
        "NEW-7,Seven,00000096385074\n"  # line 7: the GTIN of line 2
        "mug-001,Mug,\n",  # line 8: the existing MUG-001 in another case
        encoding="utf-8",
    )
    with pytest.raises(imports.ImportRefused) as info:
        imports.import_products(path)
    assert [str(error) for error in info.value.errors] == [
        "line 5: SKU NEW-1 appears again (first on line 2)",
        "line 6: SKU NEW-2 differs only in case from New-2 on line 3 (SKUs ignore case)",
        "line 7: GTIN 00000096385074 appears again (first on line 2)",
        "line 8: SKU mug-001 differs only in case from the existing product MUG-001 "
        "(SKUs ignore case)",
    ]
    assert list(Product.objects.values_list("sku", flat=True)) == ["MUG-001"]


@pytest.mark.django_db
def test_a_late_byte_that_is_not_utf8_is_reported_on_its_line(tmp_path):
    path = tmp_path / "products.csv"
    path.write_bytes(
        b"sku,name\n" + _lines(3000).encode() + b"LATE-1,Caf\xe9\n" + _lines(10, 5000).encode()
    )
    with pytest.raises(imports.ImportRefused) as info:
        imports.import_products(path)
    assert [str(error) for error in info.value.errors] == [
        "line 3002: The file is not UTF-8 text (this line cannot be read); "
        "save it as “CSV UTF-8” and try again"
    ]
    assert not Product.objects.exists()


@pytest.mark.django_db
def test_updates_and_creates_in_one_file_with_history(monkeypatch, product):
    monkeypatch.setattr(products_import, "BATCH", 2)
    result = imports.import_products(
        "sku,name,sell_price\nA-1,First,1.50\nMUG-001,Mug renamed,\nB-2,Second,\nmug-9,Nine,2\n"
    )
    assert (result.created, result.updated, result.unchanged) == (3, 1, 0)
    product.refresh_from_db()
    assert product.name == "Mug renamed"
    assert Product.objects.get(sku="A-1").sell_price == Decimal("1.50")
    assert Product.objects.get(sku="B-2").sell_price == Decimal("0.00")
    assert Product.history.filter(sku="MUG-001", history_type="~").count() == 1


@pytest.mark.django_db
def test_a_gtin_taken_between_checking_and_writing_refuses_the_whole_file(monkeypatch):
    real_refusals = products_import._refusals

    def refusals_then_another_writer(source, progress):
        checked = real_refusals(source, progress)
        Product.objects.create(sku="OTHER", name="Other", gtin="96385074")
        return checked

    monkeypatch.setattr(products_import, "_refusals", refusals_then_another_writer)
    with pytest.raises(imports.ImportRefused) as info:
        imports.import_products("sku,name,gtin\nA-1,First,\nB-2,Second,96385074\n")
    assert "changed while the file was being checked" in str(info.value)
    assert list(Product.objects.values_list("sku", flat=True)) == ["OTHER"]


@pytest.mark.django_db
def test_a_file_rewritten_between_checking_and_writing_is_refused(monkeypatch, tmp_path):
    path = tmp_path / "products.csv"
    path.write_text("sku,name\nA-1,First\n", encoding="utf-8")
    real_refusals = products_import._refusals

    def refusals_then_rewrite(source, progress):
        checked = real_refusals(source, progress)
        path.write_text("sku,name\nA-1,First\n,\nB-2,\n", encoding="utf-8")
        return checked

    monkeypatch.setattr(products_import, "_refusals", refusals_then_rewrite)
    with pytest.raises(imports.ImportRefused) as info:
        imports.import_products(path)
    assert "The file changed while it was being checked" in str(info.value)
    assert not Product.objects.exists()


@pytest.mark.django_db
def test_a_sku_taken_in_another_case_meanwhile_refuses_the_whole_file(monkeypatch):
    real_refusals = products_import._refusals

    def refusals_then_another_writer(source, progress):
        checked = real_refusals(source, progress)
        Product.objects.create(sku="b-2", name="Other")
        return checked

    monkeypatch.setattr(products_import, "_refusals", refusals_then_another_writer)
    with pytest.raises(imports.ImportRefused) as info:
        imports.import_products("sku,name\nA-1,First\nB-2,Second\n")
    assert "changed while the file was being checked" in str(info.value)
    assert list(Product.objects.values_list("sku", flat=True)) == ["b-2"]


@pytest.mark.django_db
def test_the_import_keeps_sqlite_page_cache_small_and_gives_it_back():
    if connection.vendor != "sqlite":
        return  # PostgreSQL has no per-connection page cache to set
    seen = []

    def watch(stage, rows):
        with connection.cursor() as cursor:
            seen.append(cursor.execute("PRAGMA cache_size").fetchone()[0])

    imports.import_products("sku,name\nC-1,Cup\n", progress=watch)
    assert set(seen) == {-products_import.IMPORT_CACHE_KB}
    with connection.cursor() as cursor:
        assert cursor.execute("PRAGMA cache_size").fetchone()[0] == -64000


@pytest.mark.django_db
def test_updates_set_only_what_changed_row_by_row():
    imports.import_products(
        "sku,name,gtin,sell_price,tracking\n"
        "U-1,Cup,2000000000428,1.00,none\nU-2,Mug,,2.00,none\nU-3,Jug,,3.00,none\n"
    )
    result = imports.import_products(
        "sku,name,gtin,sell_price,tracking\n"
        "U-1,Cup,,1.50,none\n"  # price only; the empty GTIN keeps the one it has
        "U-2,Big mug,4006381333931,2.00,lot\n"  # name, GTIN and tracking
        "U-3,Jug,,3.00,none\n"  # nothing
    )
    assert (result.created, result.updated, result.unchanged) == (0, 2, 1)
    got = {
        p.sku: (p.name, p.gtin, p.sell_price, p.tracking)
        for p in Product.objects.filter(sku__startswith="U-")
    }
    assert got == {
        "U-1": ("Cup", "02000000000428", Decimal("1.50"), "none"),
        "U-2": ("Big mug", "04006381333931", Decimal("2.00"), "lot"),
        "U-3": ("Jug", None, Decimal("3.00"), "none"),
    }
    changed = Product.history.filter(history_type="~")
    assert sorted(changed.values_list("sku", "sell_price")) == [
        ("U-1", Decimal("1.50")),
        ("U-2", Decimal("2.00")),
    ]


@pytest.mark.django_db
def test_a_file_that_changes_nothing_takes_no_write_transaction(monkeypatch):
    text = "sku,name,sell_price\nS-1,Cup,1.00\nS-2,Mug,2.50\n"
    imports.import_products(text)

    def no_transaction(*args, **kwargs):
        raise AssertionError("a write transaction was opened")

    monkeypatch.setattr(products_import.transaction, "atomic", no_transaction)
    result = imports.import_products(text.replace("2.50", "2.5"))  # the same price
    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
    with pytest.raises(AssertionError, match="write transaction"):
        imports.import_products(text.replace("2.50", "2.60"))


@pytest.mark.django_db
def test_rows_that_match_are_left_alone_while_the_others_are_written():
    imports.import_products("sku,name\nK-1,Cup\nK-2,Mug\n")
    result = imports.import_products("sku,name\nK-1,Cup\nK-2,Big mug\nK-3,Jug\n")
    assert (result.created, result.updated, result.unchanged) == (1, 1, 1)
    assert Product.history.filter(sku="K-1").count() == 1  # created only
    assert Product.objects.get(sku="K-2").name == "Big mug"
