"""Channel API and webhook measurements (the channel issue).

- Order intake: N concurrent clients POST /api/v1/orders to gunicorn for S seconds
  (orders/s, p95, statuses), then prove nothing was oversold.
- The inventory feed: GET /api/v1/inventory for every SKU, page by page (time, bytes).
- The ceiling: the same clients against the same gunicorn request ``/healthz`` (the
  framework's floor) and the cheapest authenticated call (one SKU's inventory), so
  intake reads as a fraction of each.
- Webhook outbox delivery: every product of a channel queued, delivered to a local
  receiver (rows/s, items/s, deliveries).

Imports models, so it is imported only after ``django.setup()`` (see bench.run).
"""

import http.client
import json
import random
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.contrib.contenttypes.models import ContentType
from django.db.models import F, Sum

from bench.common import gunicorn
from bench.timing import percentile, run_concurrently
from inventory.models import ReservationEntry, StockLevel
from orders.channels import outbox, webhooks
from orders.channels.tokens import rotate_token
from orders.models import Allocation, Channel, ChannelWarehouse, SalesOrder, StockOutbox
from warehouses.models import Warehouse

CHANNELS = (
    # code, name, kind, warehouse order, buffer
    ("BWEB", "Bench web store", "web_store", ("WH1", "WH2"), 0),
    ("BMKT", "Bench marketplace", "marketplace", ("WH2", "WH1"), 2),
)
INVENTORY_PAGE = 1000
# What intake tallies of the lines of the orders it placed.
UNITS = ("ordered", "allocated", "backordered")
# The bench channels have a webhook, as a live shop would, so every ledger call pays
# for its outbox rows; nothing listens on the discard port and no worker runs during
# the measurements, so rows wait until measure_webhooks delivers them.
OFFLINE_HOOK = "http://127.0.0.1:9/stock"


def setup_channels(webhook_url: str = OFFLINE_HOOK) -> dict[str, str]:
    """Create (or reuse) the bench channels; return ``{code: fresh API token}``."""
    tokens = {}
    warehouses = {wh.code: wh for wh in Warehouse.objects.all()}
    for code, name, kind, order, buffer in CHANNELS:
        channel, created = Channel.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind, "buffer": buffer}
        )
        if created:
            for priority, wh_code in enumerate(order, start=1):
                if wh_code in warehouses:
                    ChannelWarehouse.objects.create(
                        channel=channel, warehouse=warehouses[wh_code], priority=priority
                    )
        if channel.webhook_url != webhook_url:
            channel.webhook_url = webhook_url
            channel.save(update_fields=["webhook_url"])
        tokens[code] = rotate_token(channel)
    return tokens


def order_skus(limit: int = 2000, scarce: bool = False) -> list[str]:
    """Stocked, active SKUs that have sellable stock, most stock first (deterministic).

    With ``scarce``, the ones with the least free stock first: clients that order them
    compete for the last units, so the oversell check has something to catch.
    """
    rows = (
        StockLevel.objects.filter(
            product__active=True,
            product__fulfilment="stocked",
            location__kind__in=("storage", "receiving"),
            on_hand__gt=F("committed"),
        )
        .order_by()
        .values("product__sku")
        .annotate(free=Sum(F("on_hand") - F("committed")))
        .order_by("free" if scarce else "-free", "product__sku")[:limit]
    )
    return [row["product__sku"] for row in rows]


def _headers(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Host": "127.0.0.1",
    }


def warm_up(port: int, token: str, run: str) -> None:
    """A few orders and feed pages first, so both workers have loaded the API code."""
    skus = order_skus(limit=4)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for n, sku in enumerate(skus * 2):
        body = {
            "external_ref": f"{run}-warm-{n}",
            "customer": {"name": "Warm up", "email": "", "address": "1 Bench Street"},
            "lines": [{"sku": sku, "quantity": 1, "unit_price": "1.00"}],
        }
        conn.request("POST", "/api/v1/orders", body=json.dumps(body), headers=_headers(token))
        conn.getresponse().read()
        conn.request("GET", "/api/v1/inventory?limit=10", headers=_headers(token))
        conn.getresponse().read()
    conn.close()


