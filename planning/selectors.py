"""Reads the planning pages share: the latest plan, what it says to order, grouped by supplier.

Pages read the stored plan (``PlanRun``/``PlanLine``) and never recompute it.
"""

from datetime import timedelta
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Max,
    Sum,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from planning.models import NO_SUPPLIER_RANK, PlanLine, PlanRun

MONEY = DecimalField(max_digits=24, decimal_places=6)
LINE_COST = ExpressionWrapper(
    F("suggested_qty") * Coalesce("unit_cost", "supplier_product__unit_cost"),
    output_field=MONEY,
)
LEAD_TIME = Coalesce(
    "supplier_product__lead_time_days", "supplier_product__supplier__default_lead_time_days"
)


def latest_run() -> PlanRun | None:
    """The newest finished plan, the one every page shows."""
    return PlanRun.objects.filter(status=PlanRun.Status.DONE).order_by("-id").first()


def run_in_progress() -> PlanRun | None:
    """A plan being computed now, newer than the latest finished one (its progress is shown)."""
    return PlanRun.objects.filter(status=PlanRun.Status.RUNNING).order_by("-id").first()


def lines_to_order(run: PlanRun):
    """The run's lines with something to order, suppliers by name (lines without one last)."""
    return (
        PlanLine.objects.filter(run=run, suggested_qty__gt=0)
        .select_related("product", "warehouse", "supplier_product__supplier")
        # Suppliers by name through the stored rank (no joins: the plan_line_order_queue
        # index gives the page's keys in order).
        .order_by("supplier_rank", "warehouse_id", "product_id")
    )


def supplier_totals(lines, supplier_ids) -> dict:
    """Per supplier in ``supplier_ids`` (``None``: no supplier): lines, cost and lead time over
    all of ``lines`` (every page of it, not only the one shown)."""
    rows = (
        lines.filter(supplier_id__in=[s for s in supplier_ids if s])
        .order_by()
        .values("supplier_id")
        .annotate(count=Count("id"), cost=Sum(LINE_COST), lead_time=Max(LEAD_TIME))
    )
    totals = {row["supplier_id"]: row for row in rows}
    if None in supplier_ids:
        totals[None] = {"count": lines.filter(supplier_rank=NO_SUPPLIER_RANK).count()}
    return totals


def group_page(page_lines: list[PlanLine], totals: dict) -> list[dict]:
    """Group the page's lines by supplier, each group with its totals and expected arrival."""
    today = timezone.localdate()
    groups: list[dict] = []
    for line in page_lines:
        supplier = line.supplier_product.supplier if line.supplier_product else None
        line.cost = line_cost(line)
        if not groups or groups[-1]["supplier"] != supplier:
            total = totals.get(supplier.pk if supplier else None, {})
            lead_time = total.get("lead_time")
            arrival = None if lead_time is None else today + timedelta(days=lead_time)
            groups.append(
                {
                    "supplier": supplier,
                    "lines": [],
                    "count": total.get("count", 0),
                    "cost": total.get("cost") or Decimal(0),
                    "lead_time": lead_time,
                    "arrival": arrival,
                }
            )
        groups[-1]["lines"].append(line)
    return groups


def line_cost(line: PlanLine) -> Decimal | None:
    """Suggested quantity × unit cost (the plan's, else the supplier's price)."""
    cost = line.unit_cost
    if cost is None and line.supplier_product is not None:
        cost = line.supplier_product.unit_cost
    return None if cost is None else line.suggested_qty * cost
