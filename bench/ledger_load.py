"""Ledger latency and throughput, and the time check_ledger takes.

Imports models, so it is imported only after ``django.setup()`` (see bench.run).
"""

import random
import threading
import time

from django.db import connection

from bench.timing import run_concurrently, summarize
from inventory import ledger
from inventory.integrity import find_differences
from inventory.models import Product, StockLevel
from warehouses.models import Location


def measure_ledger(operations: int) -> dict:
    """Latency of receive, transfer and ship on random untracked products with stock."""
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

    elapsed = run_concurrently(worker, threads)
    return {"threads": threads, "ops_per_s": round(counts["ok"] / elapsed, 1), **counts}


def measure_check_ledger() -> dict:
    """Time a full check_ledger pass and count the differences it finds."""
    started = time.perf_counter()
    problems = sum(1 for _ in find_differences())
    return {"seconds": round(time.perf_counter() - started, 2), "differences": problems}
