"""The inventory feed's fast paths: the one-SKU GET, pages of 1,000, and the ETag.

The fast paths (compiled queries, grouped page queries, rows rendered by a format
string) must answer exactly what the plain queryset path answers; a conditional
request that matches must not render the body; the tag must change with anything
the body is made of.
"""

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from inventory import ledger
from inventory.models import Lot, Product
from orders.channels import availability, feed
from orders.channels.tests.test_api import INVENTORY, bearer, items_by_sku
from orders.channels.tokens import rotate_token
from orders.models import ChannelWarehouse, SupplierProduct
from orders.purchasing import services as purchasing

pytestmark = pytest.mark.django_db


@pytest.fixture
def shelves(product, lot_product, dropship_product, locations, second_warehouse):
    """Every kind of row a page can hold: plain, two warehouses, quarantine, lots (one
    expired), a reservation, a dropship product, a product with no stock at all."""
    ledger.receive(product=product, location=locations["bin1"], quantity=10, unit_cost="2")
    ledger.receive(product=product, location=second_warehouse.bin, quantity=5, unit_cost="2")
    ledger.receive(product=product, location=locations["quarantine"], quantity=3, unit_cost="2")
    ledger.reserve(product=product, location=locations["bin1"], quantity=4)
    today = timezone.localdate()
    fresh = Lot.objects.create(product=lot_product, code="FRESH", expires_on=today + timedelta(30))
    stale = Lot.objects.create(product=lot_product, code="STALE", expires_on=today - timedelta(1))
    for lot, quantity in ((fresh, 4), (stale, 6)):
        ledger.receive(
            product=lot_product,
            location=locations["bin2"],
            quantity=quantity,
            unit_cost="1",
            lot=lot,
        )
    Product.objects.create(sku="EMPTY-1", name="Nothing yet")
    return [product, lot_product, dropship_product]


def test_every_path_answers_the_same_rows(
    shelves, web_store, marketplace, dropship_supplier, sent_order
):
    for channel in (web_store, marketplace):
        plain = availability.channel_inventory(channel, availability.active_products()[:50])
        walked = availability.inventory_walk(channel, after=None, limit=50)
        skus = [row[1] for row in plain]
        picked = availability.inventory_page(channel, skus=skus, after=None, limit=50)
        assert walked == plain == picked
        assert len(plain) == 4
    rows = {row[1]: row[2:6] for row in plain}  # the marketplace: buffer 2
    assert rows == {
        "MUG-001": (9, 18, 4, 10),
        "TEA-100": (2, 10, 0, 20),
        "SOFA-9": (5, 0, 0, 0),
        "EMPTY-1": (0, 0, 0, 0),
    }


def test_a_page_after_a_cursor_is_the_same_on_every_path(shelves, web_store):
    first = availability.active_products()[0]
    plain = availability.channel_inventory(web_store, availability.active_products(None, first.pk))
    assert availability.inventory_walk(web_store, after=first.pk, limit=10) == plain
    assert [row[1] for row in plain] == ["TEA-100", "SOFA-9", "EMPTY-1"]


def test_the_fast_body_is_what_the_schema_would_write(client, shelves, web_store):
    from orders.channels.schemas import InventoryPage

    token = rotate_token(web_store)
    body = client.get(INVENTORY, {"limit": 2}, headers=bearer(token)).json()
    assert InventoryPage.model_validate(body).model_dump(mode="json") == body
    assert body["items"][0]["updated_at"].endswith("Z")
    assert body["next_cursor"]


def test_the_one_sku_get_takes_two_queries(client, shelves, web_store, django_assert_num_queries):
    token = rotate_token(web_store)
    client.get(INVENTORY, {"sku": "MUG-001"}, headers=bearer(token))  # compiles the queries
    with django_assert_num_queries(2):
        response = client.get(INVENTORY, {"sku": "MUG-001"}, headers=bearer(token))
    assert items_by_sku(response)["MUG-001"]["available"] == 11
    # Another shape (two SKUs) compiles its own query once, then takes two again.
    client.get(INVENTORY, {"sku": ["MUG-001", "TEA-100"]}, headers=bearer(token))
    with django_assert_num_queries(2):
        response = client.get(INVENTORY, {"sku": ["MUG-001", "TEA-100"]}, headers=bearer(token))
    assert set(items_by_sku(response)) == {"MUG-001", "TEA-100"}


def test_a_matching_etag_answers_304_without_rendering_the_body(
    client, shelves, web_store, django_assert_num_queries
):
    headers = bearer(rotate_token(web_store))
    first = client.get(INVENTORY, {"limit": 1000}, headers=headers)
    conditional = {**headers, "If-None-Match": first["ETag"]}
    with mock.patch.object(feed, "render", wraps=feed.render) as render:
        with django_assert_num_queries(5):  # token, products, balances, incoming, dropship
            again = client.get(INVENTORY, {"limit": 1000}, headers=conditional)
        assert again.status_code == 304 and again.content == b""
        render.assert_not_called()
        client.get(INVENTORY, {"limit": 1000}, headers=headers)
        render.assert_called_once()


def tag(client, headers) -> str:
    return client.get(INVENTORY, {"limit": 1000}, headers=headers)["ETag"]


def test_the_etag_changes_with_everything_the_page_shows(
    client, shelves, marketplace, locations, draft_order, buyer, dropship_supplier
):
    headers = bearer(rotate_token(marketplace))
    product = shelves[0]
    seen = [tag(client, headers)]

    def changed() -> bool:
        seen.append(tag(client, headers))
        return seen[-1] not in seen[:-1]

    assert not changed()  # nothing happened: the same tag
    ledger.reserve(product=product, location=locations["bin1"], quantity=1)
    assert changed(), "a reservation"
    ledger.receive(product=product, location=locations["bin1"], quantity=1, unit_cost="2")
    assert changed(), "a receipt"
    marketplace.buffer = 1
    marketplace.save(update_fields=["buffer"])
    assert changed(), "the channel's buffer"
    ChannelWarehouse.objects.filter(channel=marketplace, priority=2).delete()
    assert changed(), "the channel's warehouses"
    ChannelWarehouse.objects.create(
        channel=marketplace, warehouse=locations["bin1"].warehouse, priority=3
    )
    assert not changed() and seen[-1] == seen[-3], "the same numbers again: the same tag"
    product.name = "Renamed mug"
    product.save()
    assert changed(), "a product rename (its updated_at)"
    purchasing.send_order(order=draft_order, user=buyer)
    assert changed(), "units on a sent purchase order"
    SupplierProduct.objects.filter(product=shelves[2]).update(supplier_stock=3)
    assert changed(), "a dropship supplier's stock"


def test_each_channel_has_its_own_tag_for_the_same_numbers(client, shelves, web_store):
    twin = type(web_store).objects.create(code="TWIN", name="Twin", kind=web_store.kind)
    for link in web_store.channel_warehouses.all():
        ChannelWarehouse.objects.create(
            channel=twin, warehouse=link.warehouse, priority=link.priority
        )
    web, other = bearer(rotate_token(web_store)), bearer(rotate_token(twin))
    web_page = client.get(INVENTORY, {"limit": 10}, headers=web)
    twin_page = client.get(INVENTORY, {"limit": 10}, headers=other)
    assert web_page.content == twin_page.content
    assert web_page["ETag"] != twin_page["ETag"]