@dataclass
class Intake:
    """One intake run: what its clients order, and the tallies they add their counts to."""

    port: int
    tokens: dict[str, str]
    skus: list[str]
    scarce: list[str]
    run: str
    deadline: float
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    units: dict[str, int] = field(default_factory=lambda: dict.fromkeys(UNITS, 0))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, text: str) -> None:
        """Keep an error a client met."""
        with self.lock:
            self.errors.append(text)

    def add(self, latencies: list[float], units: dict[str, int], statuses: dict[int, int]):
        """Add one client's latencies, units and statuses."""
        with self.lock:
            self.latencies.extend(latencies)
            for key, value in units.items():
                self.units[key] += value
            for key, value in statuses.items():
                self.statuses[key] = self.statuses.get(key, 0) + value


def order_body(rng: random.Random, intake: Intake, n: int, i: int) -> str:
    """Write client ``n``'s ``i``-th order: 1–3 lines of 1–3 units, as JSON."""
    skus, scarce = intake.skus, intake.scarce
    # Skewed towards the first SKUs so clients compete for the same stock.
    lines = [
        {
            "sku": skus[min(int(rng.paretovariate(1.2)) - 1, len(skus) - 1)],
            "quantity": rng.randint(1, 3),
            "unit_price": "9.90",
        }
        for _ in range(rng.randint(1, 3))
    ]
    if scarce and i % 4 == 0:  # every fourth order also wants a nearly sold-out SKU
        lines.append({"sku": rng.choice(scarce), "quantity": 2, "unit_price": "9.90"})
    return json.dumps(
        {
            "external_ref": f"{intake.run}-{n}-{i}",
            "customer": {
                "name": f"Bench customer {n}",
                "email": f"c{n}@example.com",
                "address": "1 Bench Street\n12345 Loadtown",
            },
            "lines": lines,
        }
    )


