"""Adjustment and transfer forms: good posts go through the ledger, bad ones change nothing."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory import ledger
from inventory.forms import AdjustmentForm, TransferForm
from inventory.models import Lot, Product, StockLevel, StockMove
from inventory.tests.test_views import input_value


def on_hand(product, location, lot=None) -> int:
    level = StockLevel.objects.filter(product=product, location=location, lot=lot).first()
    return level.on_hand if level else 0


def snapshot():
    return (
        StockMove.objects.count(),
        list(StockLevel.objects.order_by("pk").values_list("pk", "on_hand", "committed")),
        Lot.objects.count(),
    )


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def stock(locations, product, lot_product):
    """10 mugs in bin 1; lot TEA-A (6 units) in bin 1; another product's lot OTHER-L."""
    today = timezone.localdate()
    ledger.receive(product=product, location=locations["bin1"], quantity=10, unit_cost="2.00")
    tea = ledger.receive(
        product=lot_product,
        location=locations["bin1"],
        quantity=6,
        unit_cost="1.00",
        lot_code="TEA-A",
        expires_on=today + timedelta(days=100),
    )
    coffee = Product.objects.create(sku="COF-1", name="Coffee", tracking="lot")
    ledger.receive(
        product=coffee, location=locations["bin2"], quantity=1, unit_cost=1, lot_code="OTHER-L"
    )
    return {"tea_lot": tea.lot}


# --- good posts --------------------------------------------------------------------


def test_adjustment_removes_stock_through_the_ledger(
    manager_client, manager, stock, locations, product
):
    response = manager_client.post(
        reverse("adjust_stock"),
        {
            "product": "MUG-001",
            "location": "WH1-A-01",
            "lot": "",
            "quantity": "-3",
            "reason": "Dropped",
        },
        follow=True,
    )
    assert response.redirect_chain == [(product.get_absolute_url(), 302)]
    assert on_hand(product, locations["bin1"]) == 7
    move = StockMove.objects.latest("id")
    assert (move.kind, move.quantity, move.from_location, move.reason, move.user) == (
        StockMove.Kind.ADJUSTMENT,
        3,
        locations["bin1"],
        "Dropped",
        manager,
    )
    assert move.unit_cost == 2
    assert "Adjusted MUG-001 in WH1-A-01 by -3." in response.content.decode()


def test_adjustment_adds_stock_to_a_lot(manager_client, stock, locations, lot_product):
    response = manager_client.post(
        reverse("adjust_stock"),
        {
            "product": "tea-100",
            "location": "wh1-a-01",
            "lot": "TEA-A",
            "quantity": "4",
            "reason": "Found behind shelf",
        },
    )
    assert response.status_code == 302
    assert on_hand(lot_product, locations["bin1"], stock["tea_lot"]) == 10


def test_transfer_moves_stock_through_the_ledger(manager_client, stock, locations, lot_product):
    response = manager_client.post(
        reverse("transfer_stock"),
        {
            "product": "TEA-100",
            "location": "WH1-A-01",
            "lot": "TEA-A",
            "quantity": "5",
            "to_location": "WH1-A-02",
        },
        follow=True,
    )
    assert response.redirect_chain == [(lot_product.get_absolute_url(), 302)]
    lot = stock["tea_lot"]
    assert on_hand(lot_product, locations["bin1"], lot) == 1
    assert on_hand(lot_product, locations["bin2"], lot) == 5
    assert StockMove.objects.latest("id").kind == StockMove.Kind.TRANSFER
    assert "Moved 5 × TEA-100 from WH1-A-01 to WH1-A-02." in response.content.decode()


# --- bad posts ---------------------------------------------------------------------

GOOD_ADJUST = {
    "product": "MUG-001",
    "location": "WH1-A-01",
    "lot": "",
    "quantity": "-2",
    "reason": "Broken",
}
GOOD_TRANSFER = {
    "product": "MUG-001",
    "location": "WH1-A-01",
    "lot": "",
    "quantity": "2",
    "to_location": "WH1-A-02",
}

