"""Several app servers on one PostgreSQL (issue 14, README "Several app servers").

Real processes, as a deployment runs them: two gunicorn instances (``make run``'s
config/gunicorn.conf.py, two workers each, DEBUG off) on two ports and two
``manage.py db_worker`` processes, all with the connection pool on
(``STOCKROOM_DB_POOL=1``) against the test's one PostgreSQL database. 32 API clients,
16 per server, order the same three scarce SKUs (20 units each, in two bins) at once
through ``POST /api/v1/orders``, from two channels; each client also cancels one of
its orders (freeing units that the task workers re-allocate to waiting orders) and
repeats one on the other server (answered 200 with the same order).

Then: no client saw a 5xx, a refusal or a deadlock; nothing was oversold and
``check_ledger`` finds nothing; no order waits while its units are free; and each
channel's receiver saw every webhook signed, each delivery and each sequence number
exactly once, its latest value per SKU being what the channel may sell now.
"""

import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.db.models import Sum
from django_tasks_db.models import DBTaskResult

from config import database
from inventory import integrity, ledger
from inventory.models import Product, StockLevel
from orders.channels import tokens
from orders.channels.availability import available_to_sell
from orders.channels.tests.test_webhook_leases import database_url, wait_for
from orders.channels.tests.test_webhooks import Receiver
from orders.models import (
    Allocation,
    Channel,
    ChannelWarehouse,
    SalesOrder,
    SalesOrderLine,
    StockOutbox,
    WebhookDelivery,
)

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(240)]

ROOT = Path(django_settings.BASE_DIR)
SKUS = ("SCARCE-A", "SCARCE-B", "SCARCE-C")
STOCK = {"bin1": 12, "bin2": 8}  # 20 units of each SKU, in two balance rows
SERVERS = 2
CLIENTS_PER_SERVER = 16
ORDERS_PER_CLIENT = 5
CANCELLED, REPEATED = 1, 2  # which of a client's orders it cancels, and sends twice
POOL_MAX = database.DEFAULT_MAX_SIZE  # connections a process may hold
SETTLE_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Fleet:
    """The app servers and task workers, each in its own process group, logging to files."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.processes: list[tuple[str, subprocess.Popen]] = []
        self.ports: list[int] = []

    def env(self, **extra: str) -> dict[str, str]:
        """What `make run` exports (scripts/run.sh), on the test database, pool on."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("STOCKROOM_DB_POOL")}
        return {
            **base,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "0",
            "SECRET_KEY": "multi-server-test-key-shared-by-every-process-0123456789",
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "SECURE_HSTS_SECONDS": "0",
            "DATABASE_URL": database_url(),
            "STOCKROOM_DB_POOL": "1",  # with its default sizes
            "STOCKROOM_WEBHOOK_ALLOW_PRIVATE": "1",
            **extra,
        }

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> None:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes.append((name, process))

    def start(self) -> None:
        for index in range(SERVERS):
            port = free_port()
            self.ports.append(port)
            conf = str(ROOT / "config" / "gunicorn.conf.py")
            self.spawn(
                f"gunicorn-{index}",
                ["-m", "gunicorn", "--config", conf, "--workers", "2"],
                self.env(PORT=str(port)),
            )
        for index in range(2):
            self.spawn(
                f"db_worker-{index}",
                ["manage.py", "db_worker", "--interval", "0.5", "--no-reload"],
                self.env(),
            )
        for port in self.ports:
            assert wait_for(lambda port=port: healthy(port), 90, step=0.2), self.logs()

    def alive(self) -> list[str]:
        return [name for name, process in self.processes if process.poll() is None]

    def stop(self) -> None:
        for _, process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for _, process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)

    def logs(self, lines: int = 30) -> str:
        out = []
        for name, _ in self.processes:
            text = (self.folder / f"{name}.log").read_text(errors="replace").splitlines()
            out.append(f"--- {name} (last {lines} lines)\n" + "\n".join(text[-lines:]))
        return "\n".join(out)


def healthy(port: int) -> bool:
    try:
        return request(port, "GET", "/healthz")[0] == 200
    except OSError:
        return False


def request(port: int, method: str, path: str, body=None, token: str = "") -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request(
            method, path, body=None if body is None else json.dumps(body), headers=headers
        )
        response = conn.getresponse()
        raw = response.read()
        if response.getheader("Content-Type", "").startswith("application/json"):
            return response.status, json.loads(raw)
        return response.status, {"text": raw.decode(errors="replace")[:300]}
    finally:
        conn.close()


# --- the shop -------------------------------------------------------------------------


def build_shop(warehouse, locations, receiver) -> dict[str, tuple[Channel, str]]:
    """Three scarce SKUs, two channels with a webhook each; ``{code: (channel, token)}``."""
    shop = {}
    for code, buffer in (("WEB", 0), ("MKT", 1)):
        channel = Channel.objects.create(
            code=code,
            name=code,
            buffer=buffer,
            webhook_url=receiver.url.replace("/stock-hook", f"/hook/{code}"),
        )
        ChannelWarehouse.objects.create(channel=channel, warehouse=warehouse, priority=1)
        tokens.rotate_webhook_secret(channel)
        shop[code] = (channel, tokens.rotate_token(channel))
    for sku in SKUS:
        product = Product.objects.create(sku=sku, name=sku, sell_price=Decimal("5.00"))
        for place, quantity in STOCK.items():
            ledger.receive(
                product=product, location=locations[place], quantity=quantity, unit_cost="2"
            )
    return shop


