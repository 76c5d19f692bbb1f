"""Measure pages, the ledger and check_ledger on a generated catalog.

    python -m bench.run --size small|medium|large [--database-url URL] [--out BENCHMARKS.md]
                        [--http-seconds 20] [--users 8] [--skip-http]

Run ``python -m bench.generate`` with the same size and database first. Prints a
markdown report, writes it into --out (replacing the section for this size and
database) and writes the raw numbers as JSON next to it.
"""

import argparse
import json
import os
import platform
import random
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import database_description, default_database_url, gunicorn, setup_django
from bench.scenario import SIZES

# Targets from the benchmark issue; a miss is reported, not fatal.
PAGE_P95_MS = 150
LEDGER_P95_MS = 10
CHECK_LEDGER_S = 30
WORKER_RSS_MB = 150
BENCH_USER = "bench-manager"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summarize(samples_ms: list[float]) -> dict:
    return {
        "n": len(samples_ms),
        "p50_ms": round(percentile(samples_ms, 50), 2),
        "p95_ms": round(percentile(samples_ms, 95), 2),
        "max_ms": round(max(samples_ms), 2) if samples_ms else None,
    }


# --- what to measure ----------------------------------------------------------------


def bench_user():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=BENCH_USER, defaults={"is_staff": True, "is_superuser": True}
    )
    if created:
        user.set_unusable_password()
        user.save()
        user.groups.add(Group.objects.get(name="manager"))
    return user


