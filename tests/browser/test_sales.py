"""Sales in a real browser: a manager opens a channel and creates its API token (shown
once), sees an order the channel placed wait for stock and allocate itself when goods
arrive, opens the pick list and ships it; the order reads Shipped and the product page
shows the stock gone."""

import re

import pytest
from playwright.sync_api import expect

from inventory import ledger
from inventory.roles import ROLE_PERMISSIONS
from orders.channels import tokens as channels
from orders.models import Channel, ChannelWarehouse
from orders.sales import services as sales

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


def card(page, label: str):
    return page.locator(".card", has_text=label).locator(".card-number")


def test_manager_creates_a_token_allocates_picks_and_ships(
    live_server, login, manager, warehouse, locations, product
):
    channel = Channel.objects.create(code="WEB", name="Web store")
    ChannelWarehouse.objects.create(channel=channel, warehouse=warehouse, priority=1)

    # The channel page: the token is made by a POST and shown once.
    page = login(manager)
    nav = page.get_by_role("navigation", name="Main")
    nav.locator("summary", has_text="Selling").click()  # the group's drop-down
    nav.get_by_role("link", name="Channels").click()
    page.get_by_role("link", name="WEB").click()
    expect(page.locator("#token-state")).to_have_text("None yet")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("main")).to_contain_text("it will not be shown again")
    token = page.get_by_label("API token").input_value()
    assert token.startswith("srk_")
    assert channels.channel_for_token(token) == channel
    page.get_by_role("link", name="Done: back to WEB").click()
    expect(page.locator("#token-state")).to_contain_text(token[:8])
    expect(page.locator("main")).not_to_contain_text(token)
    expect(page.get_by_role("button", name="Rotate token")).to_be_visible()

    # The channel places an order for 3 mugs while 1 is in stock.
    ledger.receive(product=product, location=locations["bin1"], quantity=1, unit_cost="2.00")
    order, _ = sales.create_order(
        channel=channel,
        external_ref="WEB-1001",
        customer_name="Ada Lovelace",
        shipping_address="12 Analytical Row\nLondon",
        lines=[{"sku": "MUG-001", "quantity": 3, "unit_price": "9.90"}],
    )
    nav = page.get_by_role("navigation", name="Main")
    nav.locator("summary", has_text="Selling").click()  # the group's drop-down
    nav.get_by_role("link", name="Sales orders").click()
    page.get_by_role("link", name=order.number).click()
    expect(page.locator("#order-status")).to_have_text("Backordered")
    expect(page.get_by_role("button", name="Allocate")).to_be_visible()

    # The receipt frees units: the waiting order takes them by itself (task after commit).
    ledger.receive(product=product, location=locations["bin2"], quantity=5, unit_cost="2.00")
    page.reload()
    expect(page.locator("#order-status")).to_have_text("Allocated")
    expect(page.get_by_role("button", name="Allocate")).to_have_count(0)

    # The pick list walks the bins in path order.
    page.get_by_role("link", name="Pick list").click()
    rows = page.locator("#pick-rows tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("WH1-A-01")
    expect(rows.nth(1)).to_contain_text("WH1-A-02")
    expect(page.get_by_role("checkbox")).to_have_count(2)
    page.get_by_role("link", name=re.compile("Back to")).click()

    # Before shipping: 6 on hand, 3 of them committed to the order.
    page.get_by_role("link", name="MUG-001").first.click()
    expect(card(page, "on hand")).to_have_text("6")
    expect(card(page, "committed")).to_have_text("3")
    page.go_back()

    # Shipping asks to confirm on a page of its own (carrier and tracking are optional).
    page.get_by_role("link", name="Ship…").click()
    page.get_by_role("button", name="Ship", exact=True).click()
    expect(page.locator("#order-status")).to_have_text("Shipped")
    expect(page.locator(".message-success")).to_contain_text("shipped")

    page.get_by_role("link", name="MUG-001").first.click()
    expect(card(page, "on hand")).to_have_text("3")
    expect(card(page, "committed")).to_have_text("0")
