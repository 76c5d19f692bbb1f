"""The unfiltered stock list pages without counting every balance row (issue 14)."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from common.pagination import estimated_rows
from inventory import ledger
from inventory.models import Product, StockLevel

PAGE = 50


@pytest.fixture
def clerk_client(client, clerk):
    client.force_login(clerk)
    return client


@pytest.fixture
def many_rows(locations):
    """120 products with stock in bin1: three pages of 50, 50 and 20."""
    Product.objects.bulk_create(
        [Product(sku=f"P-{i:03d}", name=f"Part {i}", sell_price=Decimal("1")) for i in range(120)]
    )
    for product in Product.objects.order_by("sku"):
        ledger.receive(product=product, location=locations["bin1"], quantity=2, unit_cost=1)
    return Product.objects.order_by("sku")


def _skus(response) -> list[str]:
    return [row.product.sku for row in response.context["page_obj"]]


def _links(html: str) -> dict[str, str]:
    return {
        rel: href for href, rel in re.findall(r'<a href="([^"]+)"[^>]*rel="(prev|next)"', html)
    }


def test_pages_walk_forward_and_back_without_a_count(clerk_client, many_rows):
    skus = [product.sku for product in many_rows]
    first = clerk_client.get(reverse("stock_list"))
    html = first.content.decode()
    assert _skus(first) == skus[:PAGE]
    assert _links(html) == {"next": "?page=2"}
    assert "Page 1" in html and " of " not in html.split("pager-status")[1][:40]
    second = clerk_client.get(reverse("stock_list"), {"page": 2})
    assert _skus(second) == skus[PAGE : 2 * PAGE]
    assert _links(second.content.decode()) == {"prev": "?page=1", "next": "?page=3"}
    last = clerk_client.get(reverse("stock_list"), {"page": 3})
    assert _skus(last) == skus[2 * PAGE :]
    assert _links(last.content.decode()) == {"prev": "?page=2"}


def test_exactly_one_full_page_has_no_next(clerk_client, locations, product):
    Product.objects.bulk_create(
        [Product(sku=f"Q-{i:03d}", name="Q", sell_price=Decimal("1")) for i in range(PAGE - 1)]
    )
    for each in Product.objects.all():
        ledger.receive(product=each, location=locations["bin1"], quantity=1, unit_cost=1)
    response = clerk_client.get(reverse("stock_list"))
    assert len(_skus(response)) == PAGE
    assert _links(response.content.decode()) == {}


@pytest.mark.parametrize("page", ["9", "0", "-3", "x", ""])
def test_bad_or_past_the_end_pages_are_answered(clerk_client, many_rows, page):
    response = clerk_client.get(reverse("stock_list"), {"page": page})
    assert response.status_code == 200
    if page == "9":
        assert _skus(response) == []
        assert _links(response.content.decode()) == {"prev": "?page=8"}
    else:
        assert _skus(response) == [product.sku for product in many_rows][:PAGE]


def test_unfiltered_list_shows_an_estimate_labelled_as_such(clerk_client, many_rows):
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    html = clerk_client.get(reverse("stock_list")).content.decode()
    estimate = estimated_rows(StockLevel)
    assert estimate == StockLevel.objects.count() == 120
    assert "About 120 balance rows in all (an estimate" in html
    assert 'href="?count=1"' in html


def test_count_and_filters_still_count(clerk_client, many_rows):
    counted = clerk_client.get(reverse("stock_list"), {"count": "1"})
    assert counted.context["summary"] == {"rows": 120, "lots": 0, "units": 240}
    assert counted.context["page_obj"].paginator.count == 120
    assert "Page 1 of 3 · 120 rows" in counted.content.decode()
    filtered = clerk_client.get(reverse("stock_list"), {"q": "P-11"})
    assert filtered.context["summary"]["rows"] == 10  # P-110 … P-119
    assert filtered.context["page_obj"].paginator.count == 10


def test_unfiltered_query_count_does_not_grow_with_rows(
    clerk_client, locations, django_assert_max_num_queries
):
    def queries_for(products: int) -> int:
        start = Product.objects.count()
        Product.objects.bulk_create(
            [
                Product(sku=f"R-{i:04d}", name="R", sell_price=Decimal("1"))
                for i in range(start, start + products)
            ]
        )
        for each in Product.objects.filter(moves__isnull=True):
            ledger.receive(product=each, location=locations["bin1"], quantity=1, unit_cost=1)
        with django_assert_max_num_queries(9) as captured:
            assert clerk_client.get(reverse("stock_list"), {"page": 2}).status_code == 200
        sql = [query["sql"] for query in captured.captured_queries]
        assert not any("COUNT(" in statement.upper() for statement in sql), sql
        return len(sql)

    assert queries_for(60) == queries_for(120)


@pytest.mark.parametrize("who", ["anonymous", "nobody"])
def test_unfiltered_list_still_needs_a_role(client, django_user_model, who):
    if who == "nobody":
        client.force_login(django_user_model.objects.create_user("nobody"))
    response = client.get(reverse("stock_list"))
    assert response.status_code == (302 if who == "anonymous" else 403)
