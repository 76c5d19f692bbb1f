"""Warehouse and location pages: the tree, the contents, query counts that do not grow."""

import re

import pytest
from django.urls import reverse

from inventory import ledger
from inventory.tests.test_views import N, assert_flat_query_count, build_stock
from warehouses.models import Location, Warehouse


@pytest.fixture
def clerk_client(client, clerk):
    client.force_login(clerk)
    return client


def test_warehouse_list_shows_locations_and_units(clerk_client, locations, product):
    Warehouse.objects.create(code="WH2", name="Overflow")
    ledger.receive(product=product, location=locations["bin1"], quantity=4, unit_cost=1)
    ledger.receive(product=product, location=locations["quarantine"], quantity=3, unit_cost=1)

    response = clerk_client.get(reverse("warehouse_list"))

    rows = [(w.code, w.location_count, w.on_hand) for w in response.context["warehouses"]]
    assert rows == [("WH1", 6, 7), ("WH2", 0, 0)]
    assert 'href="/warehouses/WH1/"' in response.content.decode()


def test_warehouse_page_shows_the_tree_in_path_order(clerk_client, locations, product):
    aisle = Location.objects.create(
        warehouse=locations["zone"].warehouse,
        parent=locations["bin1"],
        code="TOP",
        barcode="WH1-A-01-TOP",
    )
    ledger.receive(product=product, location=aisle, quantity=2, unit_cost=1)

    response = clerk_client.get(reverse("warehouse_detail", args=["WH1"]))

    tree = [(loc.path, loc.depth, loc.on_hand) for loc in response.context["locations"]]
    assert tree == [
        ("WH1/A", 0, 0),
        ("WH1/A/01", 1, 0),
        ("WH1/A/01/TOP", 2, 2),
        ("WH1/A/02", 1, 0),
        ("WH1/QUA", 0, 0),
        ("WH1/RCV", 0, 0),
        ("WH1/SHP", 0, 0),
    ]
    html = response.content.decode()
    depths = re.findall(r'<td class="depth-(\d+)"><a href="/locations/([^/]+)/"', html)
    assert depths[:3] == [("0", "WH1-A"), ("1", "WH1-A-01"), ("2", "WH1-A-01-TOP")]


def test_location_page_shows_contents_of_its_subtree(
    clerk_client, locations, product, lot_product
):
    from datetime import date

    ledger.receive(product=product, location=locations["bin1"], quantity=4, unit_cost=1)
    ledger.receive(
        product=lot_product,
        location=locations["bin2"],
        quantity=6,
        unit_cost=1,
        lot_code="L9",
        expires_on=date(2031, 1, 1),
    )
    ledger.receive(product=product, location=locations["receiving"], quantity=50, unit_cost=1)

    zone = clerk_client.get(reverse("location_detail", args=["WH1-A"]))

    contents = [(r.product.sku, r.location.barcode, r.on_hand) for r in zone.context["page_obj"]]
    assert contents == [("MUG-001", "WH1-A-01", 4), ("TEA-100", "WH1-A-02", 6)]
    assert zone.context["totals"] == {"units_on_hand": 10, "units_committed": 0, "products": 2}
    assert [c.barcode for c in zone.context["children"]] == ["WH1-A-01", "WH1-A-02"]
    html = zone.content.decode()
    assert "2031-01-01" in html and "L9" in html

    one_bin = clerk_client.get(reverse("location_detail", args=["WH1-A-02"]))
    assert [a.barcode for a in one_bin.context["ancestors"]] == ["WH1-A"]
    assert [r.product.sku for r in one_bin.context["page_obj"]] == ["TEA-100"]


def test_location_page_contents_partial_for_htmx(clerk_client, locations, product):
    ledger.receive(product=product, location=locations["bin1"], quantity=4, unit_cost=1)
    response = clerk_client.get(
        reverse("location_detail", args=["WH1-A"]), headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="results"') and "<html" not in html
    assert "HX-Request" in response.headers["Vary"]


def test_unknown_warehouse_and_location_are_404(clerk_client, locations):
    assert clerk_client.get(reverse("warehouse_detail", args=["NOPE"])).status_code == 404
    assert clerk_client.get(reverse("location_detail", args=["NOPE"])).status_code == 404


def test_warehouse_list_query_count_is_flat(
    clerk_client, clerk, locations, django_assert_max_num_queries
):
    assert_flat_query_count(
        clerk_client,
        reverse("warehouse_list"),
        locations,
        5,
        django_assert_max_num_queries,
        clerk,
    )


def test_warehouse_page_query_count_is_flat(
    clerk_client, clerk, locations, django_assert_max_num_queries
):
    url = reverse("warehouse_detail", args=["WH1"])
    build_stock(N, locations)
    small = _queries(clerk_client, url)
    for i in range(3 * N):
        Location.objects.create(
            warehouse=locations["zone"].warehouse,
            parent=locations["bin2"],
            code=f"S{i}",
            barcode=f"WH1-A-02-S{i}",
        )
    with django_assert_max_num_queries(6):
        large = _queries(clerk_client, url)
    assert small == large


def test_location_page_query_count_is_flat(
    clerk_client, clerk, locations, django_assert_max_num_queries
):
    response = assert_flat_query_count(
        clerk_client,
        reverse("location_detail", args=["WH1-A"]),
        locations,
        11,  # recent moves come keys-first (inventory.pagination): one query more, flat
        django_assert_max_num_queries,
        clerk,
    )
    assert len(response.context["page_obj"]) == 3 * 3 * N


def _queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries.captured_queries)


def test_locations_read_as_their_barcode_everywhere(clerk_client, locations, product):
    """People type MAIN-A-01-01, so pages show it that way, never the path MAIN/A/01/01."""
    ledger.receive(product=product, location=locations["bin1"], quantity=2, unit_cost=1)
    assert str(locations["bin1"]) == "WH1-A-01"

    pages = [
        reverse("warehouse_detail", args=["WH1"]),
        reverse("location_detail", args=["WH1-A"]),
        reverse("location_detail", args=["WH1-A-01"]),
        reverse("stock_list"),
        reverse("product_detail", args=["MUG-001"]),
        reverse("dashboard"),
    ]
    for url in pages:
        html = clerk_client.get(url).content.decode()
        assert "WH1/A" not in html, url
        assert "WH1-A-01" in html, url
    # A bin is listed by its full code, not as a bare "01".
    tree = clerk_client.get(reverse("warehouse_detail", args=["WH1"])).content.decode()
    assert '">01</a>' not in tree
    inside = clerk_client.get(reverse("location_detail", args=["WH1-A"])).content.decode()
    assert '">01</a>' not in inside and ">WH1-A-01</a>" in inside
