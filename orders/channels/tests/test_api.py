"""The channel API: authentication, inventory (numbers, pages, ETag), orders and every error code.

Stock comes from the ledger and orders from ``orders.sales``; the API is called through
Django's test client with a real channel token.
"""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from inventory import ledger
from inventory.models import Lot, Product
from orders.channels import tokens as channels
from orders.models import Channel, ChannelWarehouse

INVENTORY = "/api/v1/inventory"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def auth(token: str) -> dict:
    """``bearer`` as the test client's keyword arguments."""
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def web_token(web_store) -> str:
    return channels.rotate_token(web_store)


@pytest.fixture
def mkt_token(marketplace) -> str:
    return channels.rotate_token(marketplace)


@pytest.fixture
def api(client, web_token):
    """``api.get(path, token=web_token, **params)`` / ``api.post(path, body, token=…)``."""

    class Api:
        def get(self, path, data=None, *, token=web_token, headers=None):
            return client.get(path, data or {}, headers={**bearer(token), **(headers or {})})

        def post(self, path, body=None, *, token=web_token):
            return client.post(
                path,
                body if body is not None else {},
                content_type="application/json",
                headers=bearer(token),
            )

    helper = Api()
    helper.token = web_token
    return helper


def items_by_sku(response) -> dict[str, dict]:
    assert response.status_code == 200, response.content
    return {item["sku"]: item for item in response.json()["items"]}


def assert_error(response, status: int, code: str, field=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message", "field"}
    assert body["code"] == code, body
    assert body["message"]
    assert body["field"] == field, body
    return body


# --- authentication ----------------------------------------------------------------


def test_no_token_is_401(client, web_token):
    response = client.get(INVENTORY)
    assert_error(response, 401, "unauthorized")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer srk_not-a-real-token",
        "Bearer ",
        "Bearer " + "x" * 5000,
        "Bearer ü∂ß\x00",
        "Basic dXNlcjpwYXNz",
        "srk_token-without-scheme",
    ],
)
def test_wrong_token_is_401(client, web_token, header):
    assert_error(client.get(INVENTORY, headers={"Authorization": header}), 401, "unauthorized")


def test_a_rotated_token_stops_working(api, web_store, web_token):
    channels.rotate_token(web_store)
    assert_error(api.get(INVENTORY), 401, "unauthorized")


def test_inactive_channel_is_403(api, web_store):
    Channel.objects.filter(pk=web_store.pk).update(active=False)
    body = assert_error(api.get(INVENTORY), 403, "channel_inactive")
    assert "WEB" in body["message"]


def test_docs_and_schema_need_no_token(client):
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    assert schema.json()["info"] == {
        "title": "Stockroom channel API",
        "version": "1",
        "description": schema.json()["info"]["description"],
    }
    assert set(schema.json()["paths"]) == {
        "/api/v1/inventory",
        "/api/v1/orders",
        "/api/v1/orders/{external_ref}",
        "/api/v1/orders/{external_ref}/cancel",
    }
    assert client.get("/api/v1/docs").status_code == 200


