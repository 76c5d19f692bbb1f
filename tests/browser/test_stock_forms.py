"""Browser tests of the adjustment form: a good post, and a bad one that keeps the input."""

import pytest
from playwright.sync_api import expect

from inventory import ledger
from inventory.models import StockLevel, StockMove
from inventory.roles import ROLE_PERMISSIONS

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
def mugs(locations, product):
    ledger.receive(product=product, location=locations["bin1"], quantity=10, unit_cost=1)
    return product


def test_manager_posts_an_adjustment_and_sees_the_result(live_server, login, manager, mugs):
    page = login(manager)
    page.goto(f"{live_server.url}{mugs.get_absolute_url()}")
    page.locator("#main").get_by_role("link", name="Adjust", exact=True).click()
    expect(page.get_by_label("Product SKU")).to_have_value("MUG-001")
    expect(page.get_by_label("Location barcode")).to_have_value("WH1-A-01")

    page.get_by_label("Quantity").fill("-3")
    page.get_by_label("Reason").fill("Chipped in transit")
    page.get_by_role("button", name="Post adjustment").click()

    expect(page.locator(".message-success")).to_have_text("Adjusted MUG-001 in WH1-A-01 by -3.")
    expect(page.locator("tfoot")).to_contain_text("7")
    expect(page.get_by_text("Chipped in transit")).to_be_visible()
    assert StockLevel.objects.get(product=mugs).on_hand == 7


def test_bad_adjustment_shows_the_message_and_keeps_the_input(live_server, login, manager, mugs):
    moves = StockMove.objects.count()
    page = login(manager)
    page.goto(f"{live_server.url}/stock/adjust/")
    page.get_by_label("Product SKU").fill("MUG-001")
    page.get_by_label("Location barcode").fill("WH1-A-01")
    page.get_by_label("Quantity").fill("-40")
    page.get_by_label("Reason").fill("Stolen")
    page.get_by_role("button", name="Post adjustment").click()

    expect(page.locator("#id_quantity_error")).to_contain_text(
        "Only 10 of MUG-001 in WH1-A-01; 40 needed."
    )
    expect(page.get_by_label("Product SKU")).to_have_value("MUG-001")
    expect(page.get_by_label("Location barcode")).to_have_value("WH1-A-01")
    expect(page.get_by_label("Quantity")).to_have_value("-40")
    expect(page.get_by_label("Reason")).to_have_value("Stolen")

    page.get_by_label("Product SKU").fill("NO-SUCH")
    page.get_by_label("Quantity").fill("-1")
    page.get_by_role("button", name="Post adjustment").click()
    expect(page.locator("#id_product_error")).to_contain_text(
        "No product has the SKU, GTIN or barcode “NO-SUCH”."
    )
    expect(page.get_by_label("Reason")).to_have_value("Stolen")
    assert StockMove.objects.count() == moves
