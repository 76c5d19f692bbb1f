"""Channel pages and admin: what they show, edits that resync the outbox in the same
transaction, secrets shown exactly once, refusals that write nothing, flat query counts."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from common.testing import field_error, html_of, text_of
from inventory import ledger
from inventory.models import Product
from inventory.tests.test_views import count_queries, table_rows
from orders.channels import tokens as channels
from orders.models import Channel, ChannelWarehouse, StockOutbox, WebhookDelivery
from orders.sales import services as sales
from warehouses.models import Warehouse


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def clerk_client(client, clerk):
    client.force_login(clerk)
    return client


def channel_rows() -> list[tuple]:
    channel_fields = [f.attname for f in Channel._meta.concrete_fields]
    return [
        list(Channel.objects.order_by("pk").values_list(*channel_fields)),
        list(ChannelWarehouse.objects.order_by("pk").values_list()),
        list(StockOutbox.objects.order_by("pk").values_list("channel_id", "product_id")),
    ]


def links(channel: Channel) -> list[tuple[str, int]]:
    return list(
        channel.channel_warehouses.order_by("priority").values_list("warehouse__code", "priority")
    )


def form_data(**overrides) -> dict:
    data = {
        "code": "SHOP",
        "name": "Shop",
        "kind": "web_store",
        "buffer": "0",
        "warehouse_codes": "WH1",
        "webhook_url": "",
        "active": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def outbox_products(channel: Channel) -> set[int]:
    return set(StockOutbox.objects.filter(channel=channel).values_list("product_id", flat=True))


# --- list ----------------------------------------------------------------------------


def test_channel_list_shows_warehouses_by_priority_buffer_and_webhook(
    clerk_client, web_store, marketplace
):
    Channel.objects.filter(pk=marketplace.pk).update(webhook_url="https://mkt.example/hook")
    response = clerk_client.get(reverse("channel_list"))
    text = text_of(response)
    assert "MKT Marketplace Marketplace WH2, WH1 2 Yes Active" in text
    assert "WEB Web store Web store WH1, WH2 0 No Active" in text
    # A clerk sees channels but no way to change them.
    assert reverse("channel_create") not in html_of(response)


def test_channel_list_filters_and_answers_htmx_with_the_results(
    clerk_client, web_store, marketplace
):
    Channel.objects.create(code="POS1", name="Shop till", kind="pos", active=False)
    url = reverse("channel_list")

    def codes(**params):
        return [c.code for c in clerk_client.get(url, params).context["page_obj"]]

    assert codes() == ["MKT", "POS1", "WEB"]
    assert codes(q="web") == ["WEB"]
    assert codes(kind="marketplace") == ["MKT"]
    assert codes(active="false") == ["POS1"]
    response = clerk_client.get(url, {"q": "mkt"}, headers={"HX-Request": "true"})
    html = html_of(response)
    assert html.lstrip().startswith('<div id="results"') and "<html" not in html
    assert "HX-Request" in response.headers["Vary"]


def test_channel_list_query_count_is_flat(
    clerk_client, warehouse, second_warehouse, django_assert_max_num_queries
):
    def build(start, count):
        for i in range(start, start + count):
            channel = Channel.objects.create(code=f"C{i:02d}", name=f"Channel {i}")
            ChannelWarehouse.objects.create(channel=channel, warehouse=warehouse, priority=1)
            ChannelWarehouse.objects.create(
                channel=channel, warehouse=second_warehouse, priority=2
            )

    build(0, 2)
    small, _ = count_queries(clerk_client, reverse("channel_list"))
    build(2, 6)
    with django_assert_max_num_queries(7):
        large, response = count_queries(clerk_client, reverse("channel_list"))
    assert small == large
    assert table_rows(response) == 8


# --- create and edit -----------------------------------------------------------------


def test_manager_creates_a_channel_with_warehouses_in_priority_order(
    manager_client, warehouse, second_warehouse, product
):
    response = manager_client.post(
        reverse("channel_create"),
        form_data(warehouse_codes="wh2, WH1", webhook_url="https://shop.example/hook"),
    )
    channel = Channel.objects.get(code="SHOP")
    assert links(channel) == [("WH2", 1), ("WH1", 2)]
    # A new channel with a webhook hears of every product at once.
    assert outbox_products(channel) == {product.pk}
    # Its API token is made at once and shown in this response only.
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    token = response.context["value"]
    assert channels.channel_for_token(token) == channel
    assert "it will not be shown again" in text_of(response)
    assert "Channel SHOP created." in text_of(response)
    page = text_of(manager_client.get(channel.get_absolute_url())).replace(" ,", ",")
    assert "Sells from WH2, then WH1" in page
    assert token not in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"warehouse_codes": "WH1, WH2, wh1"}, "warehouse_codes", "WH1 is listed twice"),
        ({"warehouse_codes": "WH1, NOPE"}, "warehouse_codes", "No warehouse has the code “NOPE”"),
        ({"webhook_url": "ftp://shop.example/x"}, "webhook_url", "http:// or https://"),
        ({"webhook_url": "javascript:alert(1)"}, "webhook_url", "http:// or https://"),
        ({"buffer": "-1"}, "buffer", "greater than or equal to 0"),
        ({"buffer": "2.5"}, "buffer", "whole number"),
        ({"code": "new"}, "code", "reserved"),
        ({"code": "web"}, "code", "Channel WEB already exists"),
        ({"code": "a b"}, "code", "letters, digits"),
        ({"name": ""}, "name", "required"),
    ],
)
def test_bad_channel_keeps_the_input_and_writes_nothing(
    manager_client, web_store, product, data, field, message
):
    before = channel_rows()
    response = manager_client.post(reverse("channel_create"), form_data(**data))
    assert response.status_code == 200
    assert message in field_error(html_of(response), f"id_{field}")
    if field != "code":
        assert 'value="SHOP"' in html_of(response)
    assert channel_rows() == before


def test_an_inactive_warehouse_is_refused_for_a_new_channel(manager_client, warehouse):
    Warehouse.objects.create(code="OLD", name="Closed", active=False)
    before = channel_rows()
    response = manager_client.post(reverse("channel_create"), form_data(warehouse_codes="OLD"))
    assert "Warehouse OLD is inactive" in field_error(html_of(response), "id_warehouse_codes")
    assert channel_rows() == before


def test_editing_buffer_or_warehouses_resyncs_the_channel_in_one_transaction(
    manager_client, web_store, product, lot_product
):
    Channel.objects.filter(pk=web_store.pk).update(webhook_url="https://web.example/hook")
    url = reverse("channel_edit", args=["WEB"])
    form = manager_client.get(url).context["form"]
    assert form["warehouse_codes"].value() == "WH1, WH2"
    assert form["code"].field.disabled

    # A new name changes nothing a channel is told.
    manager_client.post(
        url,
        form_data(
            code="IGNORED",
            name="Web shop",
            warehouse_codes="WH1, WH2",
            webhook_url="https://web.example/hook",
        ),
    )
    web_store.refresh_from_db()
    assert (web_store.code, web_store.name) == ("WEB", "Web shop")
    assert not StockOutbox.objects.exists()

    # Another priority order is a change of what it may sell first.
    response = manager_client.post(
        url,
        form_data(
            name="Web shop", warehouse_codes="WH2 WH1", webhook_url="https://web.example/hook"
        ),
    )
    assert response.status_code == 302
    assert links(web_store) == [("WH2", 1), ("WH1", 2)]
    assert outbox_products(web_store) == {product.pk, lot_product.pk}

    StockOutbox.objects.all().delete()
    manager_client.post(
        url,
        form_data(
            name="Web shop",
            buffer="3",
            warehouse_codes="WH2, WH1",
            webhook_url="https://web.example/hook",
        ),
    )
    web_store.refresh_from_db()
    assert web_store.buffer == 3
    assert outbox_products(web_store) == {product.pk, lot_product.pk}


def test_a_failed_resync_rolls_the_edit_back(manager_client, web_store, product, monkeypatch):
    from orders.channels import outbox

    def broken(channel):
        raise RuntimeError("outbox down")

    monkeypatch.setattr(outbox, "resync_channel", broken)
    before = channel_rows()
    with pytest.raises(RuntimeError):
        manager_client.post(
            reverse("channel_edit", args=["WEB"]),
            form_data(name="Web store", buffer="5", warehouse_codes="WH2"),
        )
    assert channel_rows() == before


def test_clerk_and_buyer_cannot_edit_channels_or_see_tokens(client, clerk, buyer, web_store):
    channels.rotate_token(web_store)
    web_store.refresh_from_db()
    before = channel_rows()
    for user in (clerk, buyer):
        client.force_login(user)
        detail = html_of(client.get(web_store.get_absolute_url()))
        assert "Rotate token" not in detail and "Edit channel" not in detail
        assert web_store.token_hint not in detail and "Set, created" in text_of(
            client.get(web_store.get_absolute_url())
        )
        for name in ("channel_edit", "channel_token", "channel_webhook_secret"):
            url = reverse(name, args=["WEB"])
            assert client.get(url).status_code == 403
            assert client.post(url, form_data(code="WEB", buffer="9")).status_code == 403
        assert client.post(reverse("channel_create"), form_data()).status_code == 403
    assert channel_rows() == before


# --- secrets -------------------------------------------------------------------------


def shown_secret(response) -> str:
    match = re.search(r'id="secret-value"[^>]*value="([^"]+)"', html_of(response))
    assert match, "no secret shown"
    return match.group(1)


def test_token_is_shown_once_and_rotating_stops_the_old_one(manager_client, web_store):
    url = reverse("channel_token", args=["WEB"])
    ask = manager_client.get(url)
    assert "Create token" in text_of(ask) and "srk_" not in html_of(ask)
    assert not Channel.objects.get(pk=web_store.pk).token_hash

    response = manager_client.post(url)
    first = shown_secret(response)
    assert channels.channel_for_token(first) == web_store
    assert "it will not be shown again" in text_of(response)
    assert "no-store" in response["Cache-Control"]
    # Not in the session, not on the channel page: only a hint and the date.
    session = manager_client.session
    assert all(first not in str(value) for value in session.values())
    detail = html_of(manager_client.get(web_store.get_absolute_url()))
    assert first not in detail
    assert first[:8] in detail and "Rotate token" in detail

    second = shown_secret(manager_client.post(url))
    assert second != first
    assert channels.channel_for_token(first) is None
    assert channels.channel_for_token(second) == web_store
    assert first not in html_of(manager_client.get(url))


def test_webhook_secret_is_shown_once(manager_client, web_store):
    url = reverse("channel_webhook_secret", args=["WEB"])
    secret = shown_secret(manager_client.post(url))
    web_store.refresh_from_db()
    assert web_store.webhook_secret == secret
    detail = html_of(manager_client.get(web_store.get_absolute_url()))
    assert secret not in detail and "Rotate secret" in detail
    assert shown_secret(manager_client.post(url)) != secret


# --- detail --------------------------------------------------------------------------


def make_deliveries(channel: Channel, count: int) -> None:
    now = timezone.now()
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            channel=channel,
            status=WebhookDelivery.Status.FAILED if i == count - 1 else "delivered",
            item_count=i + 1,
            attempts=3 if i == count - 1 else 1,
            response_status=503 if i == count - 1 else 200,
            last_error="HTTP 503 from receiver" if i == count - 1 else "",
            created_at=now - timedelta(minutes=count - i),
        )
        for i in range(count)
    )


def order_for(channel: Channel, ref: str, sku: str = "MUG-001", quantity: int = 1):
    order, _ = sales.create_order(
        channel=channel,
        external_ref=ref,
        customer_name="Ada Lovelace",
        shipping_address="1 Main Street\nLondon",
        lines=[{"sku": sku, "quantity": quantity, "unit_price": "9.90"}],
    )
    return order


def test_channel_detail_shows_delivery_log_waiting_changes_and_open_orders(
    clerk_client, web_store, product, locations
):
    Channel.objects.filter(pk=web_store.pk).update(webhook_url="https://web.example/hook")
    make_deliveries(web_store, 25)
    # Two stock changes wait in the outbox (the ledger writes them).
    ledger.receive(product=product, location=locations["bin1"], quantity=5, unit_cost=1)
    ledger.adjust(product=product, location=locations["bin1"], quantity=-1, reason="Broken")
    order_for(web_store, "A-1")
    cancelled = order_for(web_store, "A-2")
    sales.cancel_order(order=cancelled)
    response = clerk_client.get(web_store.get_absolute_url())
    text = text_of(response).replace(" ,", ",")
    assert len(response.context["deliveries"]) == 20
    assert "Failed (will retry) 3 25 503" in text
    assert "HTTP 503 from receiver" not in text, "receivers' answers are for managers only"
    waiting = StockOutbox.objects.filter(channel=web_store, delivery__isnull=True).count()
    assert waiting >= 2
    assert f"{waiting} stock changes waiting to be delivered" in text
    assert response.context["open_orders"] == 1
    assert "Sells from WH1, then WH2" in text


def test_channel_detail_query_count_is_flat(
    clerk_client, web_store, product, locations, django_assert_max_num_queries
):
    ledger.receive(product=product, location=locations["bin1"], quantity=50, unit_cost=1)
    make_deliveries(web_store, 2)
    order_for(web_store, "F-0")
    small, _ = count_queries(clerk_client, web_store.get_absolute_url())
    make_deliveries(web_store, 30)
    for i in range(1, 6):
        order_for(web_store, f"F-{i}")
    with django_assert_max_num_queries(9):
        large, _ = count_queries(clerk_client, web_store.get_absolute_url())
    assert small == large


def test_channel_pages_carry_no_inline_script_or_style(manager_client, web_store):
    for url in [
        reverse("channel_list"),
        reverse("channel_create"),
        web_store.get_absolute_url(),
        reverse("channel_edit", args=["WEB"]),
        reverse("channel_token", args=["WEB"]),
    ]:
        html = html_of(manager_client.get(url))
        assert "style=" not in html and "<style" not in html, url
        assert " onclick" not in html and "hx-on" not in html, url
    html = html_of(manager_client.post(reverse("channel_token", args=["WEB"])))
    assert "style=" not in html and "<script>" not in html


def test_nav_links_to_sales_orders_and_channels(client, clerk, django_user_model):
    client.force_login(clerk)
    html = html_of(client.get(reverse("dashboard")))
    assert 'href="/sales-orders/"' in html and 'href="/channels/"' in html
    nobody = django_user_model.objects.create_user("plain", password="x-for-tests")
    client.force_login(nobody)
    html = html_of(client.get(reverse("channel_list")))
    assert 'href="/sales-orders/"' not in html and 'href="/channels/"' not in html


# --- admin ---------------------------------------------------------------------------


def inline_data(rows: list[tuple[int | None, int, int]], total_initial: int) -> dict:
    data = {
        "channel_warehouses-TOTAL_FORMS": str(len(rows)),
        "channel_warehouses-INITIAL_FORMS": str(total_initial),
        "channel_warehouses-MIN_NUM_FORMS": "0",
        "channel_warehouses-MAX_NUM_FORMS": "1000",
    }
    for i, (pk, priority, warehouse_id) in enumerate(rows):
        data[f"channel_warehouses-{i}-id"] = str(pk or "")
        data[f"channel_warehouses-{i}-priority"] = str(priority)
        data[f"channel_warehouses-{i}-warehouse"] = str(warehouse_id)
        data[f"channel_warehouses-{i}-channel"] = ""
    return data


def test_admin_swaps_warehouse_priorities_and_resyncs(
    manager_client, web_store, warehouse, second_warehouse, product
):
    Channel.objects.filter(pk=web_store.pk).update(webhook_url="https://web.example/hook")
    first, second = web_store.channel_warehouses.order_by("priority")
    url = reverse("admin:orders_channel_change", args=[web_store.pk])
    page = manager_client.get(url)
    assert page.status_code == 200
    assert "token_hash" not in page.text and "webhook_secret" not in page.text
    data = {
        "name": "Web store",
        "kind": "web_store",
        "buffer": "0",
        "webhook_url": "https://web.example/hook",
        "active": "on",
        **inline_data([(first.pk, 2, warehouse.pk), (second.pk, 1, second_warehouse.pk)], 2),
    }
    response = manager_client.post(url, data)
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    assert links(web_store) == [("WH2", 1), ("WH1", 2)]
    assert outbox_products(web_store) == {product.pk}


def test_admin_refuses_an_ftp_webhook_and_a_repeated_warehouse(
    manager_client, web_store, warehouse
):
    first, second = web_store.channel_warehouses.order_by("priority")
    before = channel_rows()
    url = reverse("admin:orders_channel_change", args=[web_store.pk])
    response = manager_client.post(
        url,
        {
            "name": "Web store",
            "kind": "web_store",
            "buffer": "0",
            "webhook_url": "ftp://web.example/",
            "active": "on",
            **inline_data([(first.pk, 1, warehouse.pk), (second.pk, 2, warehouse.pk)], 2),
        },
    )
    assert response.status_code == 200
    assert "http:// or https://" in response.text
    assert "Please correct the duplicate data for warehouse" in response.text
    assert channel_rows() == before


def test_channel_admin_query_counts_are_flat(manager_client, warehouse, second_warehouse):
    def build(start, count):
        for i in range(start, start + count):
            channel = Channel.objects.create(code=f"C{i:02d}", name=f"Channel {i}")
            ChannelWarehouse.objects.create(channel=channel, warehouse=warehouse, priority=1)

    build(0, 2)
    url = reverse("admin:orders_channel_changelist")
    few, _ = count_queries(manager_client, url)
    build(2, 6)
    many, response = count_queries(manager_client, url)
    assert few == many == 6
    assert "C07" in response.text


def test_admin_channel_and_sales_order_pages(manager_client, web_store, product, locations):
    ledger.receive(product=product, location=locations["bin1"], quantity=4, unit_cost=1)
    order = order_for(web_store, "ADM-1", quantity=3)
    assert manager_client.get(reverse("admin:orders_channel_changelist")).status_code == 200
    listing = manager_client.get(reverse("admin:orders_salesorder_changelist"), {"q": "ADM-1"})
    assert order.number in listing.text
    page = manager_client.get(reverse("admin:orders_salesorder_change", args=[order.pk]))
    assert page.status_code == 200
    assert "WH1-A-01" in page.text and "MUG-001" in page.text
    assert reverse("admin:orders_salesorder_add") not in page.text
    assert manager_client.get(reverse("admin:orders_salesorder_add")).status_code == 403
    delete = reverse("admin:orders_salesorder_delete", args=[order.pk])
    assert manager_client.post(delete, {"post": "yes"}).status_code == 403
    assert Product.objects.filter(pk=product.pk).exists()