@pytest.mark.xfail(
    "ninja" not in settings.INSTALLED_APPS,
    reason="without 'ninja' in INSTALLED_APPS the docs page loads Swagger UI from a CDN "
    "with an inline script, both refused by our CSP",
    strict=True,
)
def test_the_docs_page_loads_only_our_own_assets_under_the_csp(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    csp = page["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    html = page.content.decode()
    # Inline scripts would need a nonce; a JSON data block is not run.
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    assert all('type="application/json"' in attrs for attrs in inline), inline
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(url.endswith("swagger-ui-bundle.js") for url in assets)
    for url in assets:
        assert url.startswith("/"), f"{url} is not served by us"
        response = client.get(url)
        assert response.status_code == 200, url
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)


# --- inventory numbers --------------------------------------------------------------


@pytest.fixture
def stock(product, lot_product, locations, second_warehouse):
    """MUG-001: 10 in WH1 bin1, 5 in WH2, 3 in WH1 quarantine.

    TEA-100: 4 of an unexpired lot in WH1 bin2, 6 of an expired lot in WH1 bin2.
    """
    ledger.receive(product=product, location=locations["bin1"], quantity=10, unit_cost="2")
    ledger.receive(product=product, location=second_warehouse.bin, quantity=5, unit_cost="2")
    ledger.receive(product=product, location=locations["quarantine"], quantity=3, unit_cost="2")
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


def test_inventory_numbers_per_channel(api, stock, mkt_token, dropship_supplier):
    web = items_by_sku(api.get(INVENTORY))
    mkt = items_by_sku(api.get(INVENTORY, token=mkt_token))
    quantities = ("available", "on_hand", "committed", "incoming")
    # Quarantine counts as on hand, never as available; the expired lot neither sells.
    assert [web["MUG-001"][k] for k in quantities] == [15, 18, 0, 0]
    assert [web["TEA-100"][k] for k in quantities] == [4, 10, 0, 0]
    # The marketplace holds back 2 per SKU.
    assert [mkt["MUG-001"][k] for k in quantities] == [13, 18, 0, 0]
    assert [mkt["TEA-100"][k] for k in quantities] == [2, 10, 0, 0]
    # Dropship: the supplier's reported stock, minus the buffer; nothing in our warehouses.
    assert [web["SOFA-9"][k] for k in quantities] == [7, 0, 0, 0]
    assert [mkt["SOFA-9"][k] for k in quantities] == [5, 0, 0, 0]


def test_inventory_counts_only_the_channels_warehouses(
    api, stock, second_warehouse, sent_order, product
):
    pos = Channel.objects.create(code="POS", name="Shop counter", kind=Channel.Kind.POS)
    ChannelWarehouse.objects.create(channel=pos, warehouse=second_warehouse, priority=1)
    pos_token = channels.rotate_token(pos)
    web = items_by_sku(api.get(INVENTORY))
    shop = items_by_sku(api.get(INVENTORY, token=pos_token))
    # sent_order: 10 mugs and 20 teas ordered into WH1.
    assert web["MUG-001"]["incoming"] == 10
    assert web["TEA-100"]["incoming"] == 20
    assert shop["MUG-001"] == {**shop["MUG-001"], "available": 5, "on_hand": 5, "incoming": 0}
    assert shop["TEA-100"]["on_hand"] == 0


def test_a_channel_without_warehouses_sees_zero(client, stock):
    lonely = Channel.objects.create(code="LONE", name="No warehouse")
    items = items_by_sku(client.get(INVENTORY, headers=bearer(channels.rotate_token(lonely))))
    assert items["MUG-001"]["available"] == items["MUG-001"]["on_hand"] == 0


def test_inactive_products_are_left_out_and_unknown_skus_are_absent(api, stock, product):
    Product.objects.create(sku="OLD-1", name="Retired", active=False)
    assert "OLD-1" not in items_by_sku(api.get(INVENTORY))
    picked = items_by_sku(api.get(INVENTORY, {"sku": ["MUG-001", "NOPE", "OLD-1"]}))
    assert list(picked) == ["MUG-001"]


def test_updated_at_is_the_latest_change(api, stock, product, locations):
    before = parse_datetime(
        items_by_sku(api.get(INVENTORY, {"sku": "MUG-001"}))["MUG-001"]["updated_at"]
    )
    move = ledger.adjust(
        product=product, location=locations["bin1"], quantity=-1, reason="damaged"
    )
    after = items_by_sku(api.get(INVENTORY, {"sku": "MUG-001"}))["MUG-001"]
    assert parse_datetime(after["updated_at"]) > before
    assert after["available"] == 14
    assert parse_datetime(after["updated_at"]) == move.created_at


# --- pages -------------------------------------------------------------------------


@pytest.fixture
def catalog(db, locations):
    """23 stocked products P-00 … P-22, product i with i units in bin1."""
    products = []
    for i in range(23):
        p = Product.objects.create(sku=f"P-{i:02d}", name=f"Product {i}")
        if i:
            ledger.receive(product=p, location=locations["bin1"], quantity=i, unit_cost="1")
        products.append(p)
    return products


def walk(api, limit: int, **params) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        response = api.get(INVENTORY, query)
        assert response.status_code == 200, response.content
        body = response.json()
        pages.append([item["sku"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50, "pagination does not end"


def test_walking_all_pages_lists_each_product_once_in_a_stable_order(api, catalog):
    pages = walk(api, 5)
    assert [len(page) for page in pages] == [5, 5, 5, 5, 3]
    skus = [sku for page in pages for sku in page]
    assert skus == [p.sku for p in catalog]
    assert walk(api, 5) == pages
    assert walk(api, 23) == [skus]
    assert walk(api, 1000) == [skus]


def test_a_product_added_while_walking_appears_on_a_later_page(api, catalog):
    first = api.get(INVENTORY, {"limit": 10}).json()
    Product.objects.create(sku="NEW-1", name="New")
    rest = walk(api, 10, cursor=first["next_cursor"])
    skus = [item["sku"] for item in first["items"]] + [s for page in rest for s in page]
    assert skus == [p.sku for p in catalog] + ["NEW-1"]


def test_query_count_does_not_grow_with_the_page(
    api, catalog, dropship_supplier, django_assert_max_num_queries
):
    with django_assert_max_num_queries(6):
        small = api.get(INVENTORY, {"limit": 5})
    with django_assert_max_num_queries(6):
        large = api.get(INVENTORY, {"limit": 200})
    assert len(small.json()["items"]) == 5
    assert len(large.json()["items"]) == 24
    since = (timezone.now() - timedelta(days=1)).isoformat()
    with django_assert_max_num_queries(6):
        api.get(INVENTORY, {"limit": 200, "updated_since": since})


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "cDow",
        "cDotMQ",
        "eDo1",
        "x" * 41,
        "cDox\n",
        "cDoxMjM0NTY3ODkwMTIzNDU2Nzg5",
    ],
)
def test_a_malformed_cursor_is_400(api, catalog, cursor):
    assert_error(api.get(INVENTORY, {"cursor": cursor}), 400, "invalid_cursor", "cursor")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": 10**30}, "limit"),
        ({"updated_since": "yesterday"}, "updated_since"),
        ({"updated_since": "2026-13-45T00:00:00"}, "updated_since"),
        ({"sku": "x" * 65}, "sku[0]"),
    ],
)
def test_bad_inventory_parameters_are_422(api, catalog, params, field):
    assert_error(api.get(INVENTORY, params), 422, "invalid_request", field)