ADJUST_CASES = [
    (
        "unknown sku",
        {"product": "NOPE-1"},
        "product",
        ("No product has the SKU, GTIN or barcode “NOPE-1”."),
    ),
    ("missing sku", {"product": ""}, "product", "Enter the product's SKU."),
    (
        "unknown location",
        {"location": "WH9-Z"},
        "location",
        "No location has the barcode “WH9-Z”.",
    ),
    (
        "missing lot",
        {"product": "TEA-100", "lot": ""},
        "lot",
        "TEA-100 is tracked by lot: enter the lot code.",
    ),
    (
        "unknown lot",
        {"product": "TEA-100", "lot": "NO-SUCH"},
        "lot",
        "TEA-100 has no lot “NO-SUCH”.",
    ),
    (
        "lot of another product",
        {"product": "TEA-100", "lot": "OTHER-L"},
        "lot",
        "Lot OTHER-L belongs to COF-1, not to TEA-100: check the lot code.",
    ),
    (
        "lot for untracked product",
        {"lot": "TEA-A"},
        "lot",
        "MUG-001 is not tracked by lot: leave the lot empty.",
    ),
    (
        "zero quantity",
        {"quantity": "0"},
        "quantity",
        "An adjustment of zero changes nothing: enter the units to add or remove.",
    ),
    ("decimal quantity", {"quantity": "1.5"}, "quantity", "Enter a whole number of units."),
    ("text quantity", {"quantity": "lots"}, "quantity", "Enter a whole number of units."),
    ("missing quantity", {"quantity": ""}, "quantity", "Enter a quantity."),
    (
        "insufficient stock",
        {"quantity": "-11"},
        "quantity",
        "Only 10 of MUG-001 in WH1-A-01; 11 needed.",
    ),
    (
        "inactive location",
        {"location": "WH1-A-02", "quantity": "5"},
        "location",
        "Location WH1-A-02 is inactive.",
    ),
    ("missing reason", {"reason": ""}, "reason", "Say why the stock is adjusted."),
    ("blank reason", {"reason": "   "}, "reason", "Say why the stock is adjusted."),
    (
        "dropship product",
        {"product": "SOFA-9", "quantity": "3"},
        "product",
        "SOFA-9 is a dropship product: it is never held in stock.",
    ),
]

TRANSFER_CASES = [
    (
        "unknown sku",
        {"product": "NOPE-1"},
        "product",
        ("No product has the SKU, GTIN or barcode “NOPE-1”."),
    ),
    (
        "unknown from location",
        {"location": "WH9-Z"},
        "location",
        "No location has the barcode “WH9-Z”.",
    ),
    (
        "unknown to location",
        {"to_location": "WH9-Y"},
        "to_location",
        "No location has the barcode “WH9-Y”.",
    ),
    (
        "missing lot",
        {"product": "TEA-100", "lot": ""},
        "lot",
        "TEA-100 is tracked by lot: enter the lot code.",
    ),
    (
        "lot of another product",
        {"product": "TEA-100", "lot": "OTHER-L"},
        "lot",
        "Lot OTHER-L belongs to COF-1, not to TEA-100: check the lot code.",
    ),
    ("zero quantity", {"quantity": "0"}, "quantity", "Move at least one unit (got 0)."),
    ("negative quantity", {"quantity": "-4"}, "quantity", "Move at least one unit (got -4)."),
    ("decimal quantity", {"quantity": "2.5"}, "quantity", "Enter a whole number of units."),
    (
        "insufficient stock",
        {"quantity": "11"},
        "quantity",
        "Only 10 of MUG-001 in WH1-A-01; 11 needed.",
    ),
    (
        "inactive destination",
        {"to_location": "WH1-A-02"},
        "to_location",
        "Location WH1-A-02 is inactive.",
    ),
    (
        "same location",
        {"to_location": "WH1-A-01"},
        "to_location",
        "is already in WH1-A-01",
    ),
]


