"""The stock outbox: rows written in the stock change's own transaction, for the right channels."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from inventory import ledger, signals
from inventory.errors import InsufficientStock
from inventory.models import Product, StockMove
from orders.channels import outbox, webhooks
from orders.channels.tests.test_webhooks import Receiver
from orders.models import Channel, StockOutbox, WebhookDelivery


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


def hook(channel, receiver, suffix=""):
    channel.webhook_url = receiver.url + suffix
    channel.save()
    return channel


def receive(product, location, quantity):
    return ledger.receive(product=product, location=location, quantity=quantity, unit_cost="2")


def rows() -> list[tuple[str, str]]:
    return sorted(StockOutbox.objects.values_list("channel__code", "product__sku").order_by("pk"))


def test_a_change_writes_a_row_for_each_hooked_channel_selling_from_the_warehouse(
    web_store, marketplace, receiver, product, locations, second_warehouse
):
    hook(web_store, receiver)
    hook(marketplace, receiver)
    receive(product, locations["bin1"], 3)
    assert rows() == [("MKT", "MUG-001"), ("WEB", "MUG-001")]

    # Written in one INSERT … SELECT: the time reads back as an aware datetime of now,
    # and filters on it work like on any other row.
    before = timezone.now()
    receive(product, locations["bin1"], 1)
    latest = StockOutbox.objects.latest("pk")
    assert latest.delivery is None and timezone.is_aware(latest.created_at)
    assert abs((latest.created_at - before).total_seconds()) < 5
    assert StockOutbox.objects.filter(created_at__gte=before).count() == 2

    ChannelWarehouse = web_store.channel_warehouses.model
    ChannelWarehouse.objects.filter(channel=marketplace, warehouse__code="WH1").delete()
    StockOutbox.objects.all().delete()
    receive(product, locations["bin2"], 1)
    assert rows() == [("WEB", "MUG-001")]


def test_unsellable_places_write_no_rows(web_store, receiver, product, locations):
    hook(web_store, receiver)
    receive(product, locations["quarantine"], 3)
    receive(product, locations["bin1"], 2)
    StockOutbox.objects.all().delete()

    ledger.transfer(
        product=product, from_location=locations["bin1"], to_location=locations["bin2"], quantity=1
    )
    assert rows() == [], "moving between sellable bins of one warehouse changes nothing"
    ledger.transfer(
        product=product,
        from_location=locations["quarantine"],
        to_location=locations["bin1"],
        quantity=1,
    )
    assert rows() == [("WEB", "MUG-001")]


def test_a_ledger_call_that_raises_leaves_no_row(web_store, receiver, product, locations):
    hook(web_store, receiver)
    with pytest.raises(InsufficientStock):
        ledger.adjust(product=product, location=locations["bin1"], quantity=-1, reason="x")
    assert not StockOutbox.objects.exists()

    def fail_after_the_outbox(**kwargs):
        assert StockOutbox.objects.exists(), "the outbox receiver ran first"
        raise RuntimeError("disk full")

    signals.stock_changed.connect(fail_after_the_outbox, dispatch_uid="test-fail")
    try:
        with pytest.raises(RuntimeError, match="disk full"):
            receive(product, locations["bin1"], 4)
    finally:
        signals.stock_changed.disconnect(dispatch_uid="test-fail")
    assert not StockOutbox.objects.exists() and not StockMove.objects.exists()


def test_rolling_back_the_outer_transaction_leaves_no_row(web_store, receiver, product, locations):
    hook(web_store, receiver)
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        receive(product, locations["bin1"], 4)
        assert StockOutbox.objects.count() == 1
        1 / 0  # noqa: B018
    assert not StockOutbox.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_only_committed_changes_are_delivered(web_store, receiver, product, locations):
    hook(web_store, receiver)
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        receive(product, locations["bin1"], 4)
        1 / 0  # noqa: B018
    assert not StockOutbox.objects.exists() and receiver.requests == []

    receive(product, locations["bin1"], 6)  # commits; the task runs (immediate backend)

    assert receiver.latest() == {"MUG-001": (6, 1)}
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.DELIVERED


@pytest.mark.django_db(transaction=True)
def test_a_failure_to_enqueue_does_not_fail_the_committed_change(
    web_store, receiver, product, locations, monkeypatch
):
    hook(web_store, receiver)

    def broken(channel_ids):
        raise RuntimeError("queue unavailable")

    monkeypatch.setattr(webhooks, "schedule_delivery", broken)
    receive(product, locations["bin1"], 6)

    assert StockMove.objects.count() == 1
    assert StockOutbox.objects.filter(delivery__isnull=True).count() == 1
    assert list(webhooks.due_channels().values_list("code", flat=True)) == ["WEB"]


def test_no_rows_for_channels_without_a_url_or_inactive(
    web_store, marketplace, receiver, product, locations
):
    hook(marketplace, receiver)
    Channel.objects.filter(pk=marketplace.pk).update(active=False)
    receive(product, locations["bin1"], 3)
    assert rows() == []
    assert outbox.record([], [product.pk]) == 0


def test_resync_queues_every_active_product_in_batches(
    web_store,
    receiver,
    product,
    lot_product,
    dropship_supplier,
    locations,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    Product.objects.create(sku="OLD-1", name="Discontinued", active=False)
    receive(product, locations["bin1"], 5)
    assert outbox.resync_channel(web_store) == 0, "no webhook URL, nothing to hear"
    stamped = Channel.objects.get(pk=web_store.pk).settings_changed_at
    assert stamped is not None, "the API's updated_since still hears of it"
    assert web_store.settings_changed_at == stamped

    hook(web_store, receiver)
    monkeypatch.setattr(outbox, "BATCH", 2)
    with django_capture_on_commit_callbacks(execute=True):
        written = outbox.resync_channel(web_store)

    assert written == 3
    assert rows() == [("WEB", "MUG-001"), ("WEB", "SOFA-9"), ("WEB", "TEA-100")]
    (payload,) = receiver.payloads
    assert {item["sku"]: item["available"] for item in payload["items"]} == {
        "MUG-001": 5,
        "SOFA-9": 7,  # the dropship supplier's stock
        "TEA-100": 0,
    }

    web_store.active = False
    assert outbox.resync_channel(web_store) == 0


def test_a_channel_waiting_for_its_retry_gets_no_new_task(web_store, receiver, product, locations):
    hook(web_store, receiver)
    receiver.answers = [500]
    receive(product, locations["bin1"], 1)
    failed = webhooks.deliver(web_store)
    assert failed.status == WebhookDelivery.Status.FAILED

    assert webhooks.schedule_delivery([web_store.pk]) == []
    assert len(receiver.requests) == 1
    assert webhooks.schedule_delivery([web_store.pk], force=True) == [web_store.pk]
    assert len(receiver.requests) == 1, "forced, but still not due: the task sends nothing"


def test_expired_lots_queue_their_products_for_channels_selling_from_the_warehouse(
    web_store,
    marketplace,
    receiver,
    product,
    lot_product,
    locations,
    second_warehouse,
    monkeypatch,
    django_capture_on_commit_callbacks,
):

    from django.utils import timezone

    hook(web_store, receiver)
    hook(marketplace, receiver)
    today = timezone.localdate()
    # Only in WH2, which both channels sell from; MKT loses WH1 so it hears of WH2 only.
    web_store.channel_warehouses.model.objects.filter(
        channel=marketplace, warehouse__code="WH1"
    ).delete()
    ledger.receive(
        product=lot_product,
        location=locations["bin1"],
        quantity=4,
        unit_cost="1",
        lot_code="L-OLD",
        expires_on=today - timedelta(days=9),  # expired too long ago: already announced
    )
    ledger.receive(
        product=lot_product,
        location=locations["bin1"],
        quantity=3,
        unit_cost="1",
        lot_code="L-1",
        expires_on=today - timedelta(days=1),
    )
    ledger.receive(
        product=lot_product,
        location=second_warehouse.bin,
        quantity=2,
        unit_cost="1",
        lot_code="L-TODAY",
        expires_on=today,  # still sellable today
    )
    receive(product, locations["bin1"], 5)  # no lot
    StockOutbox.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert outbox.record_expired_lots(today) == 1
    assert rows() == [("WEB", "TEA-100")], "MKT does not sell from WH1"
    assert len(callbacks) == 1

    # Tomorrow L-TODAY has expired too: both channels hear of it.
    StockOutbox.objects.all().delete()
    monkeypatch.setattr(outbox, "BATCH", 1)
    assert outbox.record_expired_lots(today + timedelta(days=1)) == 2
    assert rows() == [("MKT", "TEA-100"), ("WEB", "TEA-100")]

    # No channel with a URL, or no lot expired in the window: nothing.
    StockOutbox.objects.all().delete()
    Channel.objects.update(webhook_url="")
    assert outbox.record_expired_lots(today + timedelta(days=1)) == 0
    assert outbox.record_expired_lots(today - timedelta(days=30)) == 0
    assert not StockOutbox.objects.exists()


def test_a_location_that_stops_or_starts_being_sellable_queues_what_it_holds(
    web_store, marketplace, receiver, product, lot_product, locations, second_warehouse
):
    from datetime import date

    from warehouses.models import Location

    hook(web_store, receiver)
    hook(marketplace, receiver)
    receive(product, locations["bin1"], 3)
    receive(product, locations["bin2"], 1)
    ledger.receive(
        product=lot_product,
        location=locations["quarantine"],
        quantity=2,
        unit_cost="1",
        lot_code="Q-1",
        expires_on=date.today() + timedelta(days=90),
    )
    ledger.adjust(product=product, location=locations["bin2"], quantity=-1, reason="x")
    StockOutbox.objects.all().delete()

    bin1 = Location.objects.get(pk=locations["bin1"].pk)
    bin1.name = "Top shelf"
    bin1.kind = Location.Kind.RECEIVING  # still sellable
    bin1.save()
    assert rows() == [], "nothing a channel may sell changed"

    bin1.active = False
    bin1.save()
    assert rows() == [("MKT", "MUG-001"), ("WEB", "MUG-001")]
    delivery = webhooks.deliver(web_store)
    assert receiver.payloads[-1]["items"][0]["available"] == 0
    assert delivery.status == WebhookDelivery.Status.DELIVERED

    StockOutbox.objects.all().delete()
    bin2 = Location.objects.get(pk=locations["bin2"].pk)
    bin2.active = False
    bin2.save()
    assert rows() == [], "an emptied location holds nothing to announce"

    quarantine = Location.objects.get(pk=locations["quarantine"].pk)
    quarantine.kind = Location.Kind.STORAGE  # released for sale
    quarantine.save()
    assert rows() == [("MKT", "TEA-100"), ("WEB", "TEA-100")]

    # Channels without a URL hear nothing; new locations neither.
    StockOutbox.objects.all().delete()
    Channel.objects.update(webhook_url="")
    quarantine.kind = Location.Kind.QUARANTINE
    quarantine.save()
    Location.objects.create(warehouse=second_warehouse, code="NEW", barcode="WH2-NEW")
    assert rows() == []