def test_too_many_skus_are_refused(api, catalog):
    assert_error(api.get(INVENTORY, {"sku": ["P-01"] * 501}), 422, "invalid_request", "sku")
    # Past Django's cap on query parameters: still a JSON refusal.
    many = api.get(INVENTORY, {"sku": ["P-01"] * 1001})
    assert_error(many, 400, "too_many_parameters")


@pytest.mark.parametrize(
    ("since", "count"),
    [
        ("0579-01-18T17:07:34+23:17", 23),
        ("0001-01-01T00:00:00+05:00", 23),
        ("0001-01-01T00:00:00", 23),
        ("9999-12-31T23:59:59-05:00", 0),
        ("9999-12-31T23:59:59.999999", 0),
    ],
)
def test_updated_since_takes_any_valid_time(api, catalog, since, count):
    assert len(items_by_sku(api.get(INVENTORY, {"updated_since": since}))) == count


def test_skus_that_cannot_exist_are_refused_or_absent(api, catalog):
    assert_error(api.get(INVENTORY, {"sku": "P-01\x00"}), 422, "invalid_request", "sku[0]")
    assert items_by_sku(api.get(INVENTORY, {"sku": ["ü/ß", "P-01"]})).keys() == {"P-01"}


# --- ETag -------------------------------------------------------------------------------


