"""Stored plans for page tests: a finished PlanRun and its PlanLines, written directly.

The pages read what ``manage.py plan`` stores and never recompute, so these rows are
the pages' whole input.
"""

from decimal import Decimal

from django.utils import timezone

from planning.advisor import store_advice
from planning.models import NO_SUPPLIER_RANK, PlanLine, PlanRun, supplier_ranks


def plan_run(**fields) -> PlanRun:
    """A finished plan of today (``status``/``as_of`` may be overridden)."""
    now = timezone.now()
    defaults = {
        "as_of": timezone.localdate(),
        "status": PlanRun.Status.DONE,
        "finished_at": now,
        "stage": "done",
    }
    return PlanRun.objects.create(**{**defaults, **fields})


def plan_line(run: PlanRun, product, warehouse, supplier_product=None, **fields) -> PlanLine:
    """A safety-stock line needing ``suggested_qty`` (default 12) of ``product``."""
    defaults = {
        "policy": "safety_stock",
        "pattern": "smooth",
        "method": "ses",
        "alpha": 0.2,
        "forecast_daily": 4.2,
        "sd_daily_demand": 1.9,
        "history_days": 90,
        "lead_time_days": 7.0,
        "sd_lead_time_days": 1.5,
        "lead_time_receipts": 6,
        "service_level": 95.0,
        "z": 1.645,
        "safety_stock": 12,
        "reorder_point": 42,
        "order_up_to": 71,
        "on_hand": 30,
        "available": 30,
        "incoming": 0,
        "open_demand": 0,
        "suggested_qty": 12,
        "unit_cost": supplier_product.unit_cost if supplier_product else None,
        "backtest_mae": 1.1,
        "backtest_bias": -0.1,
        "naive_mae": 1.6,
        "naive_bias": 0.3,
    }
    line = PlanLine.objects.create(
        run=run,
        product=product,
        warehouse=warehouse,
        supplier_product=supplier_product,
        supplier=supplier_product.supplier if supplier_product else None,
        supplier_rank=(
            supplier_ranks()[supplier_product.supplier_id]
            if supplier_product
            else NO_SUPPLIER_RANK
        ),
        **{**defaults, **fields},
    )
    # What the run's writer does after its lines: store the advice (unless a test sets it).
    if "advice" not in fields:
        store_advice(run)
        line.refresh_from_db(fields=["advice"])
    return line


def money(value) -> Decimal:
    return Decimal(str(value))