def order_body(ref: str, rng: random.Random) -> dict:
    skus = rng.sample(SKUS, rng.choice((1, 2)))  # random order: locks must still be ordered
    return {
        "external_ref": ref,
        "customer": {"name": "Ada", "email": "ada@example.com", "address": "1 Dock Road"},
        "lines": [
            {"sku": sku, "quantity": rng.choice((1, 2)), "unit_price": "5.00"} for sku in skus
        ],
    }


def client(number: int, ports: list[int], shop: dict, start: threading.Barrier, log: list):
    """One shop front: its orders to one server, a cancel, and a repeat to the other server."""
    rng = random.Random(number)
    port, other = ports[number % SERVERS], ports[(number + 1) % SERVERS]
    code = ("WEB", "MKT")[(number // SERVERS) % 2]
    token = shop[code][1]
    start.wait()
    for index in range(ORDERS_PER_CLIENT):
        ref = f"C{number:02d}-{index}"
        body = order_body(ref, rng)
        calls = [("create", port, "POST", "/api/v1/orders", body)]
        if index == CANCELLED:
            calls.append(("cancel", port, "POST", f"/api/v1/orders/{ref}/cancel", None))
        if index == REPEATED:
            calls.append(("repeat", other, "POST", "/api/v1/orders", body))
        for kind, to, method, path, payload in calls:
            began = time.monotonic()
            try:
                status, answer = request(to, method, path, payload, token)
            except OSError as exc:
                status, answer = 0, {"text": repr(exc)}
            log.append((kind, code, ref, to, status, answer, time.monotonic() - began))


def run_clients(ports: list[int], shop: dict) -> tuple[list, float]:
    log: list = []
    count = SERVERS * CLIENTS_PER_SERVER
    start = threading.Barrier(count)
    threads = [
        threading.Thread(target=client, args=(n, ports, shop, start, log)) for n in range(count)
    ]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    return log, time.monotonic() - began


class ConnectionCount(threading.Thread):
    """Samples how many connections the app's processes hold on the test database."""

    def __init__(self, own_pids: set[int]):
        super().__init__(daemon=True)
        db = connection.settings_dict
        self.conninfo = psycopg.conninfo.make_conninfo(
            host=db["HOST"] or "localhost",
            port=db["PORT"] or 5432,
            user=db["USER"],
            password=db.get("PASSWORD") or None,
            dbname=db["NAME"],
        )
        self.own_pids = own_pids
        self.most = 0
        self.done = threading.Event()

    def run(self):
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            self.own_pids.add(conn.info.backend_pid)
            while not self.done.is_set():
                rows = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                ).fetchall()
                self.most = max(self.most, len({pid for (pid,) in rows} - self.own_pids))
                self.done.wait(0.1)


# --- what must hold afterwards -------------------------------------------------------


def settled() -> bool:
    """No task ready or running, nothing left in the outbox, no delivery in flight."""
    return not (
        DBTaskResult.objects.ready().exists()
        or DBTaskResult.objects.running().exists()
        or StockOutbox.objects.filter(delivery__isnull=True).exists()
        or WebhookDelivery.objects.exclude(status=WebhookDelivery.Status.DELIVERED).exists()
    )


def deadlocks() -> int:
    """Deadlocks PostgreSQL has detected in the test database so far."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def app_backends() -> int:
    """Connections to the test database other than this test's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        return cursor.fetchone()[0]


def quiet() -> bool:
    """Settled now and still a second later (a task may be between two steps)."""
    if not settled():
        return False
    time.sleep(1)
    return settled()


def check_answers(log: list) -> Counter:
    """Every answer is the documented success; count orders by their status at intake."""
    count = SERVERS * CLIENTS_PER_SERVER
    kinds = Counter(kind for kind, *_ in log)
    assert kinds == {"create": count * ORDERS_PER_CLIENT, "cancel": count, "repeat": count}
    wrong = [
        entry
        for entry in log
        if entry[4] != {"create": 201, "cancel": 200, "repeat": 200}[entry[0]]
    ]
    assert not wrong, f"{len(wrong)} unexpected answers, e.g. {wrong[:5]}"
    numbers = {
        (code, ref): answer["number"]
        for kind, code, ref, _, _, answer, _ in log
        if kind == "create"
    }
    for kind, code, ref, _, _, answer, _ in log:
        if kind == "repeat":
            assert answer["number"] == numbers[code, ref], "the repeat is the same order"
        if kind == "cancel":
            assert answer["status"] == SalesOrder.Status.CANCELLED
    return Counter(answer["status"] for kind, *_, answer, _ in log if kind == "create")


def check_stock() -> dict[str, dict[str, int]]:
    """No unit promised twice, journals and balances agree, nothing waits while stock is free."""
    assert list(integrity.find_differences()) == []
    report = {}
    for product in Product.objects.filter(sku__in=SKUS).order_by("sku"):
        levels = StockLevel.objects.filter(product=product).aggregate(
            on_hand=Sum("on_hand"), committed=Sum("committed")
        )
        allocated = (
            Allocation.objects.filter(
                line__product=product, line__order__status__in=SalesOrder.ACTIVE_STATUSES
            ).aggregate(total=Sum("quantity"))["total"]
            or 0
        )
        lines = SalesOrderLine.objects.filter(product=product).exclude(
            order__status=SalesOrder.Status.CANCELLED
        )
        promised = lines.aggregate(total=Sum("quantity_allocated"))["total"] or 0
        waiting = sum(line.quantity_backordered for line in lines)
        assert levels["on_hand"] == sum(STOCK.values()), "no unit came or went"
        assert allocated == promised == levels["committed"] <= levels["on_hand"], product.sku
        free = levels["on_hand"] - levels["committed"]
        assert not (waiting and free), f"{product.sku}: {waiting} wait while {free} are free"
        report[product.sku] = {"committed": levels["committed"], "waiting": waiting}
    return report


def check_webhooks(receiver: Receiver, shop: dict) -> dict[str, int]:
    """Per channel: signed, each delivery and sequence once, the latest value is today's."""
    by_channel: dict[str, list[dict]] = defaultdict(list)
    for headers, body in receiver.requests:
        payload = json.loads(body)
        channel = Channel.objects.get(code=payload["channel"])
        assert headers["X-Stockroom-Signature"] == tokens.sign(channel.webhook_secret, body)
        by_channel[channel.code].append(payload)
    seen = {}
    for code, (channel, _) in shop.items():
        payloads = by_channel[code]
        sequences = [{item["sequence"] for item in p["items"]} for p in payloads]
        assert all(len(s) == 1 for s in sequences), "one sequence per POST"
        sequences = [s.pop() for s in sequences]
        assert len(sequences) == len(set(sequences)), f"{code}: a sequence came twice"
        deliveries = [p["delivery"] for p in payloads]
        assert len(deliveries) == len(set(deliveries)), f"{code}: a delivery came twice"
        sent = WebhookDelivery.objects.filter(channel=channel)
        assert sent.count() == len(payloads) == sent.aggregate(n=Sum("attempts"))["n"]
        channel.refresh_from_db()
        assert max(sequences) == channel.webhook_sequence
        latest: dict[str, tuple[int, int]] = {}
        for payload in payloads:
            for item in payload["items"]:
                if item["sku"] not in latest or latest[item["sku"]][1] < item["sequence"]:
                    latest[item["sku"]] = (item["available"], item["sequence"])
        products = list(Product.objects.filter(sku__in=SKUS))
        values = available_to_sell(channel, products)
        now = {product.sku: values[product.pk] for product in products}
        assert {sku: value for sku, (value, _) in latest.items()} == now, code
        seen[code] = len(payloads)
    return seen


@pytest.mark.django_db(transaction=True)
def test_two_servers_and_two_workers_on_one_postgresql(warehouse, locations, settings, tmp_path):
    if connection.vendor != "postgresql":  # pragma: no cover - the marker skips it first
        pytest.skip("needs PostgreSQL: several servers share one database")
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    receiver = Receiver().start()
    fleet = Fleet(tmp_path)
    watcher = None
    try:
        shop = build_shop(warehouse, locations, receiver)
        watcher = ConnectionCount({connection.connection.info.backend_pid})
        deadlocks_before = deadlocks()
        began = time.monotonic()
        fleet.start()
        watcher.start()
        log, load_seconds = run_clients(fleet.ports, shop)
        assert fleet.alive() == [name for name, _ in fleet.processes], fleet.logs()
        assert wait_for(quiet, SETTLE_SECONDS, step=0.5), fleet.logs()
        wall = time.monotonic() - began
        watcher.done.set()
        watcher.join(5)
        fleet.stop()  # its backends report their statistics as they end
        assert wait_for(lambda: app_backends() == 0, 10), "the app's connections closed"
        found_deadlocks = deadlocks() - deadlocks_before
        statuses = check_answers(log)
        stock = check_stock()
        seen = check_webhooks(receiver, shop)
        slowest = max(entry[6] for entry in log)
        print(
            f"\n{len(log)} requests in {load_seconds:.1f} s (slowest {slowest:.2f} s); "
            f"orders at intake {dict(statuses)}; stock {stock}; webhooks {seen}; "
            f"at most {watcher.most} app connections; {wall:.1f} s from start to settled; "
            f"{found_deadlocks} deadlocks detected in PostgreSQL"
        )
        # Clients never see one (a lost deadlock is retried), but the lock order is meant to
        # make them impossible: one here means two code paths lock in different orders.
        assert found_deadlocks == 0
        assert watcher.most <= (2 * SERVERS + 2) * POOL_MAX, "the pools bound the connections"
    finally:
        if watcher is not None:
            watcher.done.set()
        fleet.stop()
        receiver.stop()