def test_an_unchanged_page_answers_304_and_a_change_a_new_etag(api, catalog, locations):
    first = api.get(INVENTORY, {"limit": 5})
    etag = first["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert first["Cache-Control"] == "private, no-cache"
    again = api.get(INVENTORY, {"limit": 5}, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    # Another page has its own tag.
    other = api.get(INVENTORY, {"limit": 4})
    assert other["ETag"] != etag
    assert api.get(INVENTORY, {"limit": 4}, headers={"If-None-Match": etag}).status_code == 200
    ledger.receive(product=catalog[0], location=locations["bin1"], quantity=2, unit_cost="1")
    changed = api.get(INVENTORY, {"limit": 5}, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert items_by_sku(changed)["P-00"]["available"] == 2


def test_the_etag_is_per_channel(api, catalog, mkt_token):
    web = api.get(INVENTORY, {"limit": 5})
    mkt = api.get(INVENTORY, {"limit": 5}, token=mkt_token, headers={"If-None-Match": web["ETag"]})
    assert mkt.status_code == 200
    assert mkt["ETag"] != web["ETag"]
    assert mkt["Vary"] == "Authorization"


# --- updated_since -------------------------------------------------------------------


def test_updated_since_lists_only_what_changed(
    api, catalog, locations, dropship_supplier, dropship_product
):
    mark = timezone.now()
    assert items_by_sku(api.get(INVENTORY, {"updated_since": mark.isoformat()})) == {}
    ledger.receive(product=catalog[3], location=locations["bin1"], quantity=1, unit_cost="1")
    renamed = catalog[7]
    renamed.name = "Renamed"
    renamed.save()
    sofa = dropship_product.supplier_products.get()
    sofa.supplier_stock, sofa.supplier_stock_updated_at = 9, timezone.now()
    sofa.save()
    changed = items_by_sku(api.get(INVENTORY, {"updated_since": mark.isoformat()}))
    assert set(changed) == {"P-03", "P-07", "SOFA-9"}
    assert changed["P-03"]["available"] == 4
    assert changed["SOFA-9"]["available"] == 9
    for item in changed.values():
        assert parse_datetime(item["updated_at"]) >= mark
    # Pages of changed items walk the same way.
    assert walk(api, 2, updated_since=mark.isoformat()) == [["P-03", "P-07"], ["SOFA-9"]]
    # A time without an offset is read in the server's time zone.
    naive = timezone.localtime(mark).replace(tzinfo=None).isoformat()
    assert set(items_by_sku(api.get(INVENTORY, {"updated_since": naive}))) == set(changed)
    later = (timezone.now() + timedelta(seconds=1)).isoformat()
    assert items_by_sku(api.get(INVENTORY, {"updated_since": later})) == {}


def test_stock_moves_in_another_channels_warehouse_do_not_count_as_changes(
    api, client, catalog, warehouse, second_warehouse
):
    only_wh1 = Channel.objects.create(code="ONE", name="WH1 only")
    ChannelWarehouse.objects.create(channel=only_wh1, warehouse=warehouse, priority=1)
    token = channels.rotate_token(only_wh1)
    mark = timezone.now().isoformat()
    ledger.receive(product=catalog[5], location=second_warehouse.bin, quantity=1, unit_cost="1")
    assert list(items_by_sku(api.get(INVENTORY, {"updated_since": mark}))) == ["P-05"]
    mine = client.get(INVENTORY, {"updated_since": mark}, headers=bearer(token))
    assert items_by_sku(mine) == {}


def test_a_lot_that_expired_since_counts_as_changed(api, lot_product, locations):
    """No ledger call marks an expiry: the lot just stops counting at the start of the next day."""
    from orders.channels.availability import expiry_moment

    today = timezone.localdate()
    long_ago = timezone.now() - timedelta(days=10)
    jam = Product.objects.create(sku="JAM-1", name="Jam", tracking="lot_expiry")
    for product, code, expires_on, quantity in (
        (lot_product, "T-OLD", today - timedelta(days=1), 4),  # expired at today's start
        (lot_product, "T-NEW", today + timedelta(days=30), 2),
        (jam, "J-OLD", today - timedelta(days=5), 3),  # expired days before
    ):
        ledger.receive(
            product=product,
            location=locations["bin1"],
            quantity=quantity,
            unit_cost="1",
            lot_code=code,
            expires_on=expires_on,
            at=long_ago,
        )
    Product.objects.filter(pk__in=[lot_product.pk, jam.pk]).update(updated_at=long_ago)
    expired_at = expiry_moment(today - timedelta(days=1))
    assert expired_at <= timezone.now()

    since = (expired_at - timedelta(days=1)).isoformat()
    changed = items_by_sku(api.get(INVENTORY, {"updated_since": since}))
    assert list(changed) == ["TEA-100"]
    assert changed["TEA-100"]["available"] == 2
    assert parse_datetime(changed["TEA-100"]["updated_at"]) == expired_at
    everything = items_by_sku(api.get(INVENTORY))
    assert parse_datetime(everything["JAM-1"]["updated_at"]) == expiry_moment(
        today - timedelta(days=5)
    )
    # Asked after the expiry: the client already had the smaller number.
    after = (expired_at + timedelta(microseconds=1)).isoformat()
    assert items_by_sku(api.get(INVENTORY, {"updated_since": after})) == {}


def test_a_change_of_the_channels_selling_settings_lists_every_product(
    api, catalog, web_store, mkt_token
):
    from orders.channels import outbox

    mark = timezone.now()
    assert items_by_sku(api.get(INVENTORY, {"updated_since": mark.isoformat()})) == {}
    web_store.buffer = 1
    web_store.save()
    outbox.resync_channel(web_store)  # what the channel pages call on such a change

    changed = items_by_sku(api.get(INVENTORY, {"updated_since": mark.isoformat()}))
    assert set(changed) == {p.sku for p in catalog}
    assert changed["P-05"]["available"] == 4
    web_store.refresh_from_db()
    assert {parse_datetime(i["updated_at"]) for i in changed.values()} == {
        web_store.settings_changed_at
    }
    assert walk(api, 10, updated_since=mark.isoformat()) == walk(api, 10)
    other = api.get(INVENTORY, {"updated_since": mark.isoformat()}, token=mkt_token)
    assert items_by_sku(other) == {}, "another channel's settings"


# --- orders ------------------------------------------------------------------------------

ORDERS = "/api/v1/orders"


def order_body(ref="WEB-1001", lines=None, **customer) -> dict:
    return {
        "external_ref": ref,
        "customer": {
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "address": "12 St James's Square\nLondon",
            **customer,
        },
        "lines": lines
        if lines is not None
        else [{"sku": "MUG-001", "quantity": 3, "unit_price": "9.90"}],
    }


def sales_rows() -> dict:
    """Every stock, purchasing and sales row, to show a refusal wrote nothing."""
    from orders.conftest import snapshot
    from orders.models import Allocation, SalesOrder, SalesOrderEvent, SalesOrderLine

    rows = snapshot()
    for model in (SalesOrder, SalesOrderLine, Allocation, SalesOrderEvent):
        rows[model.__name__] = list(model.objects.order_by("pk").values_list())
    return rows


@pytest.fixture
def mugs(product, locations):
    """MUG-001: 10 units in WH1 bin1."""
    ledger.receive(product=product, location=locations["bin1"], quantity=10, unit_cost="2.00")
    return product


def test_placing_an_order_allocates_it(api, mugs):
    response = api.post(ORDERS, order_body())
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["external_ref"] == "WEB-1001"
    assert order["number"].startswith("SO-")
    assert order["status"] == "allocated"
    assert parse_datetime(order["created_at"]) <= timezone.now()
    assert order["lines"] == [
        {
            "sku": "MUG-001",
            "quantity": 3,
            "unit_price": "9.90",
            "allocated": 3,
            "backordered": 0,
            "shipped": 0,
            "dropship": False,
        }
    ]
    assert items_by_sku(api.get(INVENTORY, {"sku": "MUG-001"}))["MUG-001"] == {
        **items_by_sku(api.get(INVENTORY, {"sku": "MUG-001"}))["MUG-001"],
        "available": 7,
        "committed": 3,
        "on_hand": 10,
    }


def test_what_is_not_in_stock_is_backordered_and_dropship_lines_go_to_the_supplier(
    api, mugs, dropship_supplier
):
    body = order_body(
        lines=[
            {"sku": "MUG-001", "quantity": 12, "unit_price": 9.9},
            {"sku": "SOFA-9", "quantity": 1, "unit_price": "499"},
        ]
    )
    response = api.post(ORDERS, body)
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["status"] == "backordered"
    mug, sofa = order["lines"]
    assert (mug["allocated"], mug["backordered"], mug["dropship"]) == (10, 2, False)
    assert (sofa["allocated"], sofa["backordered"], sofa["dropship"]) == (0, 0, True)
    assert sofa["unit_price"] == "499.00"


def test_the_same_order_again_answers_200_with_the_same_order(api, mugs):
    first = api.post(ORDERS, order_body())
    before = sales_rows()
    # The same order with the price written another way and spaces around the name.
    again = api.post(
        ORDERS,
        order_body(
            lines=[{"sku": "MUG-001", "quantity": 3, "unit_price": 9.9}], name="  Ada Lovelace "
        ),
    )
    assert again.status_code == 200, again.content
    assert again.json() == first.json()
    assert sales_rows() == before


def test_a_free_line_is_the_same_order_whichever_way_zero_is_written(client, web_token, mugs):
    raw = (
        '{"external_ref":"FREE-1","customer":{"name":"A","address":"X"},'
        '"lines":[{"sku":"MUG-001","quantity":1,"unit_price":%s}]}'
    )

    def send(price: str):
        return client.post(
            ORDERS, (raw % price).encode(), content_type="application/json", **auth(web_token)
        )

    first = send("0")
    assert first.status_code == 201, first.content
    assert first.json()["lines"][0]["unit_price"] == "0.00"
    before = sales_rows()
    for price in ("-0", "-0.0", '"-0.00"', "0.000", '"-0"', "-0e5"):
        again = send(price)
        assert again.status_code == 200, (price, again.content)
        assert again.json() == first.json()
    assert sales_rows() == before


def test_another_order_with_a_used_reference_is_409(api, mugs):
    api.post(ORDERS, order_body())
    before = sales_rows()
    changed = order_body(lines=[{"sku": "MUG-001", "quantity": 4, "unit_price": "9.90"}])
    body = assert_error(api.post(ORDERS, changed), 409, "duplicate_external_ref", "external_ref")
    assert "WEB-1001" in body["message"]
    assert sales_rows() == before


def test_references_are_per_channel(api, mugs, mkt_token):
    web = api.post(ORDERS, order_body())
    mkt = api.post(ORDERS, order_body(), token=mkt_token)
    assert web.status_code == mkt.status_code == 201
    assert web.json()["number"] != mkt.json()["number"]


def test_an_unknown_sku_is_422_and_writes_nothing(api, mugs):
    before = sales_rows()
    lines = [
        {"sku": "MUG-001", "quantity": 1, "unit_price": "1"},
        {"sku": "NOPE-404", "quantity": 1, "unit_price": "1"},
    ]
    body = assert_error(
        api.post(ORDERS, order_body(lines=lines)), 422, "unknown_sku", "lines[1].sku"
    )
    assert "NOPE-404" in body["message"]
    assert sales_rows() == before
    assert_error(api.get(f"{ORDERS}/WEB-1001"), 404, "not_found", "external_ref")


def line(**fields) -> list[dict]:
    return [{"sku": "MUG-001", "quantity": 1, "unit_price": "9.90", **fields}]


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        (order_body(lines=line(quantity=0)), "invalid_quantity", "lines[0].quantity"),
        (order_body(lines=line(quantity=-3)), "invalid_quantity", "lines[0].quantity"),
        (order_body(lines=line(quantity=1.5)), "invalid_quantity", "lines[0].quantity"),
        (order_body(lines=line(quantity="2")), "invalid_quantity", "lines[0].quantity"),
        (order_body(lines=line(quantity=True)), "invalid_quantity", "lines[0].quantity"),
        (order_body(lines=line(quantity=None)), "invalid_quantity", "lines[0].quantity"),
        (order_body(lines=line(quantity=10**40)), "invalid_quantity", "lines[0].quantity"),
        (order_body(lines=line(quantity=1_000_001)), "invalid_quantity", "lines[0].quantity"),
        (order_body(lines=line(unit_price=-1)), "invalid_price", "lines[0].unit_price"),
        (order_body(lines=line(unit_price="abc")), "invalid_price", "lines[0].unit_price"),
        (order_body(lines=line(unit_price="1.234")), "invalid_price", "lines[0].unit_price"),
        (order_body(lines=line(unit_price=1e20)), "invalid_price", "lines[0].unit_price"),
        (order_body(lines=line(unit_price="NaN")), "invalid_price", "lines[0].unit_price"),
        (order_body(lines=line(unit_price=None)), "invalid_price", "lines[0].unit_price"),
        (order_body(lines=line(sku="")), "invalid_request", "lines[0].sku"),
        (order_body(lines=line(sku="S" * 65)), "invalid_request", "lines[0].sku"),
        (order_body(lines=line(sku=7)), "invalid_request", "lines[0].sku"),
        (order_body(lines=line(colour="red")), "invalid_request", "lines[0].colour"),
        (order_body(lines=[]), "invalid_request", "lines"),
        (order_body(lines="MUG-001"), "invalid_request", "lines"),
        (order_body(lines=line() * 501), "invalid_request", "lines"),
        (order_body(ref=""), "invalid_request", "external_ref"),
        (order_body(ref="a/b"), "invalid_request", "external_ref"),
        (order_body(ref="R" * 101), "invalid_request", "external_ref"),
        (order_body(ref=None), "invalid_request", "external_ref"),
        (order_body(name=""), "invalid_request", "customer.name"),
        (order_body(name="N" * 201), "invalid_request", "customer.name"),
        (order_body(email="not-an-email"), "invalid_request", "customer.email"),
        (order_body(email="a@" + "b" * 260 + ".com"), "invalid_request", "customer.email"),
        (order_body(address="   "), "invalid_request", "customer.address"),
        (order_body(address="x" * 2001), "invalid_request", "customer.address"),
        (order_body(name="Ada\x00"), "invalid_request", "customer.name"),
        (order_body(address="Flat \ud800 1"), "invalid_request", "customer.address"),
        (order_body(lines=line(sku="MUG\x00")), "invalid_request", "lines[0].sku"),
        (order_body(ref="R\x00"), "invalid_request", "external_ref"),
        ({**order_body(), "customer": None}, "invalid_request", "customer"),
        ({"lines": line()}, "invalid_request", "external_ref"),
        ([order_body()], "invalid_request", None),
    ],
)
def test_bad_orders_are_422_and_write_nothing(api, mugs, body, code, field):
    before = sales_rows()
    assert_error(api.post(ORDERS, body), 422, code, field)
    assert sales_rows() == before


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b"just a string", b"{" * 10_000])
def test_a_body_that_is_not_json_is_400(client, web_token, mugs, raw):
    before = sales_rows()
    response = client.post(ORDERS, raw, content_type="application/json", headers=bearer(web_token))
    assert_error(response, 400, "invalid_json")
    assert sales_rows() == before


