"""Count station: location → items (scans add, a number sets) → DONE posts the differences."""

from datetime import date

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory import ledger
from inventory.models import CountRecord, Product, StockLevel, StockMove
from scanning.models import StationSession
from scanning.stations.count import SHOWN


def on_hand(product, location) -> int:
    return sum(
        StockLevel.objects.filter(product=product, location=location).values_list(
            "on_hand", flat=True
        )
    )


@pytest.fixture
def stocked(locations, product, lot_product):
    ledger.receive(product=product, location=locations["bin1"], quantity=5, unit_cost=1)
    ledger.receive(
        product=lot_product,
        location=locations["bin1"],
        quantity=3,
        unit_cost=1,
        lot_code="L1",
        expires_on=date(2031, 5, 31),
    )


def counts():
    return StockMove.objects.filter(kind=StockMove.Kind.COUNT)


@pytest.mark.parametrize("htmx", [True, False])
def test_happy_path_posts_differences(
    client, clerk, scan, stocked, product, lot_product, locations, htmx
):
    client.force_login(clerk)
    for code in ("WH1-A-01", "MUG-001", "MUG-001", "4006381333931"):
        assert "scan-ok" in scan("count", code, htmx=htmx).content.decode()
    html = scan("count", "", action="done", htmx=htmx).content.decode()
    assert "Counted WH1-A-01: 2 difference(s) posted." in html
    assert on_hand(product, locations["bin1"]) == 3
    assert on_hand(lot_product, locations["bin1"]) == 0  # not scanned: counted as zero
    assert counts().count() == 2 and set(counts().values_list("user", flat=True)) == {clerk.pk}


def test_typed_number_sets_the_last_items_count(client, clerk, scan, stocked, product, locations):
    client.force_login(clerk)
    for code in ("WH1-A-01", "L1", "3", "MUG-001", "12", "DONE"):
        scan("count", code)
    assert on_hand(product, locations["bin1"]) == 12
    assert counts().count() == 1


def test_expected_quantities_shown_unless_blind(client, clerk, scan, stocked):
    client.force_login(clerk)
    scan("count", "WH1-A-01")
    html = scan("count", "MUG-001").content.decode()
    assert '<th scope="col">Expected</th>' in html and "<td>5</td>" in html
    assert "not scanned: counts as 0" in html
    blind = scan("count", "", action="blind").content.decode()
    assert "Expected" not in blind and "<td>5</td>" not in blind and "not scanned" not in blind


def test_item_before_location_is_refused(client, clerk, scan, stocked):
    client.force_login(clerk)
    assert "Scan the location to count first." in scan("count", "MUG-001").content.decode()


def test_tracked_item_without_lot_is_refused_and_count_kept(client, clerk, scan, stocked):
    client.force_login(clerk)
    scan("count", "WH1-A-01")
    scan("count", "MUG-001")
    html = scan("count", "TEA-100").content.decode()
    assert "scan-error" in html and "Scan the lot label of TEA-100" in html
    state = StationSession.objects.get(user=clerk, station="count").state
    assert [line["counted"] for line in state["lines"]] == [1]


def test_another_location_is_refused_while_counting(client, clerk, scan, stocked):
    client.force_login(clerk)
    scan("count", "WH1-A-01")
    html = scan("count", "WH1-A-02").content.decode()
    assert "Finish counting WH1-A-01" in html
    assert not counts().exists()


def test_committed_stock_refuses_the_whole_count(client, clerk, scan, stocked, product, locations):
    ledger.reserve(product=product, location=locations["bin1"], quantity=4)
    client.force_login(clerk)
    for code in ("WH1-A-01", "L1", "3", "MUG-001"):
        scan("count", code)
    html = scan("count", "DONE").content.decode()
    assert "scan-error" in html and "committed" in html
    assert not counts().exists() and not CountRecord.objects.exists()
    state = StationSession.objects.get(user=clerk, station="count").state
    assert len(state["lines"]) == 2


def test_same_scan_id_done_twice_posts_once(client, clerk, scan, stocked):
    client.force_login(clerk)
    scan("count", "WH1-A-01")
    scan("count", "MUG-001")
    scan("count", "DONE", scan_id="done-1")
    scan("count", "DONE", scan_id="done-1")
    assert counts().count() == 2


