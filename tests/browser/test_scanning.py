"""The scan stations in a real browser, typed as a keyboard-wedge scanner types.

"A day on the floor": receive a PO with GS1 lot/expiry codes (one with Ctrl+] as the
group separator), put away, count a location, pick an order, then assert the ledger. The burst test
types three scans with no waits while the server is slowed down, and checks each
arrived once, in order. Each station is screenshotted at 360 px.
"""

import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from inventory.models import StockLevel, StockMove
from inventory.roles import ROLE_PERMISSIONS
from orders.models import Channel, ChannelWarehouse, SalesOrder, Supplier, SupplierProduct
from orders.purchasing import services as purchasing
from orders.sales import services as sales
from scanning import station_views
from scanning.models import ScanRecord

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots" / "360"
TEA_GTIN = "09506000134352"


@pytest.fixture(autouse=True)
def roles(transactional_db):
    """Recreate the role groups: a transactional test's flush empties the migration's rows."""
    from django.contrib.auth.models import Group, Permission

    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for name in names:
            app_label, codename = name.split(".")
            group.permissions.add(
                *Permission.objects.filter(content_type__app_label=app_label, codename=codename)
            )


@pytest.fixture
def order(warehouse, locations, product, lot_product, buyer):
    lot_product.gtin = TEA_GTIN
    lot_product.save()
    supplier = Supplier.objects.create(code="ACME", name="Acme", email="o@acme.example")
    for item in (product, lot_product):
        SupplierProduct.objects.create(
            supplier=supplier, product=item, unit_cost=Decimal("1.00"), preferred=True
        )
    order = purchasing.create_order(supplier=supplier, warehouse=warehouse, user=buyer)
    purchasing.set_line(order=order, product=product, quantity=10, user=buyer)
    purchasing.set_line(order=order, product=lot_product, quantity=20, user=buyer)
    return purchasing.send_order(order=order, user=buyer)


def sales_order(warehouse) -> SalesOrder:
    channel = Channel.objects.create(code="WEB", name="Web", kind=Channel.Kind.WEB_STORE)
    ChannelWarehouse.objects.create(channel=channel, warehouse=warehouse, priority=1)
    order, _ = sales.create_order(
        channel=channel,
        external_ref="WEB-77",
        customer_name="Ada",
        shipping_address="12 Row",
        lines=[{"sku": "MUG-001", "quantity": 2, "unit_price": Decimal("9.90")}],
    )
    return order


def station(page, url, kind):
    page.goto(f"{url}/scan/{kind}/")
    expect(page.locator("#scan-code")).to_be_focused()


def scanner(page, code: str, expect_text: str, *, separator_after: str | None = None):
    """Type ``code`` as a scanner does (fast keys, then Enter) and wait for the answer."""
    page.keyboard.type(code, delay=5)
    if separator_after is not None:
        page.keyboard.press("Control+BracketRight")
        page.keyboard.type(separator_after, delay=5)
    page.keyboard.press("Enter")
    expect(page.locator("#scan-panel")).to_contain_text(expect_text)
    expect(page.locator("#scan-code")).to_be_focused()
    expect(page.locator("#scan-code")).to_have_value("")


def shot(page, name: str):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"scan-{name}.png"), full_page=True)


def test_a_day_on_the_floor(
    live_server, login, page, clerk, order, product, lot_product, locations
):
    page.set_viewport_size({"width": 360, "height": 800})
    page = login(clerk)
    url = live_server.url
    expires = timezone.localdate() + timedelta(days=400)

    station(page, url, "receive")
    scanner(page, order.number, f"Receiving {order.number}.")
    # GS1 with the lot before the expiry: the scanner sends the separator as Ctrl+].
    scanner(page, f"01{TEA_GTIN}10L77", "TEA-100", separator_after=f"17{expires:%y%m%d}")
    scanner(page, "5", "Quantity 5.")
    scanner(page, "DONE", "Received 5 × TEA-100")
    scanner(page, "4006381333931", "MUG-001")
    scanner(page, "8", "Quantity 8.")
    shot(page, "receive")
    scanner(page, "DONE", "Received 8 × MUG-001")

    station(page, url, "putaway")
    scanner(page, "WH1-RCV", "From WH1-RCV.")
    scanner(page, "6", "Quantity 6 for the next item.")
    scanner(page, "MUG-001", "MUG-001 Enamel mug: 6.")
    shot(page, "putaway")
    scanner(page, "WH1-A-01", "Moved 6 × MUG-001")
    scanner(page, "L77", "TEA-100")
    page.keyboard.press("Escape")
    expect(page.locator("#scan-panel")).to_contain_text("Item cancelled.")
    expect(page.locator("#scan-code")).to_be_focused()

    station(page, url, "count")
    scanner(page, "WH1-A-01", "Counting WH1-A-01.")
    scanner(page, "MUG-001", "MUG-001 Enamel mug: 1.")
    scanner(page, "5", "counted 5.")
    shot(page, "count")
    scanner(page, "DONE", "1 difference(s) posted.")

    customer = sales_order(warehouse=locations["bin1"].warehouse)
    station(page, url, "pick")
    scanner(page, "WEB-77", f"Picking {customer.number}: 1 line(s).")
    scanner(page, "WH1-A-01", "At WH1-A-01.")
    scanner(page, "MUG-001", "1 of 2.")
    shot(page, "pick")
    scanner(page, "MUG-001", f"All picked: {customer.number} can ship.")
    customer.refresh_from_db()
    assert customer.status == SalesOrder.Status.PICKING

    station(page, url, "lookup")
    scanner(page, "L77", "Lot L77")
    expect(page.locator("#scan-step")).to_contain_text(f"Expires {expires:%Y-%m-%d}.")
    shot(page, "lookup")

    tea = StockLevel.objects.get(product=lot_product, location=locations["receiving"])
    assert (tea.on_hand, tea.lot.code, tea.lot.expires_on) == (5, "L77", expires)
    moves = StockMove.objects.filter(product=product).order_by("pk")
    assert [(m.kind, m.quantity) for m in moves] == [
        (StockMove.Kind.RECEIPT, 8),
        (StockMove.Kind.TRANSFER, 6),
        (StockMove.Kind.COUNT, 1),
    ]
    levels = dict(
        StockLevel.objects.filter(product=product).values_list("location__barcode", "on_hand")
    )
    assert levels == {"WH1-RCV": 2, "WH1-A-01": 5}


def test_a_burst_of_scans_arrives_complete_and_in_order(
    live_server, login, page, clerk, locations, product, monkeypatch
):
    real_submit = station_views.submit

    def slow_submit(**kwargs):
        time.sleep(0.4)  # the server is slower than the scanner
        return real_submit(**kwargs)

    monkeypatch.setattr(station_views, "submit", slow_submit)
    page = login(clerk)
    station(page, live_server.url, "lookup")
    codes = ["WH1-A-01", "MUG-001", "WH1-A-02"]
    for code in codes:
        page.keyboard.type(code, delay=5)
        page.keyboard.press("Enter")
    expect(page.locator("#scan-log li")).to_have_count(3, timeout=10_000)
    # Each answer adds its own row on top (the log is not read again): newest first.
    expect(page.locator("#scan-log li").first).to_contain_text("WH1-A-02")
    expect(page.locator("#scan-log li").last).to_contain_text("WH1-A-01")
    expect(page.locator("#scan-panel")).to_contain_text("WH1-A-02")
    assert list(ScanRecord.objects.order_by("pk").values_list("code", flat=True)) == codes
    expect(page.locator("#scan-code")).to_be_focused()