def test_a_body_over_the_upload_limit_is_400(api, mugs, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    before = sales_rows()
    response = api.post(ORDERS, order_body(address="x" * 20_000))
    assert_error(response, 400, "body_too_large")
    assert sales_rows() == before


def test_a_ledger_refusal_that_reaches_the_api_is_a_409(api, mugs, monkeypatch):
    from inventory.errors import InsufficientStock
    from orders.sales import services as sales

    def refuse(**kwargs):
        raise InsufficientStock("Only 0 free in WH1-A-01.", field="quantity")

    monkeypatch.setattr(sales, "create_order", refuse)
    body = assert_error(api.post(ORDERS, order_body()), 409, "insufficient_stock", "quantity")
    assert body["message"] == "Only 0 free in WH1-A-01."


@pytest.mark.parametrize("raw", [b"", b"null", b"42", b'"an order"', b"[]"])
def test_json_that_is_not_an_object_is_422(client, web_token, mugs, raw):
    response = client.post(ORDERS, raw, content_type="application/json", headers=bearer(web_token))
    assert_error(response, 422, "invalid_request")


@pytest.mark.parametrize(
    ("setup", "sku", "code", "status"),
    [
        ("inactive", "MUG-001", "product_inactive", 422),
        ("no_supplier", "SOFA-9", "no_dropship_supplier", 422),
    ],
)
def test_products_that_cannot_be_sold_are_refused(
    api, mugs, dropship_product, setup, sku, code, status
):
    if setup == "inactive":
        Product.objects.filter(sku=sku).update(active=False)
    before = sales_rows()
    lines = [{"sku": sku, "quantity": 1, "unit_price": "1.00"}]
    assert_error(api.post(ORDERS, order_body(lines=lines)), status, code, "lines[0].sku")
    assert sales_rows() == before


def test_a_channel_without_a_warehouse_cannot_take_stocked_orders(client, mugs):
    lonely = Channel.objects.create(code="LONE", name="No warehouse")
    token = channels.rotate_token(lonely)
    response = client.post(
        ORDERS, order_body(), content_type="application/json", headers=bearer(token)
    )
    assert_error(response, 409, "channel_has_no_warehouse", "channel")


def test_an_inactive_channel_cannot_place_orders(api, mugs, web_store):
    Channel.objects.filter(pk=web_store.pk).update(active=False)
    before = sales_rows()
    assert_error(api.post(ORDERS, order_body()), 403, "channel_inactive")
    assert sales_rows() == before


def test_unauthenticated_orders_are_401_even_when_invalid(client, mugs, web_token):
    for body in (order_body(), {"nonsense": True}):
        response = client.post(ORDERS, body, content_type="application/json")
        assert_error(response, 401, "unauthorized")
    assert_error(client.get(f"{ORDERS}/WEB-1001"), 401, "unauthorized")
    assert_error(client.post(f"{ORDERS}/WEB-1001/cancel"), 401, "unauthorized")


def test_reading_an_order(api, mugs):
    placed = api.post(ORDERS, order_body(ref="R:2026-11#7")).json()
    response = api.get(f"{ORDERS}/R:2026-11%237")
    assert response.status_code == 200, response.content
    assert response.json() == placed


def test_another_channels_order_is_404(api, mugs, mkt_token):
    api.post(ORDERS, order_body(ref="ONLY-WEB"))
    assert_error(api.get(f"{ORDERS}/ONLY-WEB", token=mkt_token), 404, "not_found", "external_ref")
    before = sales_rows()
    assert_error(
        api.post(f"{ORDERS}/ONLY-WEB/cancel", token=mkt_token), 404, "not_found", "external_ref"
    )
    assert sales_rows() == before


def test_cancelling_releases_the_stock_and_may_be_repeated(
    api, mugs, django_capture_on_commit_callbacks
):
    api.post(ORDERS, order_body(lines=line(quantity=4)))
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{ORDERS}/WEB-1001/cancel")
    assert response.status_code == 200, response.content
    cancelled = response.json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["lines"][0]["allocated"] == cancelled["lines"][0]["backordered"] == 0
    mug = items_by_sku(api.get(INVENTORY, {"sku": "MUG-001"}))["MUG-001"]
    assert (mug["available"], mug["committed"]) == (10, 0)
    before = sales_rows()
    again = api.post(f"{ORDERS}/WEB-1001/cancel")
    assert again.status_code == 200
    assert again.json() == cancelled
    assert sales_rows() == before


def test_the_loser_of_two_concurrent_cancels_gets_200_too(api, mugs, monkeypatch):
    """Both requests read the order open; the second reaches the service after the first."""
    from orders.channels import api as api_module
    from orders.models import SalesOrder
    from orders.sales import services as sales

    api.post(ORDERS, order_body())
    real_cancel = sales.cancel_order

    def cancelled_meanwhile(*, order, **kwargs):
        real_cancel(order=SalesOrder.objects.get(pk=order.pk), reason="the other request")
        return real_cancel(order=order, **kwargs)

    monkeypatch.setattr(api_module.sales, "cancel_order", cancelled_meanwhile)
    response = api.post(f"{ORDERS}/WEB-1001/cancel")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    assert response.json()["lines"][0]["allocated"] == 0

    # A refusal for any other reason is still a refusal.
    api.post(ORDERS, order_body(ref="SHIPPED"))

    def shipped_meanwhile(*, order, **kwargs):
        sales.ship_order(order=SalesOrder.objects.get(pk=order.pk))
        return real_cancel(order=order, **kwargs)

    monkeypatch.setattr(api_module.sales, "cancel_order", shipped_meanwhile)
    assert_error(api.post(f"{ORDERS}/SHIPPED/cancel"), 409, "invalid_status", "status")


def test_a_shipped_order_cannot_be_cancelled(api, mugs):
    from orders.models import SalesOrder
    from orders.sales import services as sales

    api.post(ORDERS, order_body())
    sales.ship_order(order=SalesOrder.objects.get(external_ref="WEB-1001"))
    before = sales_rows()
    body = assert_error(api.post(f"{ORDERS}/WEB-1001/cancel"), 409, "invalid_status", "status")
    assert "shipped" in body["message"]
    assert sales_rows() == before
    shipped = api.get(f"{ORDERS}/WEB-1001").json()
    assert shipped["status"] == "shipped"
    assert shipped["lines"][0]["shipped"] == 3


def test_reading_an_unknown_order_is_404(api, mugs):
    for ref in ("NOPE", "x" * 500, "ü%20ß", "%00"):
        assert_error(api.get(f"{ORDERS}/{ref}"), 404, "not_found", "external_ref")
        assert_error(api.post(f"{ORDERS}/{ref}/cancel"), 404, "not_found", "external_ref")


def test_order_reads_take_a_fixed_number_of_queries(api, mugs, django_assert_max_num_queries):
    many = [{"sku": "MUG-001", "quantity": 1, "unit_price": "1"}] * 30
    api.post(ORDERS, order_body(ref="ONE", lines=line()))
    api.post(ORDERS, order_body(ref="MANY", lines=many))
    with django_assert_max_num_queries(3):
        assert len(api.get(f"{ORDERS}/ONE").json()["lines"]) == 1
    with django_assert_max_num_queries(3):
        assert len(api.get(f"{ORDERS}/MANY").json()["lines"]) == 30


# --- two channels, two warehouses ----------------------------------------------------


def test_two_channels_see_the_right_numbers_through_allocate_ship_cancel_and_receive(
    api,
    mkt_token,
    product,
    locations,
    second_warehouse,
    supplier_product,
    buyer,
    django_capture_on_commit_callbacks,
):
    """WEB sells from WH1 then WH2 with no buffer; MKT from WH2 then WH1, holding back 2."""
    from orders.models import SalesOrder
    from orders.purchasing import receiving
    from orders.purchasing import services as purchasing
    from orders.sales import services as sales

    ledger.receive(product=product, location=locations["bin1"], quantity=6, unit_cost="2")
    ledger.receive(product=product, location=second_warehouse.bin, quantity=4, unit_cost="2")

    def numbers():
        web = items_by_sku(api.get(INVENTORY, {"sku": "MUG-001"}))["MUG-001"]
        mkt = items_by_sku(api.get(INVENTORY, {"sku": "MUG-001"}, token=mkt_token))["MUG-001"]
        assert {k: v for k, v in web.items() if k != "available"} == {
            k: v for k, v in mkt.items() if k != "available"
        }
        return web["available"], mkt["available"], web["on_hand"], web["committed"]

    def place(ref, quantity, token):
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(
                ORDERS, order_body(ref=ref, lines=line(quantity=quantity)), token=token
            )
        assert response.status_code == 201, response.content
        return response.json()

    assert numbers() == (10, 8, 10, 0)
    # WEB takes WH1's 6, then 1 from WH2.
    web_order = place("W-1", 7, api.token)
    assert web_order["status"] == "allocated"
    assert numbers() == (3, 1, 10, 7)
    # MKT takes 2 from WH2 first.
    place("M-1", 2, mkt_token)
    assert numbers() == (1, 0, 10, 9)
    # One unit is left: MKT's next order gets it and waits for 2.
    waiting = place("M-2", 3, mkt_token)
    assert waiting["status"] == "backordered"
    assert waiting["lines"][0]["allocated"] == 1
    assert waiting["lines"][0]["backordered"] == 2
    assert numbers() == (0, 0, 10, 10)
    # Shipping WEB's order takes its 7 units out of on hand and committed.
    with django_capture_on_commit_callbacks(execute=True):
        sales.ship_order(order=SalesOrder.objects.get(external_ref="W-1"))
    assert api.get(f"{ORDERS}/W-1").json()["status"] == "shipped"
    assert numbers() == (0, 0, 3, 3)
    # Cancelling M-1 frees 2 units; the backordered M-2 takes them.
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"{ORDERS}/M-1/cancel", token=mkt_token).status_code == 200
    m2 = api.get(f"{ORDERS}/M-2", token=mkt_token).json()
    assert (m2["status"], m2["lines"][0]["allocated"]) == ("allocated", 3)
    assert numbers() == (0, 0, 3, 3)
    # 5 mugs ordered into WH2 are incoming for both, then received: available to both.
    purchase = purchasing.create_order(
        supplier=supplier_product.supplier, warehouse=second_warehouse, user=buyer
    )
    purchasing.set_line(order=purchase, product=product, quantity=5, user=buyer)
    purchasing.send_order(order=purchase, user=buyer)
    web = items_by_sku(api.get(INVENTORY, {"sku": "MUG-001"}))["MUG-001"]
    assert web["incoming"] == 5
    with django_capture_on_commit_callbacks(execute=True):
        receiving.receive_line(
            line=purchase.lines.get(), quantity=5, location=second_warehouse.bin, user=buyer
        )
    assert numbers() == (5, 3, 8, 3)
    assert items_by_sku(api.get(INVENTORY, {"sku": "MUG-001"}))["MUG-001"]["incoming"] == 0


