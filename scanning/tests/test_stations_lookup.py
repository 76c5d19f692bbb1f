"""Look up station: what a scan is, with stock, contents, expiry and status."""

from datetime import date

import pytest

from inventory import ledger
from inventory.models import Lot, Product, StockLevel


@pytest.fixture
def stocked(locations, product, lot_product):
    ledger.receive(product=product, location=locations["bin1"], quantity=7, unit_cost=1)
    ledger.receive(
        product=lot_product,
        location=locations["bin2"],
        quantity=4,
        unit_cost=1,
        lot_code="L1",
        expires_on=date(2031, 5, 31),
    )


@pytest.mark.parametrize("htmx", [True, False])
def test_product_shows_stock_by_location(client, clerk, scan, stocked, htmx):
    client.force_login(clerk)
    html = scan("lookup", "4006381333931", htmx=htmx).content.decode()
    assert "WH1-A-01: 7 on hand, 7 available" in html


def test_location_shows_its_contents(client, clerk, scan, stocked):
    client.force_login(clerk)
    html = scan("lookup", "WH1-A-02").content.decode()
    assert "TEA-100 lot L1: 4 on hand, 4 available" in html


def test_lot_shows_expiry_and_where(client, clerk, scan, stocked):
    client.force_login(clerk)
    html = scan("lookup", "L1").content.decode()
    assert "Expires 2031-05-31." in html and "WH1-A-02 lot L1: 4 on hand" in html


def test_unknown_code_is_refused_in_words(client, clerk, scan, stocked):
    client.force_login(clerk)
    response = scan("lookup", "NOPE-42")
    html = response.content.decode()
    assert "No product, location, lot or order has the code" in html
    assert "scan-error" in html
    assert response["HX-Trigger-After-Settle"] == '{"scan-error": {}}'


def test_query_count_does_not_grow_with_rows(
    client, clerk, scan, stocked, locations, django_assert_max_num_queries
):
    client.force_login(clerk)
    scan("lookup", "WH1-A-01")
    with django_assert_max_num_queries(12):
        scan("lookup", "WH1-A-01")
    for number in range(15):
        extra = Product.objects.create(sku=f"X-{number}", name="Extra")
        ledger.receive(product=extra, location=locations["bin1"], quantity=1, unit_cost=1)
    with django_assert_max_num_queries(13):
        html = scan("lookup", "WH1-A-01").content.decode()
    assert "X-14" in html
    assert StockLevel.objects.filter(location=locations["bin1"]).count() == 16
    assert Lot.objects.count() == 1
