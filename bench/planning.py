"""The nightly plan at the generated size: ``manage.py plan`` wall time and peak memory.

The generator writes a year of ledger events but no sales orders, so the first run
records the scenario's shipments as demand history (``ImportedDemand``, as
``import_sales`` would load a shop's past order lines; not timed). Then ``manage.py
plan`` runs in its own process, as cron or the task worker would run it: wall time,
its peak RSS (``ru_maxrss`` of that child from ``os.wait4``), its stage timings and
what it stored. Target at ``large``: ≤ 60 s on 2 cores and ≤ 1 GB.
"""

import os
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal

from bench.common import ROOT
from inventory.models import Product
from orders.models import Supplier, SupplierProduct
from planning.demo import demand_from_shipments
from planning.models import ImportedDemand, InventorySnapshot, PlanLine, PlanRun

SOURCE = "bench: shipments of the generated year"
SUPPLIERS = 200  # each product gets a preferred offer from one of them, as a shop would have


def prepare_offers() -> int:
    """Give every product a preferred supplier offer (once; not timed); return their count.

    Without offers every suggestion is "no supplier" and the replenishment page would be
    measured without its supplier groups and totals.
    """
    if SupplierProduct.objects.filter(supplier__code__startswith="BENCH-S").exists():
        return SupplierProduct.objects.filter(supplier__code__startswith="BENCH-S").count()
    suppliers = Supplier.objects.bulk_create(
        Supplier(code=f"BENCH-S{i:03d}", name=f"Bench supplier {i:03d}", default_lead_time_days=7)
        for i in range(SUPPLIERS)
    )
    offers = (
        SupplierProduct(
            supplier=suppliers[product_id % SUPPLIERS],
            product_id=product_id,
            unit_cost="2.50",
            lead_time_days=3 + product_id % 12,
            minimum_order_quantity=1 + product_id % 3 * 5,
            pack_size=(1, 6, 12)[product_id % 3],
            preferred=True,
        )
        for product_id in Product.objects.order_by("id").values_list("id", flat=True).iterator()
    )
    return len(SupplierProduct.objects.bulk_create(offers, batch_size=5_000))


def prepare_demand() -> dict:
    """Load the shipments as demand history once; return rows and seconds taken."""
    started = time.perf_counter()
    if ImportedDemand.objects.filter(source=SOURCE).exists():
        return {"rows": ImportedDemand.objects.filter(source=SOURCE).count(), "seconds": 0.0}
    rows = demand_from_shipments(source=SOURCE, batch=10_000)
    return {"rows": rows, "seconds": round(time.perf_counter() - started, 1)}


def run_plan_process(database_url: str) -> dict:
    """Run ``manage.py plan`` in a child process; return wall s, peak RSS MB and its output."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "0",
    }
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "manage.py", "plan"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    return {
        "exit": child.returncode,
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),  # kilobytes on Linux
        "output": _stages(output),
    }


def _stages(output: str) -> list[str]:
    """The progress lines, with the batches of "writing plan lines" folded to the last."""
    lines = [line.strip() for line in output.strip().splitlines()]
    kept = [
        line
        for index, line in enumerate(lines)
        if "writing plan lines (" not in line
        or index + 1 == len(lines)
        or "writing plan lines (" not in lines[index + 1]
    ]
    return kept[-12:]


def backfill_snapshots(days: int = 90) -> int:
    """Give the value chart its 90 days: copies of the plan's snapshot, 0.2 % lower a day back.

    Replaying the ledger for each past day (``planning.snapshots.backfill``) takes about
    6 s a day at ``large``; the pages read the rows the same way whatever their values.
    """
    latest = InventorySnapshot.objects.filter(warehouse__isnull=True).order_by("-day").first()
    if latest is None:
        return 0
    stored = InventorySnapshot.objects.filter(warehouse__isnull=True)
    have = set(stored.values_list("day", flat=True))
    rows = []
    for back in range(1, days):
        day = latest.day - timedelta(days=back)
        if day not in have:
            factor = Decimal(1) - Decimal("0.002") * back
            rows.append(
                InventorySnapshot(
                    day=day,
                    value_fifo=(latest.value_fifo * factor).quantize(Decimal("0.01")),
                    value_average=(latest.value_average * factor).quantize(Decimal("0.01")),
                    units=latest.units,
                )
            )
    InventorySnapshot.objects.bulk_create(rows)
    return len(rows)


def measure_planning(database_url: str) -> dict:
    """Prepare demand, time the plan, and describe what it stored."""
    offers = prepare_offers()
    demand = prepare_demand()
    print(f"  planning: {offers:,} preferred supplier offers", flush=True)
    print(f"  planning: {demand['rows']:,} demand rows ready; running manage.py plan", flush=True)
    process = run_plan_process(database_url)
    backfill_snapshots()
    run = PlanRun.objects.order_by("-id").first()
    lines = PlanLine.objects.filter(run=run)
    return {
        **process,
        "demand_rows": demand["rows"],
        "demand_seconds": demand["seconds"],
        "status": run.status if run else "none",
        "message": run.message if run else "",
        "lines": lines.count(),
        "to_order": lines.filter(suggested_qty__gt=0).count(),
    }