def test_count_list_orders_by_days_since_counted(client, clerk, scan, stocked, locations):
    client.force_login(clerk)
    for code in ("WH1-A-01", "DONE"):
        scan("count", code)
    html = client.get(reverse("scan_count_list")).content.decode()
    assert html.index("WH1-A-02") < html.index("WH1-A-01")
    assert "<td>0</td>" in html and "never" in html


def test_count_list_needs_permission(client, buyer):
    client.force_login(buyer)
    assert client.get(reverse("scan_count_list")).status_code == 403
    assert client.get(reverse("scan_station", args=["count"])).status_code == 403


def test_query_count_per_scan_does_not_grow(
    client, clerk, scan, stocked, locations, django_assert_max_num_queries
):
    client.force_login(clerk)
    scan("count", "WH1-A-01")
    with django_assert_max_num_queries(14):
        scan("count", "MUG-001")
    for number in range(10):
        extra = Product.objects.create(sku=f"X-{number}", name="Extra")
        ledger.receive(product=extra, location=locations["bin1"], quantity=1, unit_cost=1)
        scan("count", f"X-{number}")
    with django_assert_max_num_queries(14):
        scan("count", "MUG-001")


def rows(html: str) -> int:
    return html.count("<tr><td>")


def scan_in(scan, location: str, code: str = "MUG-001") -> tuple[int, str]:
    """Start counting ``location``, time one item scan's queries, then cancel the count."""
    scan("count", location)
    with CaptureQueriesContext(connection) as queries:
        html = scan("count", code).content.decode()
    scan("count", action="cancel")  # drops the item
    scan("count", action="cancel")  # leaves the location
    return len(queries), html


def test_a_scan_costs_the_same_in_a_location_of_many_balances(
    client, clerk, scan, stocked, product, locations
):
    client.force_login(clerk)
    for number in range(SHOWN + 30):
        extra = Product.objects.create(sku=f"X-{number:03}", name="Extra")
        ledger.receive(product=extra, location=locations["bin2"], quantity=1, unit_cost=1)
    ledger.receive(product=product, location=locations["bin2"], quantity=7, unit_cost=1)
    few, few_html = scan_in(scan, "WH1-A-01")  # 2 balances
    many, many_html = scan_in(scan, "WH1-A-02")  # 81 balances
    assert few == many
    assert rows(few_html) == 2
    assert rows(many_html) == SHOWN  # the scanned item and 49 of the 80 not scanned
    assert "Last: <strong>MUG-001 Enamel mug</strong>, counted 1 (expected 7)" in many_html
    assert "1 item scanned, 1 unit; 80 expected items not scanned yet" in many_html
    assert "… and 31 more not scanned yet." in many_html


def test_only_the_latest_scans_are_listed(client, clerk, scan, locations):
    client.force_login(clerk)
    for number in range(SHOWN + 5):
        Product.objects.create(sku=f"X-{number:03}", name="Extra")
    scan("count", "WH1-A-01")
    for number in range(SHOWN + 5):
        scan("count", f"X-{number:03}")
    html = scan("count", "X-000").content.decode()
    assert rows(html) == SHOWN
    assert html.index("X-000 Extra") < html.index("X-054 Extra")  # newest first
    assert "X-004 Extra" not in html  # the oldest scans fall off the page
    assert "… and 5 more scanned items." in html
    assert "55 items scanned, 56 units; 0 expected items not scanned yet" in html
    state = StationSession.objects.get(user=clerk, station="count").state
    assert len(state["lines"]) == SHOWN + 5  # all of them still count at DONE


def test_a_count_that_matches_is_kept_under_debug_off(client, clerk, scan, stocked, locations):
    """Nothing differs, no move is posted, but both items are kept as counted (accuracy)."""
    client.force_login(clerk)
    with override_settings(DEBUG=False):
        for code in ("WH1-A-01", "L1", "3", "MUG-001", "5"):
            scan("count", code)
        html = scan("count", "DONE").content.decode()
    assert "Counted WH1-A-01: 0 difference(s) posted." in html
    assert not counts().exists()
    kept = CountRecord.objects.values_list(
        "location", "expected", "counted", "difference", "counted_by"
    )
    bin1 = locations["bin1"].pk
    assert sorted(kept) == [(bin1, 3, 3, 0, clerk.pk), (bin1, 5, 5, 0, clerk.pk)]
