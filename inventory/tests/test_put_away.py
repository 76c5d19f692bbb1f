"""Put-away: a clerk moves what was received out of the receiving dock into storage."""

from datetime import date
from html import unescape

from django.urls import reverse

from inventory import ledger
from inventory.models import StockLevel


def test_clerk_puts_away_from_receiving_and_cannot_adjust(client, clerk, locations, product):
    ledger.receive(product=product, location=locations["receiving"], quantity=6, unit_cost=1)
    client.force_login(clerk)

    page = client.get(reverse("stock_list"))
    link = f"{reverse('transfer_stock')}?product=MUG-001&location=WH1-RCV&quantity=6"
    assert link in unescape(page.content.decode())
    form = client.get(link)
    assert form.status_code == 200
    assert form.context["form"]["quantity"].value() == "6"

    response = client.post(
        reverse("transfer_stock"),
        {"product": "MUG-001", "location": "WH1-RCV", "quantity": 6, "to_location": "WH1-A-01"},
    )

    assert response.status_code == 302
    levels = dict(StockLevel.objects.values_list("location__barcode", "on_hand"))
    assert levels == {"WH1-RCV": 0, "WH1-A-01": 6}
    assert client.get(reverse("adjust_stock")).status_code == 403
    refused = client.post(
        reverse("adjust_stock"),
        {"product": "MUG-001", "location": "WH1-A-01", "quantity": -1, "reason": "x"},
    )
    assert refused.status_code == 403
    assert StockLevel.objects.get(location=locations["bin1"]).on_hand == 6


def test_put_away_link_only_for_receiving_stock_and_with_the_lot(
    client, clerk, locations, product, lot_product
):
    ledger.receive(product=product, location=locations["bin1"], quantity=2, unit_cost=1)
    ledger.receive(
        product=lot_product,
        location=locations["receiving"],
        quantity=4,
        unit_cost=1,
        lot_code="L 1",
        expires_on=date(2030, 1, 1),
    )
    client.force_login(clerk)

    for url in (
        reverse("stock_list"),
        reverse("location_detail", args=["WH1-RCV"]),
        reverse("product_detail", args=["TEA-100"]),
    ):
        html = unescape(client.get(url).content.decode())
        assert html.count(">Put away</a>") == 1, url
        assert "?product=TEA-100&location=WH1-RCV&lot=L%201&quantity=4" in html, url


def test_buyer_sees_no_put_away_link(client, buyer, locations, product):
    ledger.receive(product=product, location=locations["receiving"], quantity=6, unit_cost=1)
    client.force_login(buyer)
    assert "Put away" not in client.get(reverse("stock_list")).content.decode()
