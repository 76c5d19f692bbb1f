"""Keys-first pages return exactly what slicing the queryset returns."""

from common.pagination import KeysFirstPaginator, keys_first
from inventory import ledger
from inventory.models import StockMove


def test_keys_first_matches_plain_slicing(product, locations):
    for i in range(7):
        ledger.receive(product=product, location=locations["bin1"], quantity=i + 1, unit_cost=1)
    moves = StockMove.objects.select_related("product", "to_location").order_by("-quantity")
    assert keys_first(moves, 2, 5) == list(moves[2:5])
    assert [m.quantity for m in keys_first(moves, 0, 3)] == [7, 6, 5]
    assert keys_first(moves.filter(quantity__gt=100), 0, 10) == []


def test_keys_first_paginator_pages_in_order(product, locations, django_assert_num_queries):
    for i in range(5):
        ledger.receive(product=product, location=locations["bin1"], quantity=i + 1, unit_cost=1)
    moves = StockMove.objects.select_related("product").order_by("quantity")
    paginator = KeysFirstPaginator(moves, 2)
    assert paginator.count == 5
    with django_assert_num_queries(2):
        page = paginator.page(3)
        assert [m.quantity for m in page] == [5]
        assert page[0].product.sku == product.sku
    assert [m.quantity for m in paginator.page(1)] == [1, 2]