def _deactivate_bin2(case_name, locations):
    if "inactive" in case_name:
        bin2 = locations["bin2"]
        bin2.active = False
        bin2.save()


@pytest.mark.usefixtures("dropship_product")
@pytest.mark.parametrize(("case", "change", "field", "message"), ADJUST_CASES)
def test_bad_adjustment_is_refused_and_changes_nothing(
    manager_client, stock, locations, case, change, field, message
):
    _deactivate_bin2(case, locations)
    data = {**GOOD_ADJUST, **change}
    before = snapshot()

    response = manager_client.post(reverse("adjust_stock"), data)

    assert response.status_code == 200
    assert snapshot() == before
    errors = response.context["form"].errors
    assert any(message in error for error in errors[field]), errors
    html = response.content.decode()
    assert message.replace("'", "&#x27;") in html
    for name, value in data.items():
        assert input_value(html, name) == (value or None), name


@pytest.mark.parametrize(("case", "change", "field", "message"), TRANSFER_CASES)
def test_bad_transfer_is_refused_and_changes_nothing(
    manager_client, stock, locations, case, change, field, message
):
    _deactivate_bin2(case, locations)
    data = {**GOOD_TRANSFER, **change}
    before = snapshot()

    response = manager_client.post(reverse("transfer_stock"), data)

    assert response.status_code == 200
    assert snapshot() == before
    errors = response.context["form"].errors
    assert any(message in error for error in errors[field]), errors
    html = response.content.decode()
    assert message in html
    for name, value in data.items():
        assert input_value(html, name) == (value or None), name


def test_committed_stock_cannot_be_adjusted_away(manager_client, stock, locations, product):
    ledger.reserve(product=product, location=locations["bin1"], quantity=8)
    before = snapshot()
    response = manager_client.post(reverse("adjust_stock"), {**GOOD_ADJUST, "quantity": "-5"})
    assert snapshot() == before
    assert "are committed to orders; only 2 can be used, 5 needed." in response.content.decode()


def test_ledger_error_without_a_field_is_shown_above_the_form(manager_client, stock, monkeypatch):
    from inventory import errors

    def refuse(**kwargs):
        raise errors.WrongLot("Lot TEA-A belongs to another product.")

    monkeypatch.setattr(ledger, "transfer", refuse)
    response = manager_client.post(reverse("transfer_stock"), GOOD_TRANSFER)
    assert response.context["form"].non_field_errors() == ["Lot TEA-A belongs to another product."]
    assert 'class="form-errors"' in response.content.decode()


def test_clerk_cannot_post_an_adjustment(client, clerk, buyer, stock):
    client.force_login(clerk)
    before = snapshot()
    assert client.post(reverse("adjust_stock"), GOOD_ADJUST).status_code == 403
    assert snapshot() == before
    client.force_login(buyer)
    assert client.post(reverse("transfer_stock"), GOOD_TRANSFER).status_code == 403
    assert snapshot() == before


# --- the forms alone ---------------------------------------------------------------


def test_adjustment_form_resolves_product_location_and_lot(stock, locations, lot_product):
    form = AdjustmentForm(
        {
            "product": " TEA-100 ",
            "location": "WH1-A-01",
            "lot": "TEA-A",
            "quantity": "-1",
            "reason": "Tasting",
        }
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["product"] == lot_product
    assert form.cleaned_data["location"] == locations["bin1"]
    assert form.cleaned_data["lot"] == stock["tea_lot"]


def test_transfer_form_gives_no_lot_for_untracked_products(stock, locations):
    form = TransferForm(GOOD_TRANSFER)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["lot"] is None
    assert form.cleaned_data["to_location"] == locations["bin2"]
