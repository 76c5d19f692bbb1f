"""Run the measurements in their order and collect one result.

Imports models, so it is imported only after ``django.setup()`` (see bench.run).
"""

import argparse
import os
import platform
from datetime import UTC, datetime

from bench import channels
from bench.common import database_description
from bench.http_load import measure_http
from bench.ledger_load import measure_check_ledger, measure_ledger, measure_ledger_threads
from bench.pages import measure_pages, page_urls, pick_targets, report_urls
from bench.planning import measure_planning
from bench.scanning import measure_stations
from inventory.models import Product, StockLevel, StockMove


def has_catalog() -> bool:
    """Tell whether bench.generate has loaded a catalog into the database."""
    return Product.objects.exists()


def describe_run(size: str) -> dict:
    """Describe what is measured where: size, database, date, machine, Python, catalog."""
    counts = (
        f"{Product.objects.count():,} products, {StockMove.objects.count():,} moves, "
        f"{StockLevel.objects.count():,} balances"
    )
    return {
        "size": size,
        "database": database_description(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
        "python": platform.python_version(),
        "counts": counts,
    }


def measure_all(args: argparse.Namespace, database_url: str) -> dict:
    """Measure everything bench.run's options ask for; return the result to render."""
    result = describe_run(args.size)
    print(f"Measuring {args.size} on {result['database']} ({result['counts']})", flush=True)
    # First: the planning pages read the plan it stores (pick_targets needs it).
    result["planning"] = measure_planning(database_url)
    urls = page_urls(pick_targets())
    result["pages"] = measure_pages(urls, args.repeats)
    result["reports"] = measure_pages(report_urls(), min(args.repeats, 3))
    # Twice the page repeats: a p95 of 40 samples; 6 in the smoke run (--repeats 3).
    result["stations"] = measure_stations(2 * args.repeats)
    if not args.skip_http:
        result["http"] = measure_http(urls, database_url, args.http_seconds, args.users)
    if not args.skip_api:
        # Ledger calls below pay for the outbox rows of two webhook channels.
        channels.setup_channels()
    result["ledger"] = measure_ledger(args.ledger_ops)
    result["ledger_threads"] = measure_ledger_threads(args.threads, min(10.0, args.http_seconds))
    if not args.skip_api:
        clients = tuple(int(n) for n in args.api_clients.split(",") if n.strip())
        result["api"] = channels.measure(database_url, args.api_seconds, clients)
    # Last, so it also covers the orders the API took in.
    result["check_ledger"] = measure_check_ledger()
    return result
