"""kill -9 of gunicorn workers while they write loses nothing (issue 15's probe held it).

gunicorn serves as `make run` does (config/gunicorn.conf.py, DEBUG off) on a database of
its own, of the suite's kind (SQLite, or PostgreSQL in the PostgreSQL stage). Eight API
clients place orders; a worker is killed with SIGKILL every 1.5 s and the master starts
a new one. A client whose request died with its worker posts the same order again (the
API is idempotent by reference), as a shop's integration would. At the end every order
a client placed exists once, with its stock reserved once, and check_ledger agrees.
"""

import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.databases import server_database

ROOT = Path(settings.BASE_DIR)
CLIENTS, SECONDS, KILL_EVERY = 8, 10, 1.5
STOCK = 100_000

SEED = """
from inventory import ledger
from inventory.models import Product
from orders.channels.tokens import rotate_token
from orders.models import Channel, ChannelWarehouse
from warehouses.models import Location, Warehouse

warehouse = Warehouse.objects.create(code="WH1", name="Main")
bin1 = Location.objects.create(warehouse=warehouse, code="01", barcode="WH1-01")
product = Product.objects.create(sku="MUG-001", name="Mug", sell_price="9.90")
ledger.receive(product=product, location=bin1, quantity=STOCK, unit_cost="1.00")
channel = Channel.objects.create(code="WEB", name="Web")
ChannelWarehouse.objects.create(channel=channel, warehouse=warehouse)
print(rotate_token(channel))
""".replace("STOCK", str(STOCK))

CHECK = """
import json
from django.db.models import Sum
from inventory.models import ReservationEntry, StockLevel
from orders.models import SalesOrder

print(json.dumps({
    "refs": sorted(SalesOrder.objects.values_list("external_ref", flat=True)),
    "reserved": ReservationEntry.objects.aggregate(t=Sum("quantity"))["t"] or 0,
    "committed": StockLevel.objects.aggregate(t=Sum("committed"))["t"] or 0,
    "on_hand": StockLevel.objects.aggregate(t=Sum("on_hand"))["t"] or 0,
}))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(database_url: str, port: int) -> dict[str, str]:
    """`make run`'s settings (scripts/run.sh) on the database at ``database_url``."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY"}}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=database_url,
        SECRET_KEY=secrets.token_urlsafe(50),
        DEBUG="0",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SECURE_HSTS_SECONDS="0",
        PORT=str(port),
    )
    return env


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def workers(master: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    except OSError:
        return []


def wait_until_serving(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not serve within 60 s")


class Shop:
    """The API clients: each places orders and posts one again until it is answered."""

    def __init__(self, port: int, token: str):
        self.port, self.token = port, token
        self.placed: dict[str, int] = {}  # reference → quantity, once answered 200/201
        self.interrupted = 0
        self.unexpected: list[str] = []
        self.lock = threading.Lock()

    def post(self, ref: str, quantity: int) -> int | None:
        body = {
            "external_ref": ref,
            "customer": {"name": "Ada", "email": "", "address": "1 Row"},
            "lines": [{"sku": "MUG-001", "quantity": quantity, "unit_price": "9.90"}],
        }
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            conn.request("POST", "/api/v1/orders", json.dumps(body), headers)
            response = conn.getresponse()
            response.read()
            conn.close()
            return response.status
        except (OSError, http.client.HTTPException):
            with self.lock:
                self.interrupted += 1
            return None

    def client(self, n: int, deadline: float) -> None:
        i = 0
        while time.monotonic() < deadline:
            i += 1
            ref, quantity = f"K-{n}-{i}", 1 + (i % 3)
            for _ in range(20):
                status = self.post(ref, quantity)
                if status is not None:
                    break
                time.sleep(0.1)
            with self.lock:
                if status in (200, 201):
                    self.placed[ref] = quantity
                else:
                    self.unexpected.append(f"{ref}: {status}")


def kill_workers(master: int, deadline: float) -> int:
    killed = 0
    while time.monotonic() < deadline:
        time.sleep(KILL_EVERY)
        pids = workers(master)
        if pids:
            os.kill(pids[killed % len(pids)], signal.SIGKILL)
            killed += 1
    return killed


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
@pytest.mark.django_db
def test_killing_workers_mid_write_loses_no_order(tmp_path):
    with server_database(tmp_path) as url:
        kill_while_ordering(tmp_path, environment(url, free_port()))


def kill_while_ordering(tmp_path: Path, env: dict[str, str]) -> None:
    port = int(env["PORT"])
    manage(env, "migrate", "--no-input", "--verbosity", "0")
    token = manage(env, "shell", "-c", SEED).strip().splitlines()[-1]
    command = [sys.executable, "-m", "gunicorn", "--config", "config/gunicorn.conf.py"]
    with (tmp_path / "gunicorn.log").open("w") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        wait_until_serving(port)
        shop = Shop(port, token)
        deadline = time.monotonic() + SECONDS
        clients = [
            threading.Thread(target=shop.client, args=(n, deadline)) for n in range(CLIENTS)
        ]
        for thread in clients:
            thread.start()
        killed = kill_workers(server.pid, deadline)
        for thread in clients:
            thread.join(timeout=120)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"{killed} workers killed, {shop.interrupted} requests cut, {len(shop.placed)} orders")
    assert killed >= 4 and shop.interrupted >= 1, (killed, shop.interrupted)
    assert shop.unexpected == [] and shop.placed
    stored = json.loads(manage(env, "shell", "-c", CHECK).strip().splitlines()[-1])
    # Every order answered exists, once, with its units reserved once; no other order.
    assert sorted(shop.placed) == stored["refs"]
    assert stored["reserved"] == stored["committed"] == sum(shop.placed.values())
    assert stored["on_hand"] == STOCK
    assert "agree" in manage(env, "check_ledger")
