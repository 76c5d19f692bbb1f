"""Put away / move station: source → item (lot) → quantity → destination → transfer."""

from datetime import date

import pytest

from inventory import ledger
from inventory.models import StockLevel, StockMove
from scanning.models import StationSession


def on_hand(product, location) -> int:
    return sum(
        StockLevel.objects.filter(product=product, location=location).values_list(
            "on_hand", flat=True
        )
    )


def state(user) -> dict:
    return StationSession.objects.get(user=user, station="putaway").state


@pytest.fixture
def stocked(locations, product, lot_product):
    ledger.receive(product=product, location=locations["receiving"], quantity=10, unit_cost=1)
    ledger.receive(
        product=lot_product,
        location=locations["receiving"],
        quantity=6,
        unit_cost=1,
        lot_code="L1",
        expires_on=date(2031, 5, 31),
    )


@pytest.mark.parametrize("htmx", [True, False])
def test_happy_path_with_typed_quantity(client, clerk, scan, stocked, product, locations, htmx):
    client.force_login(clerk)
    for code in ("WH1-RCV", "4006381333931", "4"):
        assert "scan-ok" in scan("putaway", code, htmx=htmx).content.decode()
    html = scan("putaway", "WH1-A-01", htmx=htmx).content.decode()
    assert "Moved 4 × MUG-001 Enamel mug to WH1-A-01." in html
    assert on_hand(product, locations["bin1"]) == 4
    assert on_hand(product, locations["receiving"]) == 6
    move = StockMove.objects.get(kind=StockMove.Kind.TRANSFER)
    assert move.user == clerk
    assert state(clerk)["source"]["label"] == "WH1-RCV" and "item" not in state(clerk)


def test_number_before_the_item_is_its_quantity(client, clerk, scan, stocked, product, locations):
    client.force_login(clerk)
    for code in ("WH1-RCV", "3", "MUG-001", "WH1-A-02"):
        scan("putaway", code)
    assert on_hand(product, locations["bin2"]) == 3


def test_scanning_the_item_again_adds_one(client, clerk, scan, stocked, product, locations):
    client.force_login(clerk)
    for code in ("WH1-RCV", "MUG-001", "MUG-001", "WH1-A-02"):
        scan("putaway", code)
    assert on_hand(product, locations["bin2"]) == 2


def test_tracked_item_asks_for_the_lot(client, clerk, scan, stocked, lot_product, locations):
    client.force_login(clerk)
    scan("putaway", "WH1-RCV")
    scan("putaway", "TEA-100")
    refused = scan("putaway", "WH1-A-01").content.decode()
    assert "Scan the lot of TEA-100" in refused and "scan-error" in refused
    assert not StockMove.objects.filter(kind=StockMove.Kind.TRANSFER).exists()
    scan("putaway", "L1")
    scan("putaway", "2")
    scan("putaway", "WH1-A-01")
    level = StockLevel.objects.get(product=lot_product, location=locations["bin1"])
    assert level.on_hand == 2 and level.lot.code == "L1"


def test_gs1_with_lot_fills_the_lot(client, clerk, scan, stocked, lot_product, locations):
    lot_product.gtin = "09506000134352"
    lot_product.save()
    client.force_login(clerk)
    scan("putaway", "WH1-RCV")
    assert "scan-ok" in scan("putaway", "]C1010950600013435210L1").content.decode()
    scan("putaway", "WH1-A-02")
    assert StockLevel.objects.get(product=lot_product, location=locations["bin2"]).on_hand == 1


def assert_refused_and_kept(html, message, user):
    assert "scan-error" in html and message in html, html
    assert not StockMove.objects.filter(kind=StockMove.Kind.TRANSFER).exists()
    assert state(user)["item"]["product"]["label"].startswith("MUG-001")
    assert state(user)["source"]["label"] == "WH1-RCV"


def test_not_enough_free_stock_is_refused(client, clerk, scan, stocked):
    client.force_login(clerk)
    for code in ("WH1-RCV", "MUG-001", "50"):
        scan("putaway", code)
    html = scan("putaway", "WH1-A-01").content.decode()
    assert_refused_and_kept(html, "MUG-001", clerk)
    assert state(clerk)["item"]["quantity"] == 50


def test_same_location_is_refused(client, clerk, scan, stocked):
    client.force_login(clerk)
    scan("putaway", "WH1-RCV")
    scan("putaway", "MUG-001")
    assert_refused_and_kept(scan("putaway", "WH1-RCV").content.decode(), "already in", clerk)


def test_inactive_destination_is_refused(client, clerk, scan, stocked, locations):
    locations["bin2"].active = False
    locations["bin2"].save()
    client.force_login(clerk)
    scan("putaway", "WH1-RCV")
    scan("putaway", "MUG-001")
    html = scan("putaway", "WH1-A-02").content.decode()
    assert "scan-error" in html
    assert not StockMove.objects.filter(kind=StockMove.Kind.TRANSFER).exists()


def test_item_before_source_is_refused(client, clerk, scan, stocked):
    client.force_login(clerk)
    html = scan("putaway", "MUG-001").content.decode()
    assert "Scan the location you take from first." in html
    assert StationSession.objects.get(user=clerk, station="putaway").state == {}


def test_another_item_before_finishing_is_refused(client, clerk, scan, stocked):
    client.force_login(clerk)
    scan("putaway", "WH1-RCV")
    scan("putaway", "MUG-001")
    html = scan("putaway", "TEA-100").content.decode()
    assert_refused_and_kept(html, "Finish MUG-001", clerk)


def test_query_count_per_scan_does_not_grow(
    client, clerk, scan, stocked, product, locations, django_assert_max_num_queries
):
    client.force_login(clerk)
    scan("putaway", "WH1-RCV")
    with django_assert_max_num_queries(12):
        scan("putaway", "MUG-001")
    # The transfer writes the product position too; the product is read and locked in one
    # statement. The first one creates the destination's balance (two queries more).
    with django_assert_max_num_queries(23):
        scan("putaway", "WH1-A-01")
    for number in range(20):
        scan("putaway", f"NOPE-{number}")
    with django_assert_max_num_queries(12):
        scan("putaway", "MUG-001")
    with django_assert_max_num_queries(21):
        scan("putaway", "WH1-A-01")
    assert on_hand(product, locations["bin1"]) == 2
