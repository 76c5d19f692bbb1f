"""Catalog and ledger models: GTINs, append-only journals, database constraints."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from inventory import ledger
from inventory.models import (
    CostLayer,
    Lot,
    Product,
    ProductBarcode,
    ReservationEntry,
    StockLevel,
    StockMove,
    normalize_gtin,
)

# --- GTIN ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gtin", "stored"),
    [
        ("96385074", "00000096385074"),  # GTIN-8
        ("036000291452", "00036000291452"),  # GTIN-12 (UPC-A)
        ("4006381333931", "04006381333931"),  # GTIN-13 (EAN-13)
        ("10614141000415", "10614141000415"),  # GTIN-14
        (" 400 6381 333931 ", "04006381333931"),
    ],
)
def test_valid_gtins_are_stored_as_14_digits(db, gtin, stored):
    assert normalize_gtin(gtin) == stored
    product = Product.objects.create(sku=f"P-{stored}", name="x", gtin=gtin)
    product.refresh_from_db()
    assert product.gtin == stored


@pytest.mark.parametrize(
    ("gtin", "words"),
    [
        ("4006381333932", "check digit"),
        ("96385075", "check digit"),
        ("40063813339X1", "8, 12, 13 or 14 digits"),
        ("123", "8, 12, 13 or 14 digits"),
        ("123456789012345", "8, 12, 13 or 14 digits"),
    ],
)
def test_bad_gtins_are_refused_with_a_clear_message(db, gtin, words):
    with pytest.raises(ValidationError) as caught:
        normalize_gtin(gtin)
    assert words in caught.value.messages[0] and gtin in caught.value.messages[0]
    product = Product(sku="BAD-1", name="x", gtin=gtin)
    with pytest.raises(ValidationError) as caught:
        product.full_clean()
    assert "gtin" in caught.value.message_dict
    with pytest.raises(ValidationError):
        product.save()
    assert not Product.objects.filter(sku="BAD-1").exists()


def test_an_empty_gtin_is_stored_as_null_so_many_products_may_lack_one(db):
    Product.objects.create(sku="A-1", name="a", gtin="")
    Product.objects.create(sku="A-2", name="b", gtin="")
    assert Product.objects.filter(gtin__isnull=True).count() == 2


def test_the_same_gtin_in_two_spellings_is_refused(db):
    Product.objects.create(sku="A-1", name="a", gtin="4006381333931")
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.create(sku="A-2", name="b", gtin="04006381333931")


def test_extra_barcodes_normalise_gtins_and_keep_other_codes(product):
    case = ProductBarcode.objects.create(product=product, code="10614141000415", units=12)
    other = ProductBarcode.objects.create(product=product, code=" MUG CASE ")
    assert (case.code, case.units) == ("10614141000415", 12)
    assert other.code == "MUGCASE"
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductBarcode.objects.create(product=product, code="X-0", units=0)


def test_sku_validation(db):
    with pytest.raises(ValidationError) as caught:
        Product(sku="-bad sku", name="x").full_clean()
    assert "sku" in caught.value.message_dict


# --- append-only journals -----------------------------------------------------------


@pytest.fixture
def journal(product, locations):
    ledger.receive(product=product, location=locations["bin1"], quantity=5, unit_cost=1)
    ledger.reserve(product=product, location=locations["bin1"], quantity=2)
    return StockMove.objects.get(), ReservationEntry.objects.get()


@pytest.mark.parametrize("index", [0, 1], ids=["StockMove", "ReservationEntry"])
def test_journal_rows_refuse_update_and_delete(journal, index):
    row = journal[index]
    model = type(row)
    original = model.objects.filter(pk=row.pk).values().get()
    row.quantity = 99
    with pytest.raises(TypeError, match="append-only"):
        row.save()
    with pytest.raises(TypeError, match="append-only"):
        row.save(update_fields=["quantity"])
    with pytest.raises(TypeError, match="append-only"):
        model.objects.filter(pk=row.pk).update(quantity=99)
    with pytest.raises(TypeError, match="append-only"):
        model.objects.bulk_update([row], ["quantity"])
    with pytest.raises(TypeError, match="append-only"):
        row.delete()
    with pytest.raises(TypeError, match="append-only"):
        model.objects.filter(pk=row.pk).delete()
    with pytest.raises(TypeError, match="append-only"):
        model.objects.all().delete()
    assert model.objects.filter(pk=row.pk).values().get() == original


def test_a_new_instance_with_an_existing_key_cannot_overwrite_a_move(journal, product, locations):
    move = journal[0]
    forged = StockMove(
        pk=move.pk, product=product, quantity=500, to_location=locations["bin1"], kind="receipt"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        forged.save()
    move.refresh_from_db()
    assert move.quantity == 5


# --- database constraints -----------------------------------------------------------


@pytest.mark.parametrize(
    ("on_hand", "committed"),
    [(-1, 0), (5, -1), (3, 4)],
    ids=["negative on hand", "negative committed", "committed over on hand"],
)
def test_stock_level_check_constraints(journal, product, locations, on_hand, committed):
    rows = StockLevel.objects.filter(product=product, location=locations["bin1"])
    with pytest.raises(IntegrityError), transaction.atomic():
        rows.update(on_hand=on_hand, committed=committed)
    assert rows.values_list("on_hand", "committed").get() == (5, 2)


def test_stock_level_is_unique_per_place_also_without_lot(journal, product, locations):
    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.create(product=product, location=locations["bin1"])


def test_stock_level_is_unique_per_place_and_lot(lot_product, locations):
    lot = Lot.objects.create(product=lot_product, code="L1")
    StockLevel.objects.create(product=lot_product, location=locations["bin1"], lot=lot)
    StockLevel.objects.create(product=lot_product, location=locations["bin2"], lot=lot)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.create(product=lot_product, location=locations["bin1"], lot=lot)


def test_lot_code_is_unique_per_product(lot_product, product):
    Lot.objects.create(product=lot_product, code="L1")
    Lot.objects.create(product=product, code="L1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Lot.objects.create(product=lot_product, code="L1")


def test_move_and_layer_constraints(journal, product):
    with pytest.raises(IntegrityError), transaction.atomic():
        StockMove.objects.create(product=product, quantity=1, kind="receipt")
    layer = CostLayer.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        CostLayer.objects.filter(pk=layer.pk).update(remaining=layer.quantity + 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        CostLayer.objects.filter(pk=layer.pk).update(remaining=-1)


def test_available_and_lot_expiry(lot_product):
    from datetime import date

    lot = Lot(product=lot_product, code="E", expires_on=date(2026, 1, 31))
    assert lot.is_expired(on=date(2026, 2, 1))
    assert not lot.is_expired(on=date(2026, 1, 31))
    assert not Lot(product=lot_product, code="N").is_expired()
    assert str(lot) == "E (exp. 2026-01-31)"
    assert StockLevel(on_hand=7, committed=3).available == 4
