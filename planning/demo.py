"""The demo's planning: its sales history as imported demand, a few policies, one plan.

``seed_demo`` (orders) writes 90 days of stock history whose shipments are what the
demo shop sold, but only a handful of sales orders. This step, run after it by
``manage.py seed_plan_demo`` (``make run`` calls it on a fresh database), records those
shipments as ``ImportedDemand`` — as ``import_sales`` would load a shop's past orders —
sets a few buyer policies so every kind appears (JIT, min / max, a manual buffer), and
computes the first plan. Planning sits above orders in the layers, so orders cannot
call it; the run script does.
"""

from datetime import timedelta

from django.db.models import Sum
from django.db.models.functions import TruncDate

from inventory.models import StockMove
from planning.models import ImportedDemand, PlanLine, PlanRun, Policy
from planning.plan import run_plan
from planning.snapshots import backfill

SOURCE = "demo: shipments of the stock history"


def demand_from_shipments(source: str = SOURCE, batch: int = 5_000) -> int:
    """Record every shipment as demand on its day and warehouse; return the rows written."""
    rows = (
        StockMove.objects.filter(kind=StockMove.Kind.SHIPMENT, from_location__isnull=False)
        .annotate(day=TruncDate("created_at"))
        .order_by()
        .values_list("product_id", "from_location__warehouse_id", "day")
        .annotate(units=Sum("quantity"))
        .iterator(chunk_size=10_000)
    )
    written = 0
    pending = []
    for product_id, warehouse_id, day, units in rows:
        pending.append(
            ImportedDemand(
                product_id=product_id,
                warehouse_id=warehouse_id,
                day=day,
                quantity=units,
                source=source,
            )
        )
        if len(pending) == batch:
            ImportedDemand.objects.bulk_create(pending)
            written += len(pending)
            pending = []
    ImportedDemand.objects.bulk_create(pending)
    return written + len(pending)


def seed_policies(run: PlanRun) -> int:
    """Give a few products JIT, min / max and manual-buffer policies; return how many.

    Chosen from the first plan so each kind has something to show: JIT where open
    demand exceeds what is there and coming, min / max and manual where a minimum or a
    buffer just above what is held makes an order.
    """
    lines = PlanLine.objects.filter(run=run, policy=Policy.Kind.SAFETY_STOCK).order_by(
        "-forecast_daily", "product_id", "warehouse_id"
    )
    short = [
        line for line in lines.filter(open_demand__gt=0) if line.open_demand > line.available
    ][:2]
    taken = {line.pk for line in short}
    others = [line for line in lines.filter(available__gt=0)[20:40] if line.pk not in taken]
    policies = [
        Policy(product_id=line.product_id, warehouse_id=line.warehouse_id, kind=Policy.Kind.JIT)
        for line in short
    ]
    for index, line in enumerate(others[:4]):
        held = line.available
        if index < 2:
            kind, extra = Policy.Kind.MIN_MAX, {"minimum": held + 5, "maximum": held * 2 + 20}
        else:
            kind, extra = Policy.Kind.MANUAL, {"manual_buffer": held + 10}
        policies.append(
            Policy(product_id=line.product_id, warehouse_id=line.warehouse_id, kind=kind, **extra)
        )
    Policy.objects.bulk_create(policies)
    return len(policies)


def seed_plan_demo() -> PlanRun | None:
    """Load the demo's demand and policies and run the plan (None if done before)."""
    if ImportedDemand.objects.filter(source=SOURCE).exists() or PlanRun.objects.exists():
        return None
    demand_from_shipments()
    first = run_plan()
    if first.status != PlanRun.Status.DONE:
        return first
    seed_policies(first)
    run = run_plan()
    backfill(90)  # the value chart's 90 days (the plan wrote today's)
    return run


def history_span() -> timedelta | None:
    """How far the demo's demand history reaches back (for the summary line)."""
    days = ImportedDemand.objects.filter(source=SOURCE).order_by("day")
    first, last = (
        days.values_list("day", flat=True).first(),
        days.values_list("day", flat=True).last(),
    )
    return (last - first) if first and last else None
