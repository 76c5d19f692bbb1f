"""Balance rows carry their lot's expiry, kept by the database (inventory migration 0017).

Every way of writing a balance row or a lot keeps the copy: the ledger's raw insert,
``objects.create``, a full ``save()`` of a stale instance, ``Lot.save()`` (the admin) and
a queryset ``update()`` (a data fix). ``check_ledger`` reports a copy that differs.
"""

from datetime import timedelta

from django.db import connection

from inventory import ledger
from inventory.integrity import find_differences
from inventory.models import Lot, StockLevel
from orders.channels.availability import stock_totals


def copies(lot: Lot) -> set:
    return set(StockLevel.objects.filter(lot=lot).values_list("lot_expires_on", flat=True))


def test_a_receipt_into_a_lot_copies_its_expiry(lot_product, product, locations, today):
    lot = Lot.objects.create(product=lot_product, code="A1", expires_on=today + timedelta(9))
    ledger.receive(
        product=lot_product, location=locations["bin1"], quantity=4, unit_cost=1, lot=lot
    )
    ledger.transfer(
        product=lot_product,
        from_location=locations["bin1"],
        to_location=locations["bin2"],
        quantity=1,
        lot=lot,
    )
    assert StockLevel.objects.filter(lot=lot).count() == 2
    assert copies(lot) == {today + timedelta(9)}
    ledger.receive(product=product, location=locations["bin1"], quantity=1, unit_cost=1)
    assert StockLevel.objects.get(product=product).lot_expires_on is None


def test_a_changed_expiry_reaches_every_row_of_that_lot_only(lot_product, locations, today):
    lot = Lot.objects.create(product=lot_product, code="A1", expires_on=today + timedelta(9))
    other = Lot.objects.create(product=lot_product, code="B2", expires_on=today + timedelta(30))
    for where in ("bin1", "bin2"):
        for each in (lot, other):
            ledger.receive(
                product=lot_product, location=locations[where], quantity=2, unit_cost=1, lot=each
            )
    Lot.objects.filter(pk=lot.pk).update(expires_on=today - timedelta(1))
    assert copies(lot) == {today - timedelta(1)}
    assert copies(other) == {today + timedelta(30)}
    warehouse = locations["bin1"].warehouse_id
    assert stock_totals([warehouse], [lot_product.pk])[lot_product.pk]["available"] == 4

    other.expires_on = None  # the admin's form saves the whole lot
    other.save()
    assert copies(other) == {None}
    assert stock_totals([warehouse], [lot_product.pk])[lot_product.pk]["available"] == 4
    assert list(find_differences()) == []


def test_rows_written_by_the_orm_get_the_copy_whatever_they_carry(lot_product, locations, today):
    lot = Lot.objects.create(product=lot_product, code="A1", expires_on=today + timedelta(5))
    created = StockLevel.objects.create(
        product=lot_product, location=locations["bin1"], lot=lot, lot_expires_on=today
    )
    assert copies(lot) == {today + timedelta(5)}
    created.lot_expires_on = None  # a stale instance saved whole
    created.save()
    assert copies(lot) == {today + timedelta(5)}
    plain = StockLevel.objects.create(
        product=lot_product, location=locations["bin2"], lot_expires_on=today
    )
    plain.refresh_from_db()
    assert plain.lot_expires_on is None


def test_check_ledger_reports_a_copy_that_differs(
    lot_product, plain_lot_product, locations, today
):
    lots = [
        Lot.objects.create(product=product, code=code, expires_on=expiry)
        for product, code, expiry in [
            (lot_product, "A1", today + timedelta(5)),
            (lot_product, "B2", today),
            (plain_lot_product, "C3", None),
        ]
    ]
    for lot in lots:
        ledger.receive(
            product=lot.product, location=locations["bin1"], quantity=2, unit_cost=1, lot=lot
        )
    assert list(find_differences()) == []
    with connection.cursor() as cursor:  # as if a migration had dropped the trigger
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER lot_expiry_to_stock_levels ON inventory_lot")
        else:
            cursor.execute("DROP TRIGGER lot_expiry_to_stock_levels")
    first, second, third = lots
    Lot.objects.filter(pk=first.pk).update(expires_on=today)  # a date for another date
    Lot.objects.filter(pk=second.pk).update(expires_on=None)  # a date for none
    Lot.objects.filter(pk=third.pk).update(expires_on=today)  # none for a date
    problems = list(find_differences())
    assert len(problems) == 3
    for lot, problem in zip(lots, problems, strict=True):
        assert f"lot {lot.pk}" in problem and "expiry" in problem
