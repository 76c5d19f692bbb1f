"""The product field: SKU, GTIN or barcode in every form, and its htmx suggestions."""

import pytest
from django import forms
from django.urls import reverse

from inventory.fields import ProductField
from inventory.models import Product, ProductBarcode


def clean(value):
    return ProductField().clean(value)


@pytest.mark.parametrize(
    "code",
    ["MUG-001", "mug-001", " Mug-001 ", "4006381333931", "04006381333931", "4006381 333931"],
)
def test_finds_the_product_by_sku_or_any_gtin_form(product, code):
    assert clean(code) == product


def test_finds_the_product_by_an_extra_barcode(product):
    ProductBarcode.objects.create(product=product, code="CASE-12", units=12)
    ProductBarcode.objects.create(product=product, code="96385074", units=6)  # an EAN-8
    assert clean("case-12") == product
    assert clean("96385074") == product


def test_a_sku_made_of_digits_wins_over_a_gtin_reading(product):
    digits = Product.objects.create(sku="12345670", name="Digits")
    assert clean("12345670") == digits


def test_a_gtin_with_a_wrong_check_digit_says_so(product):
    with pytest.raises(forms.ValidationError) as caught:
        clean("4006381333932")
    assert caught.value.messages == [
        "“4006381333932” is not a valid GTIN: the check digit is wrong."
    ]


def test_an_unknown_code_names_every_kind_of_code(product):
    with pytest.raises(forms.ValidationError) as caught:
        clean("xyz")
    assert caught.value.messages == ["No product has the SKU, GTIN or barcode “xyz”."]


def test_transfer_page_takes_a_gtin(client, manager, locations, product):
    from inventory import ledger

    ledger.receive(product=product, location=locations["bin1"], quantity=3, unit_cost=1)
    client.force_login(manager)
    response = client.post(
        reverse("transfer_stock"),
        {
            "product": "4006381333931",
            "location": "WH1-A-01",
            "quantity": 2,
            "to_location": "WH1-A-02",
        },
    )
    assert response.status_code == 302


# --- suggestions --------------------------------------------------------------------


@pytest.fixture
def candles(db):
    names = ["Oak candle, large", "Oak candle, small", "Oak table", "Pine candle"]
    return [Product.objects.create(sku=f"C-{i}", name=name) for i, name in enumerate(names)]


def options(response) -> list[str]:
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    return [
        line.split('value="')[1].split('"')[0] for line in html.splitlines() if "<option" in line
    ]


def test_suggestions_match_every_word_against_name_or_sku(client, clerk, candles):
    client.force_login(clerk)
    url = reverse("product_suggestions")
    assert options(client.get(url, {"q": "oak candle"})) == ["C-0", "C-1"]
    assert options(client.get(url, {"q": "CANDLE c-3"})) == ["C-3"]
    # The input sends its own name, e.g. a formset's form-0-product.
    assert options(client.get(url, {"form-0-product": "large oak"})) == ["C-0"]
    assert options(client.get(url, {"q": "  "})) == []


def test_suggestions_stop_at_ten_with_a_fixed_query_count(
    client, clerk, django_assert_num_queries
):
    client.force_login(clerk)
    url = reverse("product_suggestions")
    Product.objects.create(sku="LAMP-0", name="Lamp")
    # Session, user, permissions, the products.
    with django_assert_num_queries(5) as few:
        assert options(client.get(url, {"q": "lamp"})) == ["LAMP-0"]
    Product.objects.bulk_create(Product(sku=f"LAMP-{i}", name=f"Lamp {i}") for i in range(1, 30))
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(options(client.get(url, {"q": "lamp"}))) == 10


def test_suggestions_need_login_and_view_product(client, django_user_model, candles):
    url = reverse("product_suggestions")
    assert client.get(url, {"q": "oak"}).status_code == 302
    client.force_login(django_user_model.objects.create_user(username="x", password="x"))
    assert client.get(url, {"q": "oak"}).status_code == 403
