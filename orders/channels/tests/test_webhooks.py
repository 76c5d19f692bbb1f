"""Stock webhooks: signed, coalesced, retried until the receiver takes them, never lost.

Every test talks HTTP to a real receiver (``http.server`` in a thread on 127.0.0.1).
Time is driven through ``next_attempt_at`` and the ``now`` argument, never by sleeping.
"""

import hashlib
import hmac
import json
import socket
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory import ledger
from orders.channels import webhook_http, webhooks
from orders.models import Channel, ChannelWarehouse, StockOutbox, WebhookDelivery

Status = WebhookDelivery.Status


class Receiver:
    """A channel's webhook endpoint: records each POST, answers the queued statuses then 200."""

    def __init__(self):
        self.requests: list[tuple[dict, bytes]] = []
        self.answers: list[int] = []
        self.hold: threading.Event | None = None  # set: answer; unset: wait
        self.delay = 0.0
        self.trickle = 0.0  # >0: dribble the answer's headers a byte at a time
        self.port = 0
        self.server = None
        self._lock = threading.Lock()

    def start(self):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with owner._lock:
                    owner.requests.append((dict(self.headers), body))
                    status = owner.answers.pop(0) if owner.answers else 200
                if owner.hold is not None:
                    owner.hold.wait(timeout=30)
                if owner.delay:
                    threading.Event().wait(owner.delay)
                if owner.trickle:
                    self._dribble()
                    return
                payload = b"ok" if status < 300 else b"receiver says no"
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the sender gave up (timeout test)

            def _dribble(self):
                """A 200 whose headers take ~4 s, one byte per ``trickle`` seconds."""
                try:
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    header = b"X-Slow: " + b"a" * int(4 / owner.trickle) + b"\r\n"
                    for byte in header:
                        self.wfile.write(bytes([byte]))
                        threading.Event().wait(owner.trickle)
                    self.wfile.write(b"Content-Length: 2\r\n\r\nok")
                except OSError:
                    pass  # the sender gave up

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/stock-hook"

    @property
    def payloads(self) -> list[dict]:
        return [json.loads(body) for _, body in self.requests]

    def latest(self) -> dict[str, tuple[int, int]]:
        """``{sku: (available, sequence)}`` as a receiver that drops stale values keeps it."""
        kept: dict[str, tuple[int, int]] = {}
        for payload in self.payloads:
            for item in payload["items"]:
                if item["sku"] not in kept or kept[item["sku"]][1] < item["sequence"]:
                    kept[item["sku"]] = (item["available"], item["sequence"])
        return kept


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def hooked(web_store, receiver):
    """The web store (WH1 then WH2, no buffer) with its webhook pointing at ``receiver``."""
    web_store.webhook_url = receiver.url
    web_store.save()
    return web_store


def receive(product, location, quantity):
    return ledger.receive(product=product, location=location, quantity=quantity, unit_cost="2")


def undelivered(channel) -> int:
    return StockOutbox.objects.filter(channel=channel, delivery__isnull=True).count()


