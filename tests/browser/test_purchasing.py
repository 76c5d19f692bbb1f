"""The purchasing issue's "Done when", in a real browser: a buyer creates a purchase order,
adds lines and sends it (PDF and email); a clerk receives it in two partial deliveries
with lots and expiry dates; the order page shows partially received, then received."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from inventory.models import CostLayer, StockLevel
from inventory.roles import ROLE_PERMISSIONS
from orders.models import PurchaseOrder, ReceiptLine, Supplier, SupplierProduct

pytestmark = pytest.mark.browser


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
def acme(locations, product, lot_product):
    supplier = Supplier.objects.create(
        code="ACME", name="Acme Trading", email="orders@acme.example", default_lead_time_days=7
    )
    SupplierProduct.objects.create(
        supplier=supplier, product=product, supplier_sku="ACME-MUG", unit_cost=Decimal("2.50")
    )
    SupplierProduct.objects.create(
        supplier=supplier,
        product=lot_product,
        supplier_sku="ACME-TEA",
        unit_cost=Decimal("1.20"),
        pack_size=5,
    )
    return supplier


def log_out(page):
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login/"))


def receive(page, rows: dict):
    for label, value in rows.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Receive", exact=True).click()


def test_buyer_orders_and_sends_then_clerk_receives_in_two_deliveries(
    live_server, login, buyer, clerk, acme, locations, mailoutbox
):
    today = timezone.localdate()
    expected = today + timedelta(days=7)
    expiry = today + timedelta(days=180)

    # The buyer creates the order from the list page.
    page = login(buyer)
    nav = page.get_by_role("navigation", name="Main")
    nav.locator("summary", has_text="Buying").click()  # the group's drop-down
    nav.get_by_role("link", name="Purchase orders").click()
    page.get_by_role("link", name="New purchase order").click()
    page.get_by_label("Supplier").select_option("ACME")
    page.get_by_label("Deliver to warehouse").select_option("WH1")
    page.get_by_label("Expected delivery").fill(expected.isoformat())
    page.get_by_role("button", name="Create draft").click()
    expect(page.locator("#order-status")).to_have_text("Draft")
    order = PurchaseOrder.objects.get()
    expect(page.locator("h1")).to_contain_text(order.number)

    # Lines: a typo is refused and keeps the quantity; the tea is rounded up to packs of 5.
    page.get_by_label("Product SKU").fill("MUG-01")
    page.get_by_label("Quantity").fill("10")
    page.get_by_role("button", name="Add line").click()
    expect(page.locator("#id_product_error")).to_have_text(
        "No product has the SKU, GTIN or barcode “MUG-01”."
    )
    expect(page.get_by_label("Quantity")).to_have_value("10")
    page.get_by_label("Product SKU").fill("MUG-001")
    page.get_by_role("button", name="Add line").click()
    expect(page.locator(".message-success")).to_have_text("Ordered 10 × MUG-001 at 2.5.")
    page.get_by_label("Product SKU").fill("TEA-100")
    page.get_by_label("Quantity").fill("18")
    page.get_by_role("button", name="Add line").click()
    expect(page.locator(".message-success")).to_contain_text(
        "Ordered 20 × TEA-100 at 1.2. Rounded up from 18 to 20: packs of 5"
    )
    expect(page.locator(".order-lines tfoot")).to_contain_text("49.00 EUR")

    # The PDF link answers with a PDF.
    pdf_url = page.get_by_role("link", name="PDF", exact=True).get_attribute("href")
    pdf = page.request.get(f"{live_server.url}{pdf_url}")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")

    # Sending emails the supplier and records who sent it.
    page.get_by_role("link", name="Send to supplier").click()
    expect(page.locator("main")).to_contain_text("orders@acme.example")
    page.get_by_role("button", name="Send the order").click()
    expect(page.locator(".message-success")).to_have_text(
        f"{order.number} sent to orders@acme.example with the PDF and CSV attached."
    )
    expect(page.locator("#order-status")).to_have_text("Sent")
    (email,) = mailoutbox
    assert email.to == ["orders@acme.example"]
    assert {name for name, _, _ in email.attachments} == {
        f"{order.number}.pdf",
        f"{order.number}.csv",
    }
    # A buyer does not receive.
    expect(page.get_by_role("link", name="Receive", exact=True)).to_have_count(0)
    log_out(page)

    # The clerk receives the first delivery: part of each line, the tea with its lot.
    page = login(clerk)
    page.goto(f"{live_server.url}{order.get_absolute_url()}")
    page.get_by_role("link", name="Receive", exact=True).click()
    expect(page.get_by_label("Location barcode (MUG-001)")).to_have_value("WH1-RCV")
    receive(
        page,
        {
            "Quantity (MUG-001)": "4",
            "Quantity (TEA-100)": "8",
            "Lot code (TEA-100)": "T-1",
            "Expires on (TEA-100)": expiry.isoformat(),
        },
    )
    expect(page.locator(".message-success")).to_contain_text("Received 4 × MUG-001, 8 × TEA-100")
    expect(page.locator("#order-status")).to_have_text("Partially received")

    # The second delivery: an over-receipt is refused and keeps what was typed.
    page.get_by_role("link", name="Receive", exact=True).click()
    receive(
        page,
        {
            "Quantity (MUG-001)": "7",
            "Location barcode (MUG-001)": "WH1-A-01",
            "Quantity (TEA-100)": "12",
            "Lot code (TEA-100)": "T-2",
            "Expires on (TEA-100)": expiry.isoformat(),
        },
    )
    expect(page.locator(".receive-lines")).to_contain_text("ACME allows at most 10")
    expect(page.get_by_label("Lot code (TEA-100)")).to_have_value("T-2")
    expect(page.get_by_label("Location barcode (MUG-001)")).to_have_value("WH1-A-01")
    receive(page, {"Quantity (MUG-001)": "6"})
    expect(page.locator("#order-status")).to_have_text("Received")
    expect(page.locator("#receipts")).to_be_visible()
    history = page.locator("section[aria-labelledby=history] tbody")
    expect(history).to_contain_text("Partially received")
    expect(history.locator("tr")).to_have_count(4)

    order.refresh_from_db()
    assert (order.status, order.sent_by) == ("received", buyer)
    levels = {
        (level.product.sku, level.location.barcode, level.lot.code if level.lot else None): (
            level.on_hand
        )
        for level in StockLevel.objects.select_related("product", "location", "lot")
    }
    assert levels == {
        ("MUG-001", "WH1-RCV", None): 4,
        ("MUG-001", "WH1-A-01", None): 6,
        ("TEA-100", "WH1-RCV", "T-1"): 8,
        ("TEA-100", "WH1-RCV", "T-2"): 12,
    }
    layers = sorted(
        (layer.product.sku, layer.quantity, layer.unit_cost)
        for layer in CostLayer.objects.select_related("product")
    )
    assert layers == [
        ("MUG-001", 4, Decimal("2.5")),
        ("MUG-001", 6, Decimal("2.5")),
        ("TEA-100", 8, Decimal("1.2")),
        ("TEA-100", 12, Decimal("1.2")),
    ]
    receipts = ReceiptLine.objects.filter(user=clerk)
    assert receipts.count() == 4
    assert {r.expected_on for r in receipts} == {expected}
    assert {r.lead_time_days for r in receipts} == {0}
