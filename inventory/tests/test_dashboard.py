"""The dashboard: expired and expiring lots apart, and every card links to the list it counts."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from inventory import ledger
from inventory.models import Lot, Product


@pytest.fixture
def lots(locations, product, lot_product):
    """Stock of lots that expired long ago, yesterday, soon, later; and one emptied."""
    today = timezone.localdate()
    ledger.receive(product=product, location=locations["bin1"], quantity=7, unit_cost=1)
    for code, days, place, quantity in [
        ("ANCIENT", -60, "bin1", 3),
        ("ANCIENT", -60, "receiving", 2),
        ("YESTERDAY", -1, "bin2", 4),
        ("SOON", 5, "bin2", 6),
        ("TODAY", 0, "bin1", 1),
        ("LATER", 90, "bin2", 8),
        ("GONE", -3, "bin2", 1),
    ]:
        lot = Lot.objects.filter(code=code).first()
        ledger.receive(
            product=lot_product,
            location=locations[place],
            quantity=quantity,
            unit_cost=1,
            lot=lot,
            lot_code=None if lot else code,
            expires_on=None if lot else today + timedelta(days),
        )
    ledger.adjust(
        product=lot_product,
        location=locations["bin2"],
        lot=Lot.objects.get(code="GONE"),
        quantity=-1,
        reason="Used",
    )
    Product.objects.create(sku="OFF-1", name="Retired", active=False)
    return today


def cards(html: str) -> list[tuple[str, int, str]]:
    """Return (link, number, words) of every dashboard card."""
    found = re.findall(
        r'<li class="card[^"]*"><a href="([^"]+)">'
        r'<span class="card-number">(\d+)</span>([^<]+)</a>',
        html,
    )
    return [(unescape(href), int(number), words.strip()) for href, number, words in found]


def list_count(client, href: str, words: str) -> int:
    response = client.get(href)
    assert response.status_code == 200, href
    if href.startswith(reverse("product_list")):
        return response.context["page_obj"].paginator.count
    summary = response.context["summary"]
    if "lots" in words:
        return summary["lots"]
    if "units" in words:
        return summary["units"]
    assert summary["rows"] == response.context["page_obj"].paginator.count
    return summary["rows"]


def test_every_card_links_to_a_list_with_the_same_count(client, clerk, lots):
    client.force_login(clerk)
    html = client.get(reverse("dashboard")).content.decode()

    found = cards(html)

    assert [words for _, _, words in found] == [
        "products",
        "active products",
        "stock rows with stock",
        "units on hand",
        "expired lots still in stock",
        "lots expiring within 30 days",
    ]
    numbers = {words: number for _, number, words in found}
    assert numbers["expired lots still in stock"] == 2  # ANCIENT and YESTERDAY; GONE is empty
    assert numbers["lots expiring within 30 days"] == 2  # TODAY and SOON
    for href, number, words in found:
        assert list_count(client, href, words) == number, (href, words)


def test_stock_list_filters_by_lot_expiry(client, clerk, lots):
    client.force_login(clerk)

    def lots_listed(state):
        response = client.get(reverse("stock_list"), {"lot_expiry": state})
        return sorted({row.lot.code for row in response.context["page_obj"]})

    assert lots_listed("expired") == ["ANCIENT", "YESTERDAY"]
    assert lots_listed("expiring") == ["SOON", "TODAY"]
    response = client.get(reverse("stock_list"), {"lot_expiry": "rotten"})
    assert response.context["filter"].errors["lot_expiry"]
    assert list(response.context["page_obj"]) == []


def test_expired_and_expiring_lots_are_listed_apart(client, clerk, lots):
    client.force_login(clerk)
    response = client.get(reverse("dashboard"))

    expired = [(row.lot.code, row.location.barcode) for row in response.context["expired_stock"]]
    assert expired == [("ANCIENT", "WH1-A-01"), ("ANCIENT", "WH1-RCV"), ("YESTERDAY", "WH1-A-02")]
    assert [lot.code for lot in response.context["expiring_lots"]] == ["TODAY", "SOON"]


def test_expired_stock_links_to_quarantine_and_manager_write_off(client, clerk, manager, lots):
    client.force_login(clerk)
    html = unescape(client.get(reverse("dashboard")).content.decode())
    quarantine = (
        f"{reverse('transfer_stock')}?product=TEA-100&location=WH1-A-02&lot=YESTERDAY"
        "&quantity=4&to_location=WH1-QUA"
    )
    assert quarantine in html
    assert "Write off" not in html

    client.force_login(manager)
    html = unescape(client.get(reverse("dashboard")).content.decode())
    write_off = (
        f"{reverse('adjust_stock')}?product=TEA-100&location=WH1-A-02&lot=YESTERDAY"
        "&quantity=-4&reason=Expired"
    )
    assert write_off in html
    form = client.get(write_off).context["form"]
    assert (form["quantity"].value(), form["reason"].value()) == ("-4", "Expired")
    assert (
        client.post(
            reverse("adjust_stock"),
            {
                "product": "TEA-100",
                "location": "WH1-A-02",
                "lot": "YESTERDAY",
                "quantity": -4,
                "reason": "Expired",
            },
        ).status_code
        == 302
    )
    moved = client.post(
        reverse("transfer_stock"),
        {
            "product": "TEA-100",
            "location": "WH1-A-01",
            "lot": "ANCIENT",
            "quantity": 3,
            "to_location": "WH1-QUA",
        },
    )
    assert moved.status_code == 302
    response = client.get(reverse("dashboard"))
    assert response.context["counts"]["expired_lots"] == 1  # ANCIENT, now in WH1-QUA too


def test_stock_cards_are_kept_until_the_next_move(
    client, clerk, lots, locations, django_assert_max_num_queries
):
    """Shown again without a move: the stored figures (fewer queries). After a move — here
    the last units of lot YESTERDAY written off — every card equals its list again."""
    cache.clear()
    client.force_login(clerk)
    with django_assert_max_num_queries(20) as first:
        client.get(reverse("dashboard"))
    with django_assert_max_num_queries(len(first.captured_queries) - 2):
        again = client.get(reverse("dashboard"))
    assert again.context["counts"]["expired_lots"] == 2
    ledger.adjust(
        product=Product.objects.get(sku="TEA-100"),
        location=locations["bin2"],
        lot=Lot.objects.get(code="YESTERDAY"),
        quantity=-4,
        reason="Expired",
    )
    html = client.get(reverse("dashboard")).content.decode()
    numbers = {words: number for _, number, words in cards(html)}
    assert numbers["expired lots still in stock"] == 1
    assert numbers["units on hand"] == 7 + 3 + 2 + 6 + 1 + 8
    for href, number, words in cards(html):
        assert list_count(client, href, words) == number, (href, words)
