"""Issue 12's "Done when" in a real browser: a buyer opens the replenishment page, ticks the
lines of one supplier, creates the drafts, opens the purchase order and sends it (the mail
goes to the file backend). Screenshots at 1366 and 390 px go to artifacts/."""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from inventory.models import Product
from inventory.roles import ROLE_PERMISSIONS
from orders.models import PurchaseOrder, Supplier, SupplierProduct
from planning.models import PlanLine
from planning.tests.factories import plan_line, plan_run

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"


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
def stored_plan(warehouse):
    """Two suppliers' suggestions in a finished plan (until the plan command writes them)."""
    acme = Supplier.objects.create(
        code="ACME", name="Acme Trading", email="orders@acme.example", default_lead_time_days=7
    )
    bolt = Supplier.objects.create(code="BOLT", name="Bolt & Co", email="po@bolt.example")
    run = plan_run()
    lines = {}
    for sku, supplier, cost, qty in [
        ("MUG-1", acme, "2.50", 10),
        ("CUP-1", acme, "1.20", 12),
        ("PAN-1", bolt, "15.00", 2),
    ]:
        product = Product.objects.create(sku=sku, name=f"Product {sku}")
        offer = SupplierProduct.objects.create(
            supplier=supplier, product=product, unit_cost=Decimal(cost), preferred=True
        )
        lines[sku] = plan_line(run, product, warehouse, offer, suggested_qty=qty)
    return lines


def shoot(page, name: str):
    for width in (1366, 390):
        folder = SCREENSHOTS / str(width)
        folder.mkdir(parents=True, exist_ok=True)
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


def test_buyer_goes_from_the_plan_to_a_sent_purchase_order(
    live_server, login, buyer, stored_plan, settings, tmp_path
):
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(tmp_path)},
        }
    }
    page = login(buyer)
    page.get_by_text("Buying").click()
    page.get_by_role("link", name="Replenishment").click()
    expect(page.locator("h1")).to_have_text("Replenishment")
    expect(page.locator("main")).to_contain_text("2 lines · total 39.40 EUR")
    shoot(page, "replenishment")

    page.get_by_label("Order MUG-1 in WH1").check()
    page.get_by_label("Order CUP-1 in WH1").check()
    page.get_by_role("button", name="Create draft purchase orders").click()
    expect(page.locator(".message-success")).to_contain_text("Created draft purchase order PO-")
    order = PurchaseOrder.objects.get()
    assert (order.supplier.code, order.status) == ("ACME", "draft")
    assert sorted(order.lines.values_list("product__sku", "quantity_ordered")) == [
        ("CUP-1", 12),
        ("MUG-1", 10),
    ]
    assert PlanLine.objects.get(product__sku="PAN-1").suggested_qty == 2
    shoot(page, "replenishment-drafts")

    page.get_by_role("link", name=order.number).click()
    expect(page).to_have_url(re.compile(rf"/purchase-orders/{order.number}/"))
    page.get_by_role("link", name="Send to supplier").click()
    page.get_by_role("button", name="Send the order").click()
    expect(page.locator("#order-status")).to_have_text("Sent")
    (mail,) = tmp_path.iterdir()
    assert "To: orders@acme.example" in mail.read_text()

    # Back on the plan: only BOLT's line is left to order.
    page.goto(f"{live_server.url}/planning/replenishment/")
    expect(page.locator("main")).not_to_contain_text("MUG-1")
    expect(page.locator("main")).to_contain_text("PAN-1")


def test_cost_curve_is_legible_on_a_phone(live_server, login, buyer, stored_plan):
    page = login(buyer)
    page.goto(f"{live_server.url}/planning/products/MUG-1/")
    expect(page.locator(".cost-curve-chart")).to_be_visible()
    shoot(page, "product-planning")
    page.set_viewport_size({"width": 390, "height": 900})
    box = page.locator(".cost-curve-chart").bounding_box()
    assert box["width"] <= 390
    page.get_by_role("button", name="Use 99 % service level").click()
    expect(page.locator(".message-success")).to_contain_text("Policy of MUG-1 in WH1 saved")
    expect(page.locator("main")).to_contain_text("Safety stock at 99.00 %")
