"""Browser smoke test: the product list filter updates only the table and pushes the URL."""

import re

import pytest
from playwright.sync_api import expect

from inventory import ledger
from inventory.models import Product
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
def catalog(locations, product, lot_product):
    ledger.receive(product=product, location=locations["bin1"], quantity=12, unit_cost=1)
    for i in range(5):
        Product.objects.create(sku=f"SOCK-{i}", name=f"Wool sock {i}")


def test_typing_in_the_filter_updates_only_the_table(live_server, login, clerk, catalog):
    page = login(clerk)
    csp_errors = []
    page.on(
        "console",
        lambda message: (
            csp_errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    page.goto(f"{live_server.url}/products/")
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(7)
    # A full page load would forget this; an htmx swap keeps it.
    page.evaluate("window.stillTheSamePage = true")
    search = page.get_by_label("Search")

    search.press_sequentially("tea", delay=30)

    expect(page).to_have_url(re.compile(r"/products/\?(.*&)?q=tea"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("TEA-100")
    assert page.evaluate("window.stillTheSamePage") is True
    expect(search).to_have_value("tea")
    expect(search).to_be_focused()

    # Filter by GTIN as printed on the pack (EAN-13) and sort the result.
    search.fill("4006381333931")
    expect(page).to_have_url(re.compile(r"q=4006381333931"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("MUG-001")
    expect(rows.first).to_contain_text("12")

    search.fill("sock")
    expect(rows).to_have_count(5)
    page.get_by_role("link", name="SKU").click()
    expect(page).to_have_url(re.compile(r"sort=sku"))
    page.get_by_role("link", name=re.compile("SKU")).click()
    expect(page).to_have_url(re.compile(r"sort=-sku"))
    expect(rows.first).to_contain_text("SOCK-4")
    # The filter keeps the chosen order.
    search.fill("wool sock")
    expect(page).to_have_url(re.compile(r"q=wool(\+|%20)sock.*sort=-sku"))
    expect(rows.first).to_contain_text("SOCK-4")
    assert page.evaluate("window.stillTheSamePage") is True

    # Back restores the previous filter.
    page.go_back()
    expect(page).to_have_url(re.compile(r"sort=-sku"))
    assert csp_errors == []


def test_filter_works_without_javascript(live_server, browser, clerk, catalog):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", clerk.username)
    page.fill("input[name=password]", "pass-for-tests-only")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/products/")
    page.get_by_label("Search").fill("mug")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"q=mug"))
    expect(page.locator("#results tbody tr")).to_have_count(1)
    context.close()