# --- paths and methods the API does not have ----------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nope",
        "/api/v1/orders/a%2Fb",
        "/api/v1/orders/a/b/c",
        "/api/v1/orders/x/cancel/more",
        "/api/v1/inventory/",
        "/api/v1/" + "x" * 3000,
    ],
)
def test_an_unknown_path_under_the_api_is_a_json_404(client, web_token, path):
    for method in (client.get, client.post, client.delete):
        response = method(path, **auth(web_token))
        body = assert_error(response, 404, "not_found")
        assert "x" * 100 not in body["message"]
    assert_error(client.post(path), 404, "not_found")  # no token, no CSRF page either


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("delete", "/api/v1/inventory", {"GET"}),
        ("put", "/api/v1/orders", {"POST"}),
        ("get", "/api/v1/orders/WEB-1/cancel", {"POST"}),
        ("patch", "/api/v1/orders/WEB-1", {"GET"}),
    ],
)
def test_a_wrong_method_is_a_json_405_with_allow(client, web_token, mugs, method, path, allowed):
    before = sales_rows()
    response = getattr(client, method)(path, **auth(web_token))
    body = assert_error(response, 405, "method_not_allowed")
    assert {m.strip() for m in response["Allow"].split(",")} == allowed
    assert method.upper() in body["message"]
    assert sales_rows() == before


def test_pages_outside_the_api_keep_their_own_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")