def pick_targets() -> dict:
    """Choose the objects the pages are measured on: the fastest mover, a zone, a full bin."""
    from django.db.models import Count

    from inventory.models import Product, StockLevel, StockMove
    from warehouses.models import Location

    fastest = (
        StockMove.objects.filter(kind=StockMove.Kind.SHIPMENT)
        .order_by()
        .values("product_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    product = Product.objects.get(pk=fastest["product_id"]) if fastest else Product.objects.first()
    zone = Location.objects.filter(depth=0, kind="storage").order_by("path").first()
    full_bin = (
        StockLevel.objects.filter(on_hand__gt=0)
        .order_by()
        .values("location_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    location = Location.objects.get(pk=full_bin["location_id"]) if full_bin else zone
    word = product.name.split()[0].lower()
    return {"product": product, "zone": zone, "bin": location, "word": word}


def page_urls(targets: dict) -> dict[str, str]:
    from django.urls import reverse

    product, zone, location = targets["product"], targets["zone"], targets["bin"]
    return {
        "dashboard": reverse("dashboard"),
        "product list": reverse("product_list"),
        "product list, search": f"{reverse('product_list')}?q={targets['word']}",
        "product list, filter": f"{reverse('product_list')}?tracking=lot_expiry&active=true",
        "product detail (fastest mover)": reverse("product_detail", args=[product.sku]),
        "stock list, one zone": f"{reverse('stock_list')}?location={zone.barcode}",
        "location page (full bin)": reverse("location_detail", args=[location.barcode]),
        "admin StockMove changelist": reverse("admin:inventory_stockmove_changelist"),
    }


def report_urls() -> dict[str, str]:
    """Reports that replay the ledger; measured apart from the pages with their targets."""
    from django.urls import reverse

    return {"valuation as of today (FIFO and average)": reverse("valuation_report")}


def measure_pages(urls: dict[str, str], repeats: int) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(bench_user())
    results = {}
    for name, url in urls.items():
        for _ in range(2):  # warm-up: caches, statement preparation
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"{name}: {url} answered {response.status_code}")
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            client.get(url)
            samples.append((time.perf_counter() - started) * 1000)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        results[name] = {"url": url, "queries": len(queries), **summarize(samples)}
    return results


def measure_ledger(operations: int) -> dict:
    """Latency of receive, transfer and ship on random untracked products with stock."""
    from inventory import ledger
    from inventory.models import Product, StockLevel
    from warehouses.models import Location

    rng = random.Random(5)
    levels = list(
        StockLevel.objects.filter(
            lot__isnull=True, on_hand__gte=20, location__kind="storage", product__active=True
        )
        .select_related("product", "location")
        .order_by("pk")[:2000]
    )
    bins = list(Location.objects.filter(kind="storage", depth__gte=1).order_by("pk")[:500])
    products = list(
        Product.objects.filter(tracking="none", fulfilment="stocked").order_by("pk")[:2000]
    )
    samples: dict[str, list[float]] = {"receive": [], "transfer": [], "ship": []}
    for _ in range(operations):
        product = rng.choice(products)
        started = time.perf_counter()
        ledger.receive(
            product=product,
            location=rng.choice(bins),
            quantity=rng.randint(5, 50),
            unit_cost="3.25",
        )
        samples["receive"].append((time.perf_counter() - started) * 1000)
    for _ in range(operations):
        level = rng.choice(levels)
        target = rng.choice(bins)
        if target.pk == level.location_id:
            continue
        started = time.perf_counter()
        try:
            ledger.transfer(
                product=level.product,
                from_location=level.location,
                to_location=target,
                quantity=1,
            )
        except ledger.errors.LedgerError:
            continue
        samples["transfer"].append((time.perf_counter() - started) * 1000)
    for _ in range(operations):
        level = rng.choice(levels)
        started = time.perf_counter()
        try:
            ledger.ship(product=level.product, location=level.location, quantity=1)
        except ledger.errors.LedgerError:
            continue
        samples["ship"].append((time.perf_counter() - started) * 1000)
    return {name: summarize(values) for name, values in samples.items()}


def measure_ledger_threads(threads: int, seconds: float) -> dict:
    """Throughput of mixed transfers and shipments from several threads at once."""
    from django.db import connection

    from inventory import ledger
    from inventory.models import StockLevel
    from warehouses.models import Location

    levels = list(
        StockLevel.objects.filter(lot__isnull=True, on_hand__gte=50, location__kind="storage")
        .select_related("product", "location")
        .order_by("pk")[:400]
    )
    bins = list(Location.objects.filter(kind="storage", depth__gte=1).order_by("pk")[:200])
    counts = {"ok": 0, "refused": 0, "errors": 0}
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    barrier = threading.Barrier(threads)

    def worker(n: int) -> None:
        rng = random.Random(n)
        ok = refused = failed = 0
        try:
            barrier.wait()
            while time.perf_counter() < deadline:
                level = rng.choice(levels)
                try:
                    if rng.random() < 0.5:
                        ledger.ship(product=level.product, location=level.location, quantity=1)
                    else:
                        target = rng.choice(bins)
                        if target.pk == level.location_id:
                            continue
                        ledger.transfer(
                            product=level.product,
                            from_location=level.location,
                            to_location=target,
                            quantity=1,
                        )
                    ok += 1
                except ledger.errors.LedgerError:
                    refused += 1
                except Exception:
                    failed += 1
        finally:
            connection.close()
            with lock:
                counts["ok"] += ok
                counts["refused"] += refused
                counts["errors"] += failed

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    return {"threads": threads, "ops_per_s": round(counts["ok"] / elapsed, 1), **counts}


def measure_check_ledger() -> dict:
    from inventory.integrity import find_differences

    started = time.perf_counter()
    problems = sum(1 for _ in find_differences())
    return {"seconds": round(time.perf_counter() - started, 2), "differences": problems}


# --- HTTP against gunicorn --------------------------------------------------------------


def session_cookie() -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    user = bench_user()
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def measure_http(urls: dict[str, str], database_url: str, seconds: float, users: int) -> dict:
    import http.client

    with gunicorn(database_url) as (port, server_pid):
        cookie = session_cookie()
        names = list(urls)
        latencies: dict[str, list[float]] = {name: [] for name in names}
        errors = []
        lock = threading.Lock()
        headers = {"Cookie": cookie, "Host": "127.0.0.1"}

        def get(conn, url):
            conn.request("GET", url, headers=headers)
            response = conn.getresponse()
            response.read()
            return response.status

        # Warm both workers up.
        warm = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for _ in range(2):
            for url in urls.values():
                get(warm, url)
        warm.close()

        deadline = time.perf_counter() + seconds

        def user_loop(n: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            i = n
            local: dict[str, list[float]] = {name: [] for name in names}
            while time.perf_counter() < deadline:
                name = names[i % len(names)]
                i += 1
                started = time.perf_counter()
                try:
                    status = get(conn, urls[name])
                except (OSError, http.client.HTTPException) as exc:
                    with lock:
                        errors.append(repr(exc))
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    continue
                if status != 200:
                    with lock:
                        errors.append(f"{name}: {status}")
                local[name].append((time.perf_counter() - started) * 1000)
            conn.close()
            with lock:
                for name, values in local.items():
                    latencies[name].extend(values)

        started = time.perf_counter()
        pool = [threading.Thread(target=user_loop, args=(n,)) for n in range(users)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        elapsed = time.perf_counter() - started
        everything = [v for values in latencies.values() for v in values]
        workers = children(server_pid)
        return {
            "users": users,
            "seconds": round(elapsed, 1),
            "requests": len(everything),
            "requests_per_s": round(len(everything) / elapsed, 1),
            "p95_ms": round(percentile(everything, 95), 1),
            "errors": len(errors),
            "first_errors": errors[:5],
            "per_page": {name: summarize(values) for name, values in latencies.items()},
            "worker_peak_rss_mb": [round(rss_kb(pid) / 1024, 1) for pid in workers],
        }


# --- report ---------------------------------------------------------------------------------


def mark(ok: bool) -> str:
    return "✅" if ok else "❌ miss"


def render(result: dict, baseline: dict | None = None) -> str:
    """Render the result as markdown; ``baseline`` is the small run on the same database."""
    base_pages = (baseline or {}).get("pages", {})
    base_ledger = (baseline or {}).get("ledger", {})
    lines = [
        f"## `{result['size']}` on {result['database']}",
        "",
        f"{result['date']} · {result['machine']} · Python {result['python']} · {result['counts']}",
        "",
        "### Pages (Django test client, after warm-up)",
        "",
        f"| page | p50 ms | p95 ms | max ms | queries | queries at small | "
        f"target p95 ≤ {PAGE_P95_MS} ms, same queries |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, row in result["pages"].items():
        small = base_pages.get(name, {}).get("queries", "–")
        same = small in ("–", row["queries"])
        lines.append(
            f"| {name} | {row['p50_ms']} | {row['p95_ms']} | {row['max_ms']} | "
            f"{row['queries']} | {small} | {mark(row['p95_ms'] <= PAGE_P95_MS and same)} |"
        )
    if result.get("reports"):
        lines += [
            "",
            "### Reports (purchasing/valuation issue; no target set, 3 runs each)",
            "",
            "| report | p50 ms | max ms | queries |",
            "|---|---:|---:|---:|",
        ]
        for name, row in result["reports"].items():
            lines.append(f"| {name} | {row['p50_ms']} | {row['max_ms']} | {row['queries']} |")
    http = result.get("http")
    if http:
        rss = ", ".join(str(v) for v in http["worker_peak_rss_mb"])
        worst_rss = max(http["worker_peak_rss_mb"] or [0])
        lines += [
            "",
            f"### HTTP: gunicorn, 2 workers, {http['users']} concurrent users, "
            f"{http['seconds']} s",
            "",
            f"{http['requests']} requests, **{http['requests_per_s']} requests/s**, "
            f"p95 {http['p95_ms']} ms, {http['errors']} errors; worker peak RSS {rss} MB "
            f"(target ≤ {WORKER_RSS_MB} MB: {mark(worst_rss <= WORKER_RSS_MB)})",
            "",
            "| page | p50 ms | p95 ms | max ms |",
            "|---|---:|---:|---:|",
        ]
        for name, row in http["per_page"].items():
            lines.append(f"| {name} | {row['p50_ms']} | {row['p95_ms']} | {row['max_ms']} |")
    lines += [
        "",
        "### Ledger",
        "",
        f"| operation | n | p50 ms | p95 ms | max ms | p95 at small | "
        f"target p95 ≤ {LEDGER_P95_MS} ms |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, row in result["ledger"].items():
        small = base_ledger.get(name, {}).get("p95_ms", "–")
        lines.append(
            f"| {name} | {row['n']} | {row['p50_ms']} | {row['p95_ms']} | {row['max_ms']} | "
            f"{small} | {mark(row['p95_ms'] <= LEDGER_P95_MS)} |"
        )
    if result.get("api"):
        lines += render_api(result["api"])
    threads = result["ledger_threads"]
    check = result["check_ledger"]
    lines += [
        "",
        f"Mixed transfers and shipments from {threads['threads']} threads: "
        f"**{threads['ops_per_s']} ops/s** ({threads['ok']} done, {threads['refused']} refused "
        f"for lack of stock, {threads['errors']} errors).",
        "",
        f"`check_ledger`: {check['seconds']} s, {check['differences']} differences "
        f"(target ≤ {CHECK_LEDGER_S} s at large: {mark(check['seconds'] <= CHECK_LEDGER_S)}).",
        "",
    ]
    return "\n".join(lines)


def render_api(api: dict) -> list[str]:
    lines = [
        "",
        "### Channel API (gunicorn, 2 workers)",
        "",
        "| order intake | orders | orders/s | p50 ms | p95 ms | units ordered | allocated "
        "| backordered | statuses |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run in api["intake"]:
        statuses = ", ".join(f"{k}: {v}" for k, v in run.get("statuses", {}).items())
        lines.append(
            f"| {run['clients']} clients, {run.get('seconds', 0)} s | {run['orders']} | "
            f"**{run.get('orders_per_s', 0)}** | {run.get('p50_ms', '–')} | "
            f"{run.get('p95_ms', '–')} | {run.get('ordered', 0)} | {run.get('allocated', 0)} | "
            f"{run.get('backordered', 0)} | {statuses} |"
        )
    over = api["oversell"]
    feed = api["inventory_feed"]
    hooks = api["webhooks"]
    lines += [
        "",
        f"Oversell check after intake: {over['levels_committed_over_on_hand']} balances commit "
        f"more than they hold; sales allocations {over['sales_allocations']} = reservation "
        f"journal {over['sales_reservations_in_journal']}: {mark(over['ok'])}.",
        "",
        f"`GET /api/v1/inventory`, every SKU: {feed['items']:,} items in {feed['pages']} pages "
        f"of {feed['page_size']}, **{feed['seconds']} s**, {feed['bytes']:,} bytes, page p95 "
        f"{feed['page_p95_ms']} ms; unchanged first page with If-None-Match: "
        f"{feed['not_modified_status']} in {feed['not_modified_ms']} ms.",
        "",
        f"Webhook outbox: {hooks['rows']:,} rows queued in {hooks['queue_seconds']} s, "
        f"delivered in {hooks['deliver_seconds']} s (**{hooks['rows_per_s']} rows/s**, "
        f"{hooks['posts']} POSTs, {hooks['items_received']:,} items received, "
        f"{hooks['lost']} lost).",
    ]
    return lines


def write_report(path: Path, result: dict, text: str) -> None:
    """Replace this size × database section of the report, keeping the others."""
    heading = f"## `{result['size']}` on {result['database'].split()[0]}"
    sections: list[str] = []
    header = "# Benchmarks\n\nWritten by `python -m bench.run`; see bench/README.md.\n"
    if path.exists():
        current = path.read_text()
        parts = current.split("\n## ")
        header = parts[0].rstrip() + "\n"
        for part in parts[1:]:
            section = "## " + part
            if not section.startswith(heading):
                sections.append(section.rstrip() + "\n")
    sections.append(text.rstrip() + "\n")
    sections.sort()
    path.write_text(header + "\n" + "\n".join(sections))
    data_path = path.with_suffix(".json")
    data = json.loads(data_path.read_text()) if data_path.exists() else {}
    data[f"{result['size']}/{result['database'].split()[0]}"] = result
    data_path.write_text(json.dumps(data, indent=2, default=str) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--database-url")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--ledger-ops", type=int, default=200)
    parser.add_argument("--http-seconds", type=float, default=20)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument(
        "--api-seconds", type=float, default=15, help="order intake duration per client count"
    )
    parser.add_argument(
        "--api-clients", default="8,32", help="concurrent API clients, comma-separated"
    )
    parser.add_argument("--skip-api", action="store_true")
    args = parser.parse_args(argv)

    database_url = args.database_url or default_database_url(args.size)
    setup_django(database_url)
    from inventory.models import Product, StockLevel, StockMove

    if not Product.objects.exists():
        print("No products: run python -m bench.generate first.", file=sys.stderr)
        return 2
    counts = (
        f"{Product.objects.count():,} products, {StockMove.objects.count():,} moves, "
        f"{StockLevel.objects.count():,} balances"
    )
    targets = pick_targets()
    urls = page_urls(targets)
    result = {
        "size": args.size,
        "database": database_description(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
        "python": platform.python_version(),
        "counts": counts,
    }
    print(f"Measuring {args.size} on {result['database']} ({counts})", flush=True)
    result["pages"] = measure_pages(urls, args.repeats)
    result["reports"] = measure_pages(report_urls(), min(args.repeats, 3))
    if not args.skip_http:
        result["http"] = measure_http(urls, database_url, args.http_seconds, args.users)
    if not args.skip_api:
        from bench import channels

        # Ledger calls below pay for the outbox rows of two webhook channels.
        channels.setup_channels()
    result["ledger"] = measure_ledger(args.ledger_ops)
    result["ledger_threads"] = measure_ledger_threads(args.threads, min(10.0, args.http_seconds))
    if not args.skip_api:
        from bench import channels

        clients = tuple(int(n) for n in args.api_clients.split(",") if n.strip())
        result["api"] = channels.measure(database_url, args.api_seconds, clients)
    # Last, so it also covers the orders the API took in.
    result["check_ledger"] = measure_check_ledger()
    baseline = None
    if args.out and args.size != "small" and args.out.with_suffix(".json").exists():
        previous = json.loads(args.out.with_suffix(".json").read_text())
        baseline = previous.get(f"small/{result['database'].split()[0]}")
    text = render(result, baseline)
    print(text)
    if args.out:
        write_report(args.out, result, text)
    failed = result["check_ledger"]["differences"] or result["ledger_threads"]["errors"]
    if result.get("http") and result["http"]["errors"]:
        failed = True
    api = result.get("api")
    if api and (
        not api["oversell"]["ok"]
        or any(run["server_errors"] or run["errors"] for run in api["intake"])
        or api["webhooks"]["lost"]
    ):
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
