"""The soak run: set the floor up, serve it as `make run` does, load it, then check it.

Imports models, so it is imported only after ``django.setup()`` (see bench.soak).
"""

import os
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from decimal import Decimal
from functools import partial
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import F, Max, Q

from bench.channels import (
    CHANNELS,
    Intake,
    order_skus,
    oversell_check,
    place_orders,
    setup_channels,
)
from bench.channels import warm_up as warm_up_api
from bench.common import ROOT, gunicorn
from bench.http_load import children
from bench.ledger_load import measure_check_ledger
from bench.scanning import destination_for
from bench.soak_actors import Browser, Floor, Receipt, Receiver, Tally, Transfer, clerk, manager
from bench.timing import run_concurrently
from inventory.models import Product, StockLevel
from orders.channels import webhooks
from orders.channels.availability import available_to_sell
from orders.channels.tokens import rotate_webhook_secret
from orders.models import (
    Channel,
    PurchaseOrderLine,
    StockOutbox,
    Supplier,
    SupplierProduct,
    WebhookDelivery,
)
from orders.purchasing import receiving
from orders.purchasing import services as purchasing

PASSWORD = "soak-password-not-secret"
SUPPLIER = "SOAK"
PAGES = ["/", "/products/", "/stock/", "/sales-orders/", "/purchase-orders/"]
RECEIPT_LINES = 10
ORDERED_PER_LINE = 1_000_000
TRANSFER_PAIRS = 100
Open = [WebhookDelivery.Status.PENDING, WebhookDelivery.Status.FAILED]


def soak_users(role: str, count: int) -> list[str]:
    """Create (or reuse) ``count`` users with the role's group and the soak password."""
    names = []
    group = Group.objects.get(name=role)
    for n in range(1, count + 1):
        user, _ = get_user_model().objects.get_or_create(username=f"soak-{role}-{n}")
        user.set_password(PASSWORD)
        user.is_active = True
        user.save()
        user.groups.set([group])
        names.append(user.username)
    return names


def clerk_orders(skus: list[str], clerks: list[str]) -> list[Receipt]:
    """One sent purchase order per clerk over the most-ordered untracked SKUs."""
    products = list(
        Product.objects.filter(sku__in=skus[: RECEIPT_LINES * 4], tracking=Product.Tracking.NONE)
    )[:RECEIPT_LINES]
    if not products:
        return []
    supplier, _ = Supplier.objects.get_or_create(code=SUPPLIER, defaults={"name": "Soak"})
    warehouse = StockLevel.objects.filter(product=products[0]).first().location.warehouse
    dock = receiving.receiving_location(warehouse)
    receipts = []
    for username in clerks:
        user = get_user_model().objects.get(username=username)
        order = purchasing.create_order(supplier=supplier, warehouse=warehouse, user=user)
        for product in products:
            SupplierProduct.objects.get_or_create(
                supplier=supplier, product=product, defaults={"unit_cost": Decimal("1.00")}
            )
            purchasing.set_line(order=order, product=product, quantity=ORDERED_PER_LINE, user=user)
        order = purchasing.mark_sent(order=order, user=user, note="soak")
        lines = list(order.lines.values_list("pk", flat=True))
        receipts.append(Receipt(f"/purchase-orders/{order.number}/receive/", lines, dock.barcode))
    return receipts


def transfer_pairs(skus: list[str], receipts: list[Receipt]) -> list[Transfer]:
    """Put-aways of what the clerks receive (dock to a bin of the product) and pairs of
    storage bins holding an ordered untracked SKU, for one-unit moves."""
    levels = (
        StockLevel.objects.filter(
            product__sku__in=skus[:500],
            product__tracking=Product.Tracking.NONE,
            lot__isnull=True,
            location__kind="storage",
            on_hand__gt=F("committed"),
        )
        .select_related("product", "location")
        .order_by("id")[:TRANSFER_PAIRS]
    )
    pairs = []
    for level in levels:
        target = destination_for(level)
        if target is not None and target.pk != level.location_id:
            pairs.append(Transfer(level.product.sku, level.location.barcode, target.barcode))
    if receipts:
        lines = PurchaseOrderLine.objects.filter(pk__in=receipts[0].lines)
        for line in lines.select_related("product"):
            level = StockLevel.objects.filter(
                product=line.product, location__kind="storage", lot__isnull=True
            ).select_related("location")
            home = level.order_by("id").first()
            if home is not None:
                dock = receipts[0].location
                pairs.append(Transfer(line.product.sku, dock, home.location.barcode, False))
    return pairs


