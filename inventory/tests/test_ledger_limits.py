"""Balances stay inside their columns (32-bit on PostgreSQL) on every database (issue 15 item 5).

Three adjustments of +999,999,999 are each a plausible quantity, but the third would
take ``on_hand`` past 2,147,483,647: PostgreSQL answered a 500 (integer out of range)
and SQLite stored 2,999,999,997. Every operation that adds units now refuses the same
way on both, with a message, before it writes.
"""

import pytest
from django.urls import reverse

from common.testing import text_of
from inventory import errors, imports, ledger
from inventory.models import StockLevel
from inventory.tests.conftest import refused

BIG = 999_999_999


def on_hand(product, location) -> int:
    return StockLevel.objects.get(product=product, location=location, lot=None).on_hand


def test_the_third_big_adjustment_is_refused(product, locations):
    bin1 = locations["bin1"]
    for _ in range(2):
        ledger.adjust(product=product, location=bin1, quantity=BIG, reason="found", unit_cost=1)
    with refused(errors.TooMuchStock, "too_much_stock", "MUG-001", "1999999998", "2147483647"):
        ledger.adjust(product=product, location=bin1, quantity=BIG, reason="found", unit_cost=1)
    assert on_hand(product, bin1) == 2 * BIG


def test_a_receipt_past_the_column_is_refused(product, locations):
    bin1 = locations["bin1"]
    ledger.receive(product=product, location=bin1, quantity=BIG, unit_cost=1)
    ledger.receive(product=product, location=bin1, quantity=BIG, unit_cost=1)
    with refused(errors.TooMuchStock, "too_much_stock", "MUG-001"):
        ledger.receive(product=product, location=bin1, quantity=BIG, unit_cost=1)


def test_a_transfer_into_a_full_balance_is_refused(product, locations):
    for _ in range(2):
        ledger.receive(product=product, location=locations["bin1"], quantity=BIG, unit_cost=1)
    ledger.receive(product=product, location=locations["bin2"], quantity=BIG, unit_cost=1)
    with refused(errors.TooMuchStock, "too_much_stock", "MUG-001"):
        ledger.transfer(
            product=product,
            from_location=locations["bin2"],
            to_location=locations["bin1"],
            quantity=BIG,
        )


def test_the_largest_balance_is_accepted(product, locations):
    bin1 = locations["bin1"]
    ledger.receive(product=product, location=bin1, quantity=ledger.MAX_QUANTITY, unit_cost=1)
    ledger.receive(product=product, location=bin1, quantity=ledger.MAX_QUANTITY, unit_cost=1)
    rest = ledger.MAX_BALANCE - 2 * ledger.MAX_QUANTITY
    ledger.adjust(product=product, location=bin1, quantity=rest, reason="found", unit_cost=1)
    assert on_hand(product, bin1) == ledger.MAX_BALANCE == 2_147_483_647
    with refused(errors.TooMuchStock, "too_much_stock"):
        ledger.adjust(product=product, location=bin1, quantity=1, reason="found", unit_cost=1)


def test_an_import_summing_past_the_column_reports_the_line(product, locations):
    rows = "".join(f"MUG-001,WH1-A-01,,,{BIG},1\n" for _ in range(3))
    with pytest.raises(imports.ImportRefused) as info:
        imports.import_stock("sku,location,lot,expires_on,quantity,unit_cost\n" + rows)
    assert [error.line for error in info.value.errors] == [4]
    assert "2147483647" in str(info.value.errors[0])
    assert not StockLevel.objects.exists()


def test_the_adjust_page_shows_the_refusal_and_keeps_the_input(
    client, manager, product, locations
):

    client.force_login(manager)
    data = {"product": "MUG-001", "location": "WH1-A-01", "quantity": BIG, "reason": "found"}
    for _ in range(2):
        assert client.post(reverse("adjust_stock"), data).status_code == 302
    response = client.post(reverse("adjust_stock"), data)
    assert response.status_code == 200
    assert "largest balance a location can hold (2147483647)" in text_of(response)
    assert f'value="{BIG}"' in response.content.decode()
    assert on_hand(product, locations["bin1"]) == 2 * BIG