def test_a_stock_change_is_posted_signed_over_the_exact_body(
    hooked, receiver, product, locations, django_capture_on_commit_callbacks
):
    assert hooked.webhook_secret == ""
    with django_capture_on_commit_callbacks(execute=True):
        receive(product, locations["bin1"], 5)
        before = timezone.now()

    ((headers, body),) = receiver.requests
    hooked.refresh_from_db()
    delivery = WebhookDelivery.objects.get()
    assert hooked.webhook_secret, "a secret is made for a channel that had none"
    expected = (
        "sha256=" + hmac.new(hooked.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    )
    assert hmac.compare_digest(headers["X-Stockroom-Signature"], expected)
    forged = "sha256=" + hmac.new(b"another secret", body, hashlib.sha256).hexdigest()
    assert headers["X-Stockroom-Signature"] != forged
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Stockroom-Delivery"] == str(delivery.pk)

    payload = json.loads(body)
    row = StockOutbox.objects.get()
    assert payload["channel"] == "WEB" and payload["delivery"] == delivery.pk
    assert datetime.fromisoformat(payload["sent_at"]).tzinfo is not None
    (item,) = payload["items"]
    read_at = datetime.fromisoformat(item.pop("updated_at"))
    assert before <= read_at <= delivery.delivered_at, "when the value was read"
    assert item == {"sku": "MUG-001", "available": 5, "sequence": 1}
    assert hooked.webhook_sequence == 1, "the channel's first send"
    assert delivery.status == Status.DELIVERED and delivery.delivered_at is not None
    assert (delivery.attempts, delivery.item_count, delivery.response_status) == (1, 1, 200)
    assert row.delivery == delivery


def test_changes_of_one_sku_coalesce_into_one_item_with_the_latest_value(
    hooked, receiver, product, locations, second_warehouse
):
    receive(product, locations["bin1"], 10)
    ledger.adjust(product=product, location=locations["bin1"], quantity=-1, reason="broken")
    ledger.reserve(product=product, location=locations["bin1"], quantity=3)
    receive(product, second_warehouse.bin, 4)
    ledger.adjust(product=product, location=locations["bin2"], quantity=2, reason="found")
    assert undelivered(hooked) == 5

    delivery = webhooks.deliver(hooked)

    (payload,) = receiver.payloads
    (item,) = payload["items"]
    assert (item["sku"], item["available"], item["sequence"]) == ("MUG-001", 10 - 1 - 3 + 4 + 2, 1)
    assert delivery.item_count == 1 and undelivered(hooked) == 0
    assert StockOutbox.objects.filter(delivery=delivery).count() == 5
    assert webhooks.deliver(hooked) is None, "nothing left to send"
    assert len(receiver.requests) == 1


def test_each_channel_hears_its_own_value_after_its_buffer(
    hooked, marketplace, receiver, product, locations
):
    marketplace.webhook_url = receiver.url + "?channel=mkt"
    marketplace.save()
    receive(product, locations["bin1"], 10)
    ledger.reserve(product=product, location=locations["bin1"], quantity=1)

    assert webhooks.deliver(hooked).status == Status.DELIVERED
    assert webhooks.deliver(marketplace).status == Status.DELIVERED

    by_channel = {p["channel"]: p["items"] for p in receiver.payloads}
    assert by_channel["WEB"][0]["available"] == 9
    assert by_channel["MKT"][0]["available"] == 9 - 2  # buffer 2


def test_channels_without_a_url_inactive_or_elsewhere_get_no_rows(
    web_store, marketplace, receiver, product, locations
):
    from warehouses.models import Warehouse

    marketplace.webhook_url = receiver.url
    marketplace.active = False
    marketplace.save()
    elsewhere = Channel.objects.create(code="POS", name="Shop", webhook_url=receiver.url)
    ChannelWarehouse.objects.create(
        channel=elsewhere, warehouse=Warehouse.objects.create(code="WH9", name="Far away")
    )
    receive(product, locations["bin1"], 3)

    assert not StockOutbox.objects.exists()
    assert webhooks.deliver(web_store) is None
    assert webhooks.deliver(marketplace) is None
    assert receiver.requests == []


def test_a_failing_receiver_gets_every_latest_value_once_it_answers_2xx(
    hooked, receiver, product, locations
):
    from inventory.models import Product

    receiver.answers = [500, 500]
    receive(product, locations["bin1"], 5)

    first = webhooks.deliver(hooked)
    assert first.status == Status.FAILED and first.attempts == 1
    assert first.response_status == 500
    assert "answered 500" in first.last_error and "receiver says no" in first.last_error
    wait = (first.next_attempt_at - first.last_attempt_at).total_seconds()
    assert 30 <= wait <= 34, wait

    # Not due yet: nothing is sent, and new changes wait for the retry.
    assert webhooks.deliver(hooked) is None
    ledger.adjust(product=product, location=locations["bin1"], quantity=-2, reason="broken")
    cup = Product.objects.create(sku="CUP-002", name="Cup")
    receive(cup, locations["bin2"], 7)
    assert len(receiver.requests) == 1

    second = webhooks.deliver(hooked, now=first.next_attempt_at)
    assert second.pk == first.pk, "a retry is the same delivery, with the new rows folded in"
    assert second.status == Status.FAILED and second.attempts == 2
    wait = (second.next_attempt_at - timezone.now()).total_seconds()
    assert 55 <= wait <= 67, wait

    ledger.adjust(product=cup, location=locations["bin2"], quantity=-3, reason="broken")
    third = webhooks.deliver(hooked, now=second.next_attempt_at)
    assert third.pk == first.pk and third.status == Status.DELIVERED
    assert third.attempts == 3 and third.response_status == 200 and third.item_count == 2
    assert "answered 500" in third.last_error, "the delivery log keeps what went wrong"

    assert [p["delivery"] for p in receiver.payloads] == [first.pk] * 3
    assert [sorted(i["sku"] for i in p["items"]) for p in receiver.payloads] == [
        ["MUG-001"],
        ["CUP-002", "MUG-001"],
        ["CUP-002", "MUG-001"],
    ]
    last = {item["sku"]: item["available"] for item in receiver.payloads[-1]["items"]}
    assert last == {"MUG-001": 3, "CUP-002": 4}
    assert undelivered(hooked) == 0
    assert set(StockOutbox.objects.values_list("delivery__status", flat=True)) == {"delivered"}


def test_a_receiver_that_is_down_gets_everything_when_back(
    hooked, receiver, product, locations, monkeypatch
):
    receiver.stop()  # the port is closed now
    receive(product, locations["bin1"], 10)

    failed = webhooks.deliver(hooked)
    assert failed.status == Status.FAILED and failed.response_status is None
    assert failed.last_error.startswith("Connection refused by 127.0.0.1:")

    for quantity in (1, 2, 3):
        ledger.adjust(product=product, location=locations["bin1"], quantity=-quantity, reason="x")
    receiver.start()  # same port

    # The command only sends what is due.
    call_command("deliver_webhooks")
    assert receiver.requests == []

    WebhookDelivery.objects.filter(pk=failed.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    call_command("deliver_webhooks")
    failed.refresh_from_db()
    assert failed.status == Status.DELIVERED and failed.attempts == 2
    assert receiver.latest() == {"MUG-001": (10 - 1 - 2 - 3, 2)}, "the retry's new number"
    assert undelivered(hooked) == 0


def test_a_slow_receiver_times_out_and_the_error_says_so(
    hooked, receiver, product, locations, monkeypatch
):
    monkeypatch.setattr(webhook_http, "TIMEOUT_SECONDS", 0.2)
    receiver.delay = 1.0
    receive(product, locations["bin1"], 1)

    delivery = webhooks.deliver(hooked)

    assert delivery.status == Status.FAILED
    assert delivery.last_error == f"No answer from 127.0.0.1:{receiver.port} within 0.2 s."


def test_unknown_hosts_redirects_and_other_schemes_fail_readably(
    hooked, receiver, product, locations, monkeypatch
):
    receive(product, locations["bin1"], 1)

    def no_dns(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with monkeypatch.context() as patched:
        patched.setattr(socket, "getaddrinfo", no_dns)
        Channel.objects.filter(pk=hooked.pk).update(webhook_url="http://shop.invalid/hook")
        hooked.refresh_from_db()
        failed = webhooks.deliver(hooked)
    assert failed.last_error == (
        "Could not resolve the host of shop.invalid (Name or service not known)."
    )

    Channel.objects.filter(pk=hooked.pk).update(webhook_url="file:///etc/passwd")
    hooked.refresh_from_db()
    failed = webhooks.deliver(hooked, now=failed.next_attempt_at)
    assert failed.last_error == "Not an http(s) URL: file:///etc/passwd"

    receiver.answers = [302]
    Channel.objects.filter(pk=hooked.pk).update(webhook_url=receiver.url)
    hooked.refresh_from_db()
    failed = webhooks.deliver(hooked, now=failed.next_attempt_at)
    assert failed.status == Status.FAILED and failed.response_status == 302
    assert "must answer 2xx" in failed.last_error
    assert len(receiver.requests) == 1, "a redirect is not followed"
    assert failed.attempts == 3


def test_a_delivery_in_flight_keeps_others_off_the_channel(hooked, receiver, product, locations):
    receive(product, locations["bin1"], 4)
    claim = webhooks._claim(hooked.pk, timezone.now())
    assert claim is not None
    in_flight, _, sequence = claim

    assert webhooks.deliver(hooked) is None, "one delivery per channel at a time"
    assert receiver.requests == []

    # A worker that stopped mid-send loses its lease; the delivery is sent again.
    later = timezone.now() + webhooks.lease() + timedelta(seconds=1)
    taken_over = webhooks.deliver(hooked, now=later)
    assert taken_over.pk == in_flight.pk and taken_over.status == Status.DELIVERED
    assert taken_over.attempts == 2
    assert len(receiver.requests) == 1
    assert receiver.payloads[0]["items"][0]["sequence"] == sequence + 1, "a new, higher number"


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_send_the_same_rows(web_store, receiver, product, locations, settings):
    from common.testing import run_threads

    # Workers are started by hand here, not by the commits.
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    web_store.webhook_url = receiver.url
    web_store.save()
    receive(product, locations["bin1"], 10)
    # The first request waits inside the receiver until released.
    receiver.hold = threading.Event()
    results: dict[int, object] = {}

    def work(index):
        results[index] = webhooks.deliver(Channel.objects.get(pk=web_store.pk))

    thread = threading.Thread(target=lambda: run_threads(1, work))
    thread.start()
    for _ in range(500):
        if receiver.requests:
            break
        threading.Event().wait(0.01)
    assert len(receiver.requests) == 1

    # Meanwhile: another worker finds the channel busy; stock keeps changing.
    assert webhooks.deliver(Channel.objects.get(pk=web_store.pk)) is None
    ledger.adjust(product=product, location=locations["bin1"], quantity=-4, reason="broken")
    receiver.hold.set()
    thread.join(timeout=60)
    connection.close()

    assert results[0].status == Status.DELIVERED
    summary = webhooks.deliver_channel(web_store.pk)
    assert summary["delivered"] == 1
    first, second = receiver.payloads
    assert first["delivery"] != second["delivery"]
    assert first["items"][0]["sequence"] < second["items"][0]["sequence"]
    assert second["items"][0]["available"] == 6
    claimed = list(StockOutbox.objects.values_list("delivery_id", flat=True).order_by("pk"))
    assert claimed == [first["delivery"], second["delivery"]]


def test_deliver_channel_sends_batch_after_batch(
    hooked, receiver, product, locations, monkeypatch
):
    from inventory.models import Product

    monkeypatch.setattr(webhooks, "BATCH_PRODUCTS", 2)
    products = [product] + [
        Product.objects.create(sku=f"SKU-{n}", name=f"Thing {n}") for n in range(4)
    ]
    for item in products:
        receive(item, locations["bin1"], 1)
    receive(product, locations["bin1"], 1)  # later row of a product in the first batch

    summary = webhooks.deliver_channel(hooked.pk)

    assert summary["delivered"] == 3 and summary["failed"] == 0
    assert [len(p["items"]) for p in receiver.payloads] == [2, 2, 1]
    sent = [item["sku"] for p in receiver.payloads for item in p["items"]]
    assert sorted(sent) == sorted(p.sku for p in products), "each product once"
    assert receiver.latest()["MUG-001"][0] == 2


def test_failed_deliveries_are_retried_by_the_admin_action(
    admin_client, hooked, receiver, product, locations, django_capture_on_commit_callbacks
):
    receiver.answers = [503]
    receive(product, locations["bin1"], 2)
    failed = webhooks.deliver(hooked)
    assert failed.status == Status.FAILED

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/orders/webhookdelivery/",
            {"action": "retry_now", "_selected_action": [failed.pk]},
            follow=True,
        )
    assert response.status_code == 200
    assert "Retrying 1 failed delivery for 1 channel." in response.content.decode()
    failed.refresh_from_db()
    assert failed.status == Status.DELIVERED and len(receiver.requests) == 2


def test_delivery_log_and_outbox_pages_in_admin(
    admin_client, hooked, receiver, product, locations, django_assert_max_num_queries
):
    receiver.answers = [500]
    receive(product, locations["bin1"], 2)
    webhooks.deliver(hooked)
    for _ in range(3):
        receive(product, locations["bin2"], 1)

    with django_assert_max_num_queries(12):
        page = admin_client.get("/admin/orders/webhookdelivery/?status__exact=failed")
    assert page.status_code == 200
    assert "receiver says no" in page.content.decode()
    with django_assert_max_num_queries(12):
        page = admin_client.get("/admin/orders/stockoutbox/")
    assert page.status_code == 200 and "MUG-001" in page.content.decode()
    add = admin_client.get("/admin/orders/webhookdelivery/add/")
    assert add.status_code == 403


def test_housekeeping_removes_week_old_deliveries_with_their_rows(
    hooked, receiver, product, locations
):
    receive(product, locations["bin1"], 1)
    old = webhooks.deliver(hooked)
    receiver.answers = [500]
    receive(product, locations["bin1"], 1)
    failing = webhooks.deliver(hooked)
    receive(product, locations["bin1"], 1)
    WebhookDelivery.objects.filter(pk__in=[old.pk, failing.pk]).update(
        created_at=timezone.now() - timedelta(days=30),
        delivered_at=timezone.now() - timedelta(days=8),
    )
    WebhookDelivery.objects.filter(pk=failing.pk).update(delivered_at=None)

    assert webhooks.housekeeping() == 1

    assert list(WebhookDelivery.objects.values_list("pk", flat=True)) == [failing.pk]
    assert StockOutbox.objects.filter(delivery=failing).count() == 1
    assert undelivered(hooked) == 1, "waiting rows stay"


def test_the_command_reports_and_refuses_unknown_channels(hooked, receiver, product, locations):
    from io import StringIO

    from django.core.management import CommandError

    out = StringIO()
    call_command("deliver_webhooks", stdout=out)
    assert out.getvalue().strip() == "No webhook deliveries due."

    receive(product, locations["bin1"], 1)
    out = StringIO()
    call_command("deliver_webhooks", "--channel", "WEB", stdout=out)
    assert out.getvalue().strip() == "WEB: 1 delivered, 0 failed, 1 items"

    with pytest.raises(CommandError, match="no channel with the code “NOPE”"):
        call_command("deliver_webhooks", "--channel", "NOPE")


@pytest.mark.django_db(transaction=True)
def test_db_worker_runs_the_delivery_task_once_for_a_burst(
    web_store, receiver, product, locations, settings
):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    assert settings.STOCKROOM_WEBHOOK_GATHER_MS == 500  # as `make run` has it
    web_store.webhook_url = receiver.url
    web_store.save()
    receive(product, locations["bin1"], 1)
    with CaptureQueriesContext(connection) as queries:
        for _ in range(9):
            receive(product, locations["bin1"], 1)
    # Inside the window the process knows a task is queued: no commit asked again.
    assert not [q for q in queries if "django_tasks_database_dbtaskresult" in q["sql"]]

    queued = DBTaskResult.objects.filter(task_path="orders.channels.webhooks.deliver_webhooks")
    assert queued.count() == 1, "a burst of changes queues one task"
    task = queued.get()
    assert task.run_after - task.enqueued_at == pytest.approx(
        timedelta(milliseconds=500), abs=timedelta(milliseconds=100)
    )
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    if timezone.now() < task.run_after:
        assert queued.get().status == "READY", "it waits for its window to end"
        time.sleep(max((task.run_after - timezone.now()).total_seconds(), 0))
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    assert queued.get().status == "SUCCESSFUL"
    assert receiver.latest() == {"MUG-001": (10, 1)}
    assert undelivered(web_store) == 0

    # A failure queues its retry for later (the database backend can defer).
    receiver.answers = [500]
    receive(product, locations["bin1"], 1)
    time.sleep(max((queued.get(status="READY").run_after - timezone.now()).total_seconds(), 0))
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    failed = WebhookDelivery.objects.get(status=Status.FAILED)
    retry = queued.get(status="READY")
    assert retry.run_after == failed.next_attempt_at
    assert retry.args_kwargs["args"] == [web_store.pk]
    # Further changes wait for that retry instead of queueing more tasks.
    receive(product, locations["bin1"], 1)
    assert queued.filter(status="READY").count() == 1


@pytest.mark.django_db(transaction=True)
def test_after_half_the_window_a_commit_asks_and_finds_the_queued_task(
    web_store, product, locations, settings
):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    web_store.webhook_url = "https://hooks.example/stock"
    web_store.save()
    receive(product, locations["bin1"], 1)
    queued = DBTaskResult.objects.filter(task_path="orders.channels.webhooks.deliver_webhooks")
    task = queued.get()
    key = ("default", web_store.pk)
    assert webhooks.GATHERING[key] == task.run_after - timedelta(milliseconds=250)
    webhooks.GATHERING[key] = timezone.now()  # half the window has gone
    with CaptureQueriesContext(connection) as queries:
        receive(product, locations["bin1"], 1)
    assert [q for q in queries if "django_tasks_database_dbtaskresult" in q["sql"]]
    assert queued.count() == 1, "the task still waiting for its time takes the new row"
    assert webhooks.GATHERING[key] == task.run_after - timedelta(milliseconds=250)
    # Once its time has come a worker may have taken it: the next commit queues another.
    DBTaskResult.objects.filter(pk=task.pk).update(status="RUNNING")
    webhooks.GATHERING.clear()
    receive(product, locations["bin1"], 1)
    assert queued.filter(status="READY").count() == 1


@pytest.mark.django_db(transaction=True)
def test_while_workers_are_behind_one_task_per_window_is_added(
    web_store, product, locations, settings
):
    """A task already due covers new rows, but it may be taken at any moment: a task
    for the window is queued so the next commits of the window need not ask."""
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    web_store.webhook_url = "https://hooks.example/stock"
    web_store.save()
    due = timezone.now() - timedelta(seconds=5)
    webhooks.deliver_webhooks.using(run_after=due).enqueue(web_store.pk)
    queued = DBTaskResult.objects.filter(task_path="orders.channels.webhooks.deliver_webhooks")
    receive(product, locations["bin1"], 1)
    assert queued.filter(status="READY").count() == 2
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            receive(product, locations["bin1"], 1)
    assert not [q for q in queries if "django_tasks_database_dbtaskresult" in q["sql"]]
    assert queued.filter(status="READY").count() == 2


def test_the_queued_check_answers_per_channel_with_the_longest_safe_time(
    settings, web_store, marketplace
):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    task, now = webhooks.deliver_webhooks, timezone.now()
    for seconds in (-30, -20, -10):  # due long ago: no worker ran them
        task.using(run_after=now + timedelta(seconds=seconds)).enqueue(web_store.pk)
    gathering = now + timedelta(milliseconds=400)
    task.using(run_after=gathering).enqueue(web_store.pk)
    task.enqueue(marketplace.pk)  # no time: may start at once
    task.using(run_after=now + timedelta(minutes=30)).enqueue(marketplace.pk)  # a retry
    queued = webhooks._queued_channel_ids(task, until=now + timedelta(milliseconds=500))
    stored = DBTaskResult.objects.get(run_after__gt=now, run_after__lt=now + timedelta(seconds=1))
    assert queued == {web_store.pk: stored.run_after, marketplace.pk: queued[marketplace.pk]}
    assert abs(stored.run_after - gathering) < timedelta(milliseconds=1)
    assert queued[marketplace.pk].year == 9999  # the one without a time
    # The gathering task covers new rows for half the window; the one without a time not.
    window = timedelta(milliseconds=500)
    assert webhooks._covered(queued[web_store.pk], now, window)
    assert not webhooks._covered(queued[marketplace.pk], now, window)
    assert webhooks._covered(queued[marketplace.pk], now, timedelta(0))


@pytest.mark.django_db(transaction=True)
def test_without_a_window_the_task_runs_as_soon_as_a_worker_is_free(
    web_store, receiver, product, locations, settings
):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    settings.STOCKROOM_WEBHOOK_GATHER_MS = 0
    web_store.webhook_url = receiver.url
    web_store.save()
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            receive(product, locations["bin1"], 1)
    asked = [q for q in queries if "django_tasks_database_dbtaskresult" in q["sql"]]
    assert len(asked) >= 3, "every commit asks whether a task is queued"
    queued = DBTaskResult.objects.filter(task_path="orders.channels.webhooks.deliver_webhooks")
    assert queued.count() == 1
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    assert queued.get().status == "SUCCESSFUL"
    assert receiver.latest() == {"MUG-001": (3, 1)}


# --- sequence numbers (review H2) -----------------------------------------------------


def test_sequence_follows_the_sends_not_the_outbox_ids(hooked, receiver, product, locations):
    """On PostgreSQL a row with a lower id can commit after one with a higher id."""
    receive(product, locations["bin1"], 5)
    row = StockOutbox.objects.get()
    # That row got a high id; the next change's row got a lower one and committed later.
    StockOutbox.objects.filter(pk=row.pk).update(id=row.pk + 1000)
    assert webhooks.deliver(hooked).status == Status.DELIVERED
    ledger.adjust(product=product, location=locations["bin1"], quantity=-2, reason="broken")
    StockOutbox.objects.filter(delivery__isnull=True).update(id=row.pk + 500)
    assert webhooks.deliver(hooked).status == Status.DELIVERED

    sent = [(p["items"][0]["available"], p["items"][0]["sequence"]) for p in receiver.payloads]
    assert sent == [(5, 1), (3, 2)]
    assert receiver.latest() == {"MUG-001": (3, 2)}, "a receiver dropping lower numbers keeps 3"
    hooked.refresh_from_db()
    assert hooked.webhook_sequence == 2


def test_a_waiting_retry_is_not_overtaken_and_every_attempt_gets_a_higher_number(
    hooked, receiver, product, locations, dropship_supplier, dropship_product
):
    from orders.models import SupplierProduct

    receiver.answers = [500]
    receive(product, locations["bin1"], 5)
    failed = webhooks.deliver(hooked)
    assert failed.status == Status.FAILED

    # Newer changes while the failed delivery waits: no second delivery starts.
    ledger.adjust(product=product, location=locations["bin1"], quantity=-1, reason="broken")
    SupplierProduct.objects.filter(product=dropship_product).update(supplier_stock=3)
    from orders.channels import outbox

    outbox.record([hooked.pk], [dropship_product.pk])
    assert webhooks.deliver(hooked) is None
    assert webhooks.deliver_due() == []
    assert WebhookDelivery.objects.count() == 1 and len(receiver.requests) == 1

    retried = webhooks.deliver(hooked, now=failed.next_attempt_at)
    assert retried.pk == failed.pk and retried.status == Status.DELIVERED
    first, second = receiver.payloads
    assert [(i["sku"], i["available"], i["sequence"]) for i in first["items"]] == [
        ("MUG-001", 5, 1)
    ]
    assert [(i["sku"], i["available"], i["sequence"]) for i in second["items"]] == [
        ("MUG-001", 4, 2),
        ("SOFA-9", 3, 2),
    ], "the new rows folded into the retry, under a new, higher number"
    assert undelivered(hooked) == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_claim_in_progress_does_not_hold_up_stock_commits(
    web_store, receiver, product, locations, settings
):
    """Committing an outbox row checks its channel foreign key (deferred to COMMIT) with a
    key-share lock on the channel row: a claim's plain FOR UPDATE would block it."""
    from django.db import OperationalError, connections, transaction

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    web_store.webhook_url = receiver.url
    web_store.save()
    receive(product, locations["bin1"], 3)  # committed, waiting
    outcome = {}

    def intake():
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '1s'")
                receive(product, locations["bin2"], 1)
            outcome["intake"] = "committed"
        except OperationalError as exc:
            outcome["intake"] = str(exc).splitlines()[0]
        finally:
            connections.close_all()

    with transaction.atomic():  # the claim's lock is held until this block ends
        claim = webhooks._claim(web_store.pk, timezone.now())
        assert claim is not None
        thread = threading.Thread(target=intake)
        thread.start()
        thread.join(timeout=30)
    assert outcome == {"intake": "committed"}
    assert undelivered(web_store) == 1


# --- the whole POST has a deadline (review L7) ---------------------------------------


def test_a_trickling_receiver_cannot_hold_the_lease(
    hooked, receiver, product, locations, monkeypatch
):
    import time

    monkeypatch.setattr(webhook_http, "TIMEOUT_SECONDS", 0.5)
    monkeypatch.setattr(webhook_http, "TOTAL_SECONDS", 0.6)
    receiver.trickle = 0.05  # each byte well within the socket timeout
    receive(product, locations["bin1"], 1)

    started = time.monotonic()
    delivery = webhooks.deliver(hooked)
    elapsed = time.monotonic() - started

    assert elapsed < 2.5, f"the POST took {elapsed:.1f} s"
    assert delivery.status == Status.FAILED and delivery.response_status is None
    assert delivery.last_error == (
        f"No complete answer from 127.0.0.1:{receiver.port} within 0.6 s."
    )
    assert webhooks.lease().total_seconds() > webhooks.send_deadline()


def test_only_runnable_queued_delivery_tasks_count_as_queued(settings, web_store, marketplace):
    """``_queued_channel_ids`` (asked after every stock commit): a task that is ready now or
    without a run time counts for its channel; one deferred to later, one that started,
    another task's and one of another backend do not."""
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]},
        "other": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]},
    }
    task = webhooks.deliver_webhooks
    assert set(webhooks._queued_channel_ids(task)) == set()
    later = timezone.now() + timedelta(minutes=5)
    task.using(run_after=later).enqueue(web_store.pk)
    task.using(backend="other").enqueue(web_store.pk)
    started = task.enqueue(web_store.pk)
    DBTaskResult.objects.filter(id=started.id).update(status="RUNNING")
    assert set(webhooks._queued_channel_ids(task)) == set()

    task.enqueue(marketplace.pk)
    task.using(run_after=timezone.now() - timedelta(seconds=1)).enqueue(web_store.pk)
    assert set(webhooks._queued_channel_ids(task)) == {marketplace.pk, web_store.pk}