def place_orders(intake: Intake, n: int) -> None:
    """Be client ``n``: post orders until the deadline, then add the counts to ``intake``."""
    rng = random.Random(f"{intake.run}-{n}")
    codes = sorted(intake.tokens)
    conn = http.client.HTTPConnection("127.0.0.1", intake.port, timeout=60)
    local_lat, local_units, i = [], dict.fromkeys(UNITS, 0), 0
    local_status: dict[int, int] = {}
    while time.perf_counter() < intake.deadline:
        i += 1
        code = codes[(n + i) % len(codes)]
        body = order_body(rng, intake, n, i)
        started = time.perf_counter()
        try:
            headers = _headers(intake.tokens[code])
            conn.request("POST", "/api/v1/orders", body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as exc:
            intake.error(repr(exc))
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", intake.port, timeout=60)
            continue
        local_lat.append((time.perf_counter() - started) * 1000)
        local_status[response.status] = local_status.get(response.status, 0) + 1
        if response.status == 201:
            order = json.loads(payload)
            for line in order["lines"]:
                local_units["ordered"] += line["quantity"]
                local_units["allocated"] += line["allocated"]
                local_units["backordered"] += line["backordered"]
        elif len(intake.errors) < 20:
            intake.error(f"{response.status}: {payload[:200]!r}")
    conn.close()
    intake.add(local_lat, local_units, local_status)


def measure_intake(port: int, tokens: dict[str, str], clients: int, seconds: float, run: str):
    """``clients`` threads post orders (1–3 lines of 1–3 units) as fast as answers come."""
    skus = order_skus()
    scarce = order_skus(limit=20, scarce=True)
    if not skus:
        return {"clients": clients, "orders": 0, "note": "no sellable stock"}
    deadline = time.perf_counter() + seconds
    intake = Intake(port, tokens, skus, scarce, run, deadline)
    elapsed = run_concurrently(partial(place_orders, intake), clients)
    statuses = intake.statuses
    created = statuses.get(201, 0)
    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "orders": created,
        "orders_per_s": round(created / elapsed, 1),
        "p50_ms": round(percentile(intake.latencies, 50), 1),
        "p95_ms": round(percentile(intake.latencies, 95), 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "server_errors": sum(v for k, v in statuses.items() if k >= 500),
        "errors": len(intake.errors),
        "first_errors": intake.errors[:5],
        **intake.units,
    }


def hammer(port: int, urls: list[str], headers: dict, clients: int, seconds: float) -> dict:
    """``clients`` threads GET ``urls`` round-robin for ``seconds``: requests/s, p50, p95."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        local, seen, i = [], {}, n
        while time.perf_counter() < deadline:
            i += 1
            started = time.perf_counter()
            try:
                conn.request("GET", urls[i % len(urls)], headers=headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                seen[0] = seen.get(0, 0) + 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                continue
            local.append((time.perf_counter() - started) * 1000)
            seen[response.status] = seen.get(response.status, 0) + 1
        conn.close()
        with lock:
            latencies.extend(local)
            for key, value in seen.items():
                statuses[key] = statuses.get(key, 0) + value

    elapsed = run_concurrently(client, clients)
    ok = statuses.get(200, 0)
    return {
        "requests_per_s": round(ok / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": sum(v for k, v in statuses.items() if k != 200),
    }


def ratio(part: float | None, whole: float | None) -> float | None:
    """``part / whole`` as a percentage (one decimal), None when either is missing."""
    return round(100 * part / whole, 1) if part and whole else None


def measure_ceiling(port: int, token: str, clients: int, seconds: float, intake: dict) -> dict:
    """``/healthz`` and the one-SKU GET under ``clients`` clients; intake as a share of each."""
    skus = order_skus(limit=200)
    health = hammer(port, ["/healthz"], {"Host": "127.0.0.1"}, clients, seconds)
    urls = [f"/api/v1/inventory?sku={sku}" for sku in skus] or ["/api/v1/inventory?limit=1"]
    one_sku = hammer(port, urls, _headers(token), clients, seconds)
    return {
        "clients": clients,
        "seconds": seconds,
        "healthz": health,
        "one_sku": one_sku,
        "intake_orders_per_s": intake.get("orders_per_s"),
        "intake_p95_ms": intake.get("p95_ms"),
        "one_sku_of_healthz_pct": ratio(one_sku["requests_per_s"], health["requests_per_s"]),
        "intake_of_one_sku_pct": ratio(intake.get("orders_per_s"), one_sku["requests_per_s"]),
        "intake_of_healthz_pct": ratio(intake.get("orders_per_s"), health["requests_per_s"]),
    }


def oversell_check() -> dict:
    """Nothing oversold: no balance commits more than it holds, and the sales orders'
    allocations equal what the reservation journal holds for sales orders."""
    over = StockLevel.objects.filter(committed__gt=F("on_hand")).count()
    negative = StockLevel.objects.filter(committed__lt=0).count()
    so_type = ContentType.objects.get_for_model(SalesOrder)
    journal = (
        ReservationEntry.objects.filter(document_type=so_type).aggregate(t=Sum("quantity"))["t"]
        or 0
    )
    allocated = Allocation.objects.aggregate(t=Sum("quantity"))["t"] or 0
    return {
        "levels_committed_over_on_hand": over,
        "levels_committed_negative": negative,
        "sales_reservations_in_journal": journal,
        "sales_allocations": allocated,
        "ok": over == 0 and negative == 0 and journal == allocated,
    }


def measure_inventory_feed(port: int, token: str) -> dict:
    """Walk GET /api/v1/inventory over every SKU; then one conditional request (ETag)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = _headers(token)
    cursor, pages, items, size, page_ms = None, 0, 0, 0, []
    first_etag = None
    started = time.perf_counter()
    while True:
        url = f"/api/v1/inventory?limit={INVENTORY_PAGE}" + (f"&cursor={cursor}" if cursor else "")
        t0 = time.perf_counter()
        conn.request("GET", url, headers=headers)
        response = conn.getresponse()
        body = response.read()
        page_ms.append((time.perf_counter() - t0) * 1000)
        if response.status != 200:
            raise SystemExit(f"inventory feed: {url} answered {response.status}: {body[:200]!r}")
        if first_etag is None:
            first_etag = response.getheader("ETag")
        data = json.loads(body)
        pages += 1
        items += len(data["items"])
        size += len(body)
        cursor = data.get("next_cursor")
        if not cursor:
            break
    elapsed = time.perf_counter() - started
    t0 = time.perf_counter()
    conn.request(
        "GET",
        f"/api/v1/inventory?limit={INVENTORY_PAGE}",
        headers={**headers, "If-None-Match": first_etag or ""},
    )
    response = conn.getresponse()
    response.read()
    conditional_ms = (time.perf_counter() - t0) * 1000
    conn.close()
    return {
        "items": items,
        "pages": pages,
        "page_size": INVENTORY_PAGE,
        "seconds": round(elapsed, 2),
        "bytes": size,
        "page_p95_ms": round(percentile(page_ms, 95), 1),
        "not_modified_status": response.status,
        "not_modified_ms": round(conditional_ms, 1),
    }


class _Receiver(BaseHTTPRequestHandler):
    received = 0
    items = 0
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        count = len(json.loads(body).get("items", []))
        with _Receiver.lock:
            _Receiver.received += 1
            _Receiver.items += count
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def measure_webhooks() -> dict:
    """Queue every product for one channel and deliver the outbox to a local receiver."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/stock"
        channel = Channel.objects.get(code=CHANNELS[0][0])
        channel.webhook_url = url
        channel.save(update_fields=["webhook_url"])
        # Deliver what intake left behind first, so the measurement is the full resync.
        while StockOutbox.objects.filter(channel=channel, delivery__isnull=True).exists():
            webhooks.deliver(channel)
        _Receiver.received = _Receiver.items = 0
        t0 = time.perf_counter()
        queued = outbox.resync_channel(channel)
        queue_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        rounds = 0
        while StockOutbox.objects.filter(channel=channel, delivery__isnull=True).exists():
            webhooks.deliver(channel)
            rounds += 1
            if rounds > 10_000:
                raise SystemExit("webhook delivery does not drain the outbox")
        elapsed = time.perf_counter() - t0
        channel.webhook_url = OFFLINE_HOOK
        channel.save(update_fields=["webhook_url"])
        return {
            "rows": queued,
            "queue_seconds": round(queue_s, 2),
            "deliver_seconds": round(elapsed, 2),
            "rows_per_s": round(queued / elapsed, 1) if elapsed else None,
            "posts": _Receiver.received,
            "items_received": _Receiver.items,
            "lost": queued - _Receiver.items,
        }
    finally:
        server.shutdown()
        server.server_close()


def measure(database_url: str, seconds: float, client_counts=(8, 32)) -> dict:
    """Everything above, in order: intake and the ceiling at each concurrency, the feed,
    webhooks."""
    tokens = setup_channels()
    result: dict = {"intake": [], "ceiling": []}
    run = f"b{int(time.time())}"
    with gunicorn(database_url) as (port, _):
        warm_up(port, tokens[CHANNELS[0][0]], run)
        for clients in client_counts:
            intake = measure_intake(port, tokens, clients, seconds, f"{run}-{clients}")
            result["intake"].append(intake)
            token = tokens[CHANNELS[0][0]]
            result["ceiling"].append(measure_ceiling(port, token, clients, seconds, intake))
        result["oversell"] = oversell_check()
        result["inventory_feed"] = measure_inventory_feed(port, tokens[CHANNELS[0][0]])
    result["webhooks"] = measure_webhooks()
    return result