def hook_channels(url: str) -> tuple[dict[str, str], dict[str, str]]:
    """Point the bench channels at the receiver; return their API tokens and signing secrets.

    Deliveries an earlier benchmark left failed are made due now, so none waits an hour.
    """
    tokens = setup_channels(url)
    channels = Channel.objects.filter(code__in=tokens)
    secrets = {channel.code: rotate_webhook_secret(channel) for channel in channels}
    webhooks.retry_now(WebhookDelivery.objects.filter(channel__in=channels, status__in=Open))
    return tokens, secrets


def memory_kb(pid: int) -> int:
    """The resident set size of ``pid`` now (VmRSS, kB; 0 when it has gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Sampler(threading.Thread):
    """Sample the RSS of the gunicorn workers and the task worker every ``seconds``."""

    def __init__(self, processes, seconds: float):
        super().__init__(daemon=True)
        self.processes, self.seconds = processes, seconds
        self.samples: list[dict[str, int]] = []
        self.stop = threading.Event()

    def sample(self) -> None:
        self.samples.append({name: memory_kb(pid) for name, pid in self.processes().items()})

    def run(self) -> None:
        while not self.stop.wait(self.seconds):
            self.sample()


@contextmanager
def db_worker(database_url: str):
    """Run one ``manage.py db_worker`` as `make run` does; yield its pid."""
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "bench.settings"}
    # As scripts/run.sh: the daily housekeeping run queued before the worker starts.
    subprocess.run(
        [sys.executable, "manage.py", "schedule_daily"],
        cwd=ROOT,
        env={**env, "DEBUG": "0"},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    command = [sys.executable, "manage.py", "db_worker", "--interval", "2", "--no-reload"]
    worker = subprocess.Popen([*command, "--verbosity", "0"], cwd=ROOT, env={**env, "DEBUG": "0"})
    try:
        yield worker.pid
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def undelivered(channels) -> int:
    """Outbox rows of ``channels`` not yet delivered, plus their open deliveries."""
    rows = StockOutbox.objects.filter(channel__in=channels).filter(
        Q(delivery__isnull=True) | Q(delivery__status__in=Open)
    )
    deliveries = WebhookDelivery.objects.filter(channel__in=channels, status__in=Open)
    return rows.count() + deliveries.count()


def webhook_differences(receiver: Receiver, channels, since_id: int) -> dict:
    """Compare the receiver's last value per channel × SKU with the available count now.

    Every SKU whose stock changed for a channel during the soak must have arrived.
    """
    missing, stale, checked = [], [], 0
    for channel in channels:
        changed = set(
            StockOutbox.objects.filter(channel=channel, id__gt=since_id).values_list(
                "product__sku", flat=True
            )
        )
        received = {sku for code, sku in receiver.latest if code == channel.code}
        products = list(Product.objects.filter(sku__in=changed | received))
        available = available_to_sell(channel, products)
        for product in products:
            checked += 1
            held = receiver.latest.get((channel.code, product.sku))
            if held is None:
                missing.append(f"{channel.code}/{product.sku}")
            elif held[1] != available[product.pk]:
                stale.append(f"{channel.code}/{product.sku}: {held[1]} ≠ {available[product.pk]}")
    return {"checked": checked, "missing": missing, "stale": stale}


def drain(receiver: Receiver, channels, since_id: int, seconds: float, retry_now: bool) -> dict:
    """Wait until the outbox is delivered and the receiver holds every current value.

    With ``retry_now`` a failed delivery is retried at once (the channel page's "retry
    now") instead of after its backoff, so a short smoke run need not wait 30 s.
    """
    started = time.perf_counter()
    result: dict = {}
    while time.perf_counter() - started < seconds:
        if retry_now:
            webhooks.retry_now(
                WebhookDelivery.objects.filter(
                    channel__in=channels, status=WebhookDelivery.Status.FAILED
                )
            )
        if undelivered(channels) == 0:
            result = webhook_differences(receiver, channels, since_id)
            if not result["missing"] and not result["stale"]:
                break
        time.sleep(1)
    else:
        result = webhook_differences(receiver, channels, since_id)
    result["left_undelivered"] = undelivered(channels)
    result["drain_seconds"] = round(time.perf_counter() - started, 1)
    result["ok"] = not (result["missing"] or result["stale"] or result["left_undelivered"])
    return result


def prepare(args, receiver_url: str) -> dict:
    """Users, channels, purchase orders and bins: everything the load needs, made first."""
    tokens, secrets = hook_channels(receiver_url)
    skus = order_skus()
    clerks = soak_users("clerk", args.clerks)
    receipts = clerk_orders(skus, clerks)
    return {
        "tokens": tokens,
        "secrets": secrets,
        "skus": skus,
        "scarce": order_skus(limit=20, scarce=True),
        "clerks": clerks,
        "managers": soak_users("manager", args.managers),
        "receipts": receipts,
        "transfers": transfer_pairs(skus, receipts),
        "outbox_start": StockOutbox.objects.aggregate(m=Max("id"))["m"] or 0,
    }


def load(port: int, setup: dict, args, tally: Tally) -> tuple[Intake, float]:
    """API clients, clerks and managers at once for ``args.minutes``; return the intake."""
    deadline = time.perf_counter() + args.minutes * 60
    run = f"soak{int(time.time())}"
    intake = Intake(port, setup["tokens"], setup["skus"], setup["scarce"], run, deadline)
    floor = Floor(
        port,
        tally,
        deadline,
        PASSWORD,
        setup["clerks"],
        setup["managers"],
        setup["receipts"],
        setup["transfers"],
        PAGES,
    )
    actors = [(partial(place_orders, intake), args.api_clients)]
    actors += [(partial(clerk, floor), len(floor.clerks))]
    actors += [(partial(manager, floor), len(floor.managers))]
    threads = [threading.Thread(target=run_concurrently, args=actor) for actor in actors]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return intake, time.perf_counter() - started


def warm_up(port: int, setup: dict) -> None:
    """Load every page and the API in both workers first, untimed (they import lazily)."""
    warm_up_api(port, setup["tokens"][CHANNELS[0][0]], f"soak{int(time.time())}")
    tally = Tally()
    for username, urls in (
        (setup["managers"][0], PAGES),
        (setup["clerks"][0], ["/stock/transfer/", *(r.url for r in setup["receipts"][:1])]),
    ):
        browser = Browser(port, tally)
        browser.log_in(username, PASSWORD)
        for url in urls:
            browser.request("warm-up", "GET", url)
        browser.close()
    if tally.errors:
        raise SystemExit(f"warm-up failed: {tally.errors[:3]}")


def say(text: str) -> None:
    """Tell the person waiting what the soak is doing (stderr; the report is stdout)."""
    print(f"[soak {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def soak(args, database_url: str) -> dict:
    """Run the whole soak and return its raw result (bench.soak renders and judges it)."""
    tally = Tally()
    say("preparing users, channels, purchase orders")
    with Receiver({}, args.fail_rate) as receiver:
        setup = prepare(args, receiver.url)
        receiver.secrets.update(setup["secrets"])
        channels = list(Channel.objects.filter(code__in=[code for code, *_ in CHANNELS]))
        with gunicorn(database_url) as (port, master), db_worker(database_url) as worker:

            def processes() -> dict[str, int]:
                found = {f"gunicorn worker {pid}": pid for pid in children(master)}
                return {**found, f"db_worker {worker}": worker}

            say("warming up gunicorn")
            warm_up(port, setup)
            say(f"load for {args.minutes:g} min")
            sampler = Sampler(processes, args.sample_seconds)
            sampler.start()
            intake, elapsed = load(port, setup, args, tally)
            sampler.stop.set()
            sampler.sample()
            say("load stopped; draining the webhook outbox")
            webhook = drain(
                receiver, channels, setup["outbox_start"], args.drain_seconds, args.drain_retry_now
            )
            say("stopping the servers")
        say("checking the ledger")
        return {
            "elapsed": elapsed,
            "intake": intake,
            "tally": tally,
            "memory": sampler.samples,
            "webhooks": {**webhook, **receiver.counts},
            "oversell": oversell_check(),
            "check_ledger": measure_check_ledger(),
            "receipt_orders": len(setup["receipts"]),
            "transfer_pairs": len(setup["transfers"]),
        }
