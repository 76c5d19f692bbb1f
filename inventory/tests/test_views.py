"""Stock pages: what they show, how the lists filter, and query counts that do not grow."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from inventory import ledger
from inventory.models import Product, StockMove
from warehouses.models import Location

N = 4


def build_stock(count: int, locations: dict, *, start: int = 0, user=None) -> list[Product]:
    """Create ``count`` untracked and ``count`` lot-tracked products with stock and history."""
    today = timezone.localdate()
    products = []
    for i in range(start, start + count):
        plain = Product.objects.create(
            sku=f"P{i:04d}", name=f"Plain product {i}", sell_price=Decimal(i + 1)
        )
        ledger.receive(
            product=plain, location=locations["bin1"], quantity=10, unit_cost="2.00", user=user
        )
        ledger.transfer(
            product=plain,
            from_location=locations["bin1"],
            to_location=locations["bin2"],
            quantity=3,
            user=user,
        )
        ledger.adjust(
            product=plain, location=locations["bin2"], quantity=-1, reason="Damaged", user=user
        )
        tracked = Product.objects.create(
            sku=f"T{i:04d}", name=f"Tracked product {i}", tracking="lot_expiry"
        )
        move = ledger.receive(
            product=tracked,
            location=locations["bin1"],
            quantity=5,
            unit_cost="1.50",
            lot_code=f"LOT{i}",
            expires_on=today + timedelta(days=10 + i),
            user=user,
        )
        ledger.reserve(product=tracked, location=locations["bin1"], quantity=2, lot=move.lot)
        products += [plain, tracked]
    return products


def count_queries(client, url: str, **headers) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, response.content[:500]
    return len(queries.captured_queries), response


def assert_flat_query_count(client, url, locations, bound, django_assert_max_num_queries, user):
    """Load ``url`` with N and with 3N rows: the query count is the same and within ``bound``."""
    build_stock(N, locations, user=user)
    small, _ = count_queries(client, url)
    build_stock(2 * N, locations, start=N, user=user)
    with django_assert_max_num_queries(bound):
        large, response = count_queries(client, url)
    assert small == large, f"{url}: {small} queries with {N} rows, {large} with {3 * N}"
    return response


def input_value(html: str, name: str) -> str | None:
    tag = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', html)
    assert tag, f"no input named {name}"
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return value.group(1) if value else None


def table_rows(response) -> int:
    html = response.content.decode()
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    return body.count("<tr") - body.count('class="empty"')


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def clerk_client(client, clerk):
    client.force_login(clerk)
    return client


# --- dashboard ---------------------------------------------------------------------


def test_dashboard_shows_real_counts(clerk_client, locations, product, lot_product):
    today = timezone.localdate()
    ledger.receive(product=product, location=locations["bin1"], quantity=7, unit_cost=1)
    ledger.receive(
        product=lot_product,
        location=locations["bin2"],
        quantity=4,
        unit_cost=1,
        lot_code="SOON",
        expires_on=today + timedelta(days=5),
    )
    ledger.receive(
        product=lot_product,
        location=locations["bin2"],
        quantity=3,
        unit_cost=1,
        lot_code="LATER",
        expires_on=today + timedelta(days=90),
    )
    Product.objects.create(sku="OLD-1", name="Retired", active=False)

    response = clerk_client.get(reverse("dashboard"))

    counts = response.context["counts"]
    assert counts == {
        "products": 3,
        "active_products": 2,
        "levels_with_stock": 3,
        "units_on_hand": 14,
        "expired_lots": 0,
        "expiring_lots": 1,
    }
    assert [lot.code for lot in response.context["expiring_lots"]] == ["SOON"]
    assert "SOON" in response.content.decode()
    assert [move.quantity for move in response.context["moves"]] == [3, 4, 7]


def test_dashboard_query_count_is_flat(
    clerk_client, clerk, locations, django_assert_max_num_queries
):
    assert_flat_query_count(
        clerk_client, reverse("dashboard"), locations, 12, django_assert_max_num_queries, clerk
    )


# --- product list ------------------------------------------------------------------


def test_product_list_shows_totals_per_row(clerk_client, locations, product, lot_product):
    ledger.receive(product=product, location=locations["bin1"], quantity=10, unit_cost=1)
    ledger.receive(product=product, location=locations["quarantine"], quantity=4, unit_cost=1)
    ledger.reserve(product=product, location=locations["bin1"], quantity=3)
    expired = ledger.receive(
        product=lot_product,
        location=locations["bin1"],
        quantity=6,
        unit_cost=1,
        lot_code="OLD",
        expires_on=timezone.localdate() - timedelta(days=1),
    )
    assert expired.lot.is_expired()

    response = clerk_client.get(reverse("product_list"))

    rows = {p.sku: p for p in response.context["page_obj"]}
    # Quarantine stock is on hand but not available; so is an expired lot.
    assert (rows["MUG-001"].on_hand, rows["MUG-001"].available) == (14, 7)
    assert (rows["TEA-100"].on_hand, rows["TEA-100"].available) == (6, 0)


@pytest.mark.parametrize(
    "query", ["MUG-001", "mug-0", "enamel", "4006381333931", "04006381333931", "638133"]
)
def test_product_search_matches_sku_name_and_any_gtin_form(
    clerk_client, product, lot_product, query
):
    response = clerk_client.get(reverse("product_list"), {"q": query})
    assert [p.sku for p in response.context["page_obj"]] == ["MUG-001"]


def test_product_search_by_upc_a_finds_gtin(clerk_client):
    Product.objects.create(sku="UPC-1", name="Imported", gtin="036000291452")
    response = clerk_client.get(reverse("product_list"), {"q": "036000291452"})
    assert [p.sku for p in response.context["page_obj"]] == ["UPC-1"]


def test_product_search_finds_extra_barcode(clerk_client, product, lot_product):
    product.barcodes.create(code="4006381333948", units=12)
    response = clerk_client.get(reverse("product_list"), {"q": "4006381333948"})
    assert [p.sku for p in response.context["page_obj"]] == ["MUG-001"]


def test_product_filters_by_tracking_fulfilment_and_active(
    clerk_client, product, lot_product, dropship_product
):
    Product.objects.create(sku="OLD-1", name="Retired", active=False)
    url = reverse("product_list")

    def skus(**params):
        return [p.sku for p in clerk_client.get(url, params).context["page_obj"]]

    assert skus(tracking="lot_expiry") == ["TEA-100"]
    assert skus(fulfilment="dropship") == ["SOFA-9"]
    assert skus(active="false") == ["OLD-1"]
    assert skus(active="true") == ["MUG-001", "SOFA-9", "TEA-100"]
    assert skus(fulfilment="stocked", active="true", q="mug") == ["MUG-001"]


def test_product_list_sorts_by_each_column(clerk_client, locations):
    for sku, name, price, units in [
        ("B", "Zebra", "3", 5),
        ("A", "Yak", "1", 9),
        ("C", "Ant", "2", 1),
    ]:
        item = Product.objects.create(sku=sku, name=name, sell_price=Decimal(price))
        ledger.receive(product=item, location=locations["bin1"], quantity=units, unit_cost=1)
    url = reverse("product_list")

    def skus(sort):
        return [p.sku for p in clerk_client.get(url, {"sort": sort}).context["page_obj"]]

    assert skus("sku") == ["A", "B", "C"]
    assert skus("-sku") == ["C", "B", "A"]
    assert skus("name") == ["C", "A", "B"]
    assert skus("price") == ["A", "C", "B"]
    assert skus("-on_hand") == ["A", "B", "C"]
    html = clerk_client.get(url, {"sort": "name", "q": "a"}).content.decode()
    # The heading of the sorted column reverses it; the others keep the search.
    assert 'href="?sort=-name&amp;q=a"' in html or 'href="?q=a&amp;sort=-name"' in html


def test_product_list_rejects_unknown_sort_with_a_message(clerk_client, product):
    response = clerk_client.get(reverse("product_list"), {"sort": "secret_cost"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_product_list_paginates_by_50_and_keeps_filters(clerk_client):
    Product.objects.bulk_create([Product(sku=f"S{i:03d}", name=f"Sock {i}") for i in range(120)])
    url = reverse("product_list")
    first = clerk_client.get(url, {"q": "sock"})
    assert len(first.context["page_obj"]) == 50
    html = first.content.decode()
    assert 'href="?q=sock&amp;page=2"' in html
    third = clerk_client.get(url, {"q": "sock", "page": 3})
    assert third.context["page_obj"][0].sku == "S100"
    assert len(third.context["page_obj"]) == 20


def test_product_list_htmx_request_renders_only_the_results(clerk_client, product, lot_product):
    url = reverse("product_list")
    response = clerk_client.get(url, {"q": "tea", "sort": "name"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="results"')
    assert "<html" not in html and "product-filter" in html  # the sort field targets the form
    assert "TEA-100" in html and "MUG-001" not in html
    assert "HX-Request" in response.headers["Vary"]

    full = clerk_client.get(url, {"q": "tea"})
    assert "<html" in full.content.decode()
    assert "HX-Request" in full.headers["Vary"]


def test_history_restore_request_gets_the_whole_page(clerk_client, product):
    response = clerk_client.get(
        reverse("product_list"),
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    assert "<html" in response.content.decode()


def test_product_list_filter_form_is_outside_results_and_htmx_enhanced(clerk_client, product):
    html = clerk_client.get(reverse("product_list")).content.decode()
    form = re.search(r'<form id="product-filter"[^>]*>', html).group(0)
    for attribute in (
        'method="get"',
        'hx-get="/products/"',
        'hx-target="#results"',
        'hx-push-url="true"',
        'hx-sync="this:replace"',
    ):
        assert attribute in form
    assert html.index("</form>", html.index('id="product-filter"')) < html.index('id="results"')


def test_product_list_query_count_is_flat(
    clerk_client, clerk, locations, django_assert_max_num_queries
):
    response = assert_flat_query_count(
        clerk_client,
        reverse("product_list") + "?sort=-on_hand",
        locations,
        7,
        django_assert_max_num_queries,
        clerk,
    )
    assert table_rows(response) == 6 * N


def test_product_list_search_query_count_is_flat(
    clerk_client, clerk, locations, django_assert_max_num_queries
):
    assert_flat_query_count(
        clerk_client,
        reverse("product_list") + "?q=product&tracking=none",
        locations,
        7,
        django_assert_max_num_queries,
        clerk,
    )


# --- product detail ----------------------------------------------------------------


def test_product_detail_shows_stock_by_location_and_lot(
    clerk_client, manager, locations, lot_product
):
    today = timezone.localdate()
    first = ledger.receive(
        product=lot_product,
        location=locations["bin1"],
        quantity=8,
        unit_cost="1.25",
        lot_code="A1",
        expires_on=today + timedelta(days=60),
        user=manager,
    )
    ledger.receive(
        product=lot_product,
        location=locations["quarantine"],
        quantity=2,
        unit_cost="1.25",
        lot_code="B2",
        expires_on=today + timedelta(days=70),
    )
    ledger.reserve(product=lot_product, location=locations["bin1"], quantity=3, lot=first.lot)
    ledger.adjust(
        product=lot_product,
        location=locations["bin1"],
        quantity=-1,
        lot=first.lot,
        reason="Crushed box",
        user=manager,
    )

    response = clerk_client.get(reverse("product_detail", args=["TEA-100"]))

    stock = response.context["stock"]
    rows = [
        (r.location.barcode, r.lot.code, r.on_hand, r.committed, r.available_qty)
        for r in stock["rows"]
    ]
    assert rows == [("WH1-A-01", "A1", 7, 3, 4), ("WH1-QUA", "B2", 2, 0, 0)]
    assert (stock["on_hand"], stock["committed"], stock["available"]) == (9, 3, 4)
    html = response.content.decode()
    assert "Crushed box" in html and "manager1" in html
    assert (today + timedelta(days=60)).isoformat() in html
    # A clerk sees no adjust or move links.
    assert reverse("adjust_stock") not in html


def test_product_detail_links_to_prefilled_forms_for_a_manager(manager_client, locations, product):
    ledger.receive(product=product, location=locations["bin1"], quantity=1, unit_cost=1)
    html = manager_client.get(product.get_absolute_url()).content.decode()
    assert f"{reverse('adjust_stock')}?product=MUG-001&amp;location=WH1-A-01" in html
    assert f"{reverse('transfer_stock')}?product=MUG-001&amp;location=WH1-A-01" in html


def test_product_detail_with_slash_in_sku(clerk_client):
    item = Product.objects.create(sku="KIT/2", name="Two-piece kit")
    assert clerk_client.get(item.get_absolute_url()).status_code == 200


def test_unknown_product_is_404(clerk_client):
    assert clerk_client.get(reverse("product_detail", args=["NOPE"])).status_code == 404


def test_product_detail_shows_only_the_last_50_moves(clerk_client, locations, product):
    for _ in range(55):
        ledger.receive(product=product, location=locations["bin1"], quantity=1, unit_cost=1)
    response = clerk_client.get(product.get_absolute_url())
    assert len(response.context["moves"]) == 50


def test_product_detail_query_count_is_flat(
    clerk_client, clerk, locations, django_assert_max_num_queries
):
    build_stock(1, locations)
    url = reverse("product_detail", args=["P0000"])
    small, _ = count_queries(clerk_client, url)
    product = Product.objects.get(sku="P0000")
    for i in range(3 * N):
        ledger.receive(
            product=product, location=locations["receiving"], quantity=2, unit_cost=1, user=clerk
        )
        extra = Location.objects.create(
            warehouse=locations["zone"].warehouse,
            parent=locations["zone"],
            code=f"X{i}",
            barcode=f"WH1-A-X{i}",
        )
        ledger.transfer(
            product=product,
            from_location=locations["receiving"],
            to_location=extra,
            quantity=1,
            user=clerk,
        )
    # Recent moves come keys-first (inventory.pagination): one query more, flat;
    # units incoming on purchase orders (orders.selectors.incoming_by_product): one more.
    with django_assert_max_num_queries(9):
        large, response = count_queries(clerk_client, url)
    assert small == large
    assert len(response.context["stock"]["rows"]) == 3 + 3 * N


# --- stock list --------------------------------------------------------------------


@pytest.fixture
def stocked(locations, product, lot_product):
    from warehouses.models import Warehouse

    today = timezone.localdate()
    other = Warehouse.objects.create(code="WH2", name="Overflow")
    far = Location.objects.create(warehouse=other, code="B", barcode="WH2-B")
    ledger.receive(product=product, location=locations["bin1"], quantity=5, unit_cost=1)
    ledger.receive(product=product, location=locations["receiving"], quantity=2, unit_cost=1)
    ledger.receive(product=product, location=far, quantity=9, unit_cost=1)
    ledger.receive(
        product=lot_product,
        location=locations["bin2"],
        quantity=4,
        unit_cost=1,
        lot_code="SOON",
        expires_on=today + timedelta(days=3),
    )
    ledger.receive(
        product=lot_product,
        location=locations["bin2"],
        quantity=6,
        unit_cost=1,
        lot_code="LATE",
        expires_on=today + timedelta(days=300),
    )
    # Emptied rows do not show.
    ledger.adjust(product=product, location=locations["receiving"], quantity=-2, reason="Lost")
    return {"far": far, "today": today}


def _stock_keys(response):
    return [
        (row.product.sku, row.location.barcode, row.lot.code if row.lot else None)
        for row in response.context["page_obj"]
    ]


def test_stock_list_shows_rows_with_stock_in_walk_order(clerk_client, stocked):
    """Location path first (how a clerk walks the shelves), then SKU, then earliest expiry."""
    response = clerk_client.get(reverse("stock_list"))
    assert _stock_keys(response) == [
        ("MUG-001", "WH1-A-01", None),
        ("TEA-100", "WH1-A-02", "SOON"),
        ("TEA-100", "WH1-A-02", "LATE"),
        ("MUG-001", "WH2-B", None),
    ]


def test_stock_list_filters_by_warehouse(clerk_client, stocked):
    response = clerk_client.get(reverse("stock_list"), {"warehouse": "WH2"})
    assert _stock_keys(response) == [("MUG-001", "WH2-B", None)]


def test_stock_list_filters_by_location_subtree(clerk_client, stocked):
    zone = clerk_client.get(reverse("stock_list"), {"location": "WH1-A"})
    assert {key[1] for key in _stock_keys(zone)} == {"WH1-A-01", "WH1-A-02"}
    one_bin = clerk_client.get(reverse("stock_list"), {"location": "wh1-a-01"})
    assert _stock_keys(one_bin) == [("MUG-001", "WH1-A-01", None)]


def test_stock_list_unknown_location_says_so(clerk_client, stocked):
    response = clerk_client.get(reverse("stock_list"), {"location": "NOWHERE"})
    assert "No location has the barcode “NOWHERE”." in response.content.decode()
    assert _stock_keys(response) == []


def test_stock_list_filters_by_expiry_and_product(clerk_client, stocked):
    before = (stocked["today"] + timedelta(days=30)).isoformat()
    expiring = clerk_client.get(reverse("stock_list"), {"expires_before": before})
    assert _stock_keys(expiring) == [("TEA-100", "WH1-A-02", "SOON")]
    mugs = clerk_client.get(reverse("stock_list"), {"q": "4006381333931", "warehouse": "WH1"})
    assert _stock_keys(mugs) == [("MUG-001", "WH1-A-01", None)]


def test_stock_list_htmx_renders_partial_with_vary(clerk_client, stocked):
    response = clerk_client.get(
        reverse("stock_list"), {"warehouse": "WH2"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="results"') and "<html" not in html
    assert "WH2-B" in html and "WH1-A-01" not in html
    assert "HX-Request" in response.headers["Vary"]


def test_stock_list_query_count_is_flat(
    clerk_client, clerk, locations, django_assert_max_num_queries
):
    response = assert_flat_query_count(
        clerk_client,
        reverse("stock_list") + "?location=WH1-A&warehouse=WH1",
        locations,
        11,  # incoming per product of the page and the summary: one query each
        django_assert_max_num_queries,
        clerk,
    )
    # Each product: bin1 and bin2 rows; each tracked product: one lot row.
    assert table_rows(response) == 3 * 3 * N


# --- adjust and transfer pages -----------------------------------------------------


def test_adjust_form_is_prefilled_from_the_query_string(manager_client, locations, product):
    html = manager_client.get(
        reverse("adjust_stock"), {"product": "MUG-001", "location": "WH1-A-01"}
    ).content.decode()
    assert input_value(html, "product") == "MUG-001"
    assert input_value(html, "location") == "WH1-A-01"
    assert input_value(html, "reason") is None


def test_transfer_form_is_prefilled_from_the_query_string(manager_client, locations, product):
    html = manager_client.get(
        reverse("transfer_stock"), {"product": "MUG-001", "location": "WH1-A-01"}
    ).content.decode()
    assert input_value(html, "product") == "MUG-001"
    assert input_value(html, "location") == "WH1-A-01"


@pytest.mark.parametrize("name", ["adjust_stock", "transfer_stock"])
def test_stock_form_query_count_is_flat(
    manager_client, manager, locations, name, django_assert_max_num_queries
):
    assert_flat_query_count(
        manager_client, reverse(name), locations, 5, django_assert_max_num_queries, manager
    )


def test_pages_carry_no_inline_script_or_style(manager_client, locations, product):
    ledger.receive(product=product, location=locations["bin1"], quantity=1, unit_cost=1)
    for url in [
        reverse("dashboard"),
        reverse("product_list"),
        product.get_absolute_url(),
        reverse("stock_list"),
        reverse("adjust_stock"),
        reverse("transfer_stock"),
    ]:
        response = manager_client.get(url)
        html = response.content.decode()
        assert "style=" not in html and "<style" not in html, url
        assert " onclick" not in html and "hx-on" not in html, url
        for script in re.findall(r"<script[^>]*>", html):
            assert "src=" in script and "nonce=" in script, (url, script)
        assert 'name="htmx-config"' in html
        nonce = re.search(r'nonce="([^"]+)"', html).group(1)
        assert f"'nonce-{nonce}'" in response.headers["Content-Security-Policy"]


def test_logout_is_a_post_form(clerk_client):
    html = clerk_client.get(reverse("dashboard")).content.decode()
    assert re.search(r'<form[^>]*method="post"[^>]*action="/logout/"', html)
    assert clerk_client.post(reverse("logout")).status_code == 302
    assert clerk_client.get(reverse("dashboard")).status_code == 302


def test_login_page_logs_in(client, clerk):
    html = client.get(reverse("login")).content.decode()
    assert 'name="username"' in html and 'name="password"' in html
    response = client.post(
        reverse("login"), {"username": "clerk1", "password": "pass-for-tests-only"}
    )
    assert response.status_code == 302 and response.url == reverse("dashboard")
    client.logout()
    bad = client.post(reverse("login"), {"username": "clerk1", "password": "wrong"})
    assert "Please enter a correct username and password" in bad.content.decode()


def test_nav_links_follow_permissions(client, clerk, manager):
    client.force_login(clerk)
    html = client.get(reverse("dashboard")).content.decode()
    assert f'href="{reverse("stock_list")}"' in html
    assert f'href="{reverse("adjust_stock")}"' not in html
    client.force_login(manager)
    html = client.get(reverse("dashboard")).content.decode()
    assert f'href="{reverse("adjust_stock")}"' in html
    assert f'href="{reverse("transfer_stock")}"' in html


def test_moves_are_listed_newest_first_on_the_dashboard(clerk_client, locations, product):
    ledger.receive(product=product, location=locations["bin1"], quantity=3, unit_cost=1)
    ledger.adjust(product=product, location=locations["bin1"], quantity=-1, reason="Broken")
    moves = list(clerk_client.get(reverse("dashboard")).context["moves"])
    assert [m.kind for m in moves] == [StockMove.Kind.ADJUSTMENT, StockMove.Kind.RECEIPT]
