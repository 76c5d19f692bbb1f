"""The rules behind the dashboard's plan figures, in one place for the dashboard and reports.

All read the stored plan (one ``PlanRun``'s lines), never recompute it:

- below reorder point: a stocked line (not dropship) whose ``available`` is under its
  ``reorder_point`` (``reorder_point > 0``);
- stockout: a stocked line with nothing available (``available <= 0``) while there is
  demand for it (``forecast_daily > 0`` or backordered units);
- overstock: more than ``STOCKROOM_OVERSTOCK_DAYS`` days of cover (``available /
  forecast_daily``, for lines with a forecast); the value tied up is the units above
  that cover at the plan's unit cost;
- backorders: the plan's backordered units (``open_demand``);
- consumption value (for ABC): a year of the forecast at the plan's unit cost, summed over
  a product's warehouses.
"""

from decimal import Decimal

from django.conf import settings
from django.db.models import Count, ExpressionWrapper, F, FloatField, Q, Sum
from django.db.models.functions import Coalesce

from planning.models import PlanLine, PlanRun, Policy

STOCKED = ~Q(policy=Policy.Kind.DROPSHIP)


def overstock_days() -> int:
    """Days of cover above which stock is overstock (setting ``STOCKROOM_OVERSTOCK_DAYS``)."""
    return int(getattr(settings, "STOCKROOM_OVERSTOCK_DAYS", 180))


def below_rop_q() -> Q:
    return STOCKED & Q(reorder_point__gt=0, available__lt=F("reorder_point"))


def stockout_q() -> Q:
    return STOCKED & Q(available__lte=0) & (Q(forecast_daily__gt=0) | Q(open_demand__gt=0))


def overstock_q(days: int | None = None) -> Q:
    days = overstock_days() if days is None else days
    return STOCKED & Q(forecast_daily__gt=0, available__gt=F("forecast_daily") * days)


def excess_units(days: int | None = None) -> ExpressionWrapper:
    """Units above the overstock cover (meaningful on ``overstock_q`` lines)."""
    days = overstock_days() if days is None else days
    excess = F("available") - F("forecast_daily") * days
    return ExpressionWrapper(excess, output_field=FloatField())


def plan_figures(run: PlanRun | None, warehouse_id: int | None = None) -> dict:
    """Below-ROP SKUs, stockouts, overstock lines and value, backordered units (one query)."""
    if run is None:
        return {"skus_below_rop": None, "stockouts": None, "overstock_value": None}
    lines = PlanLine.objects.filter(run=run)
    if warehouse_id is not None:
        lines = lines.filter(warehouse_id=warehouse_id)
    row = lines.aggregate(
        skus_below_rop=Count("product", distinct=True, filter=below_rop_q()),
        stockouts=Count("product", distinct=True, filter=stockout_q()),
        overstock_lines=Count("pk", filter=overstock_q()),
        overstock_value=Sum(
            ExpressionWrapper(excess_units() * F("unit_cost"), output_field=FloatField()),
            filter=overstock_q(),
        ),
        backorders=Coalesce(Sum("open_demand"), 0),
    )
    row["overstock_value"] = Decimal(str(round(row["overstock_value"] or 0, 2)))
    return row


def consumption_values(run: PlanRun | None) -> dict[int, float]:
    """``{product_id: forecast units per year × unit cost}`` over the run's lines (one query)."""
    if run is None:
        return {}
    rows = (
        PlanLine.objects.filter(run=run, unit_cost__isnull=False)
        .order_by()
        .values_list("product_id")
        .annotate(
            value=Sum(
                ExpressionWrapper(
                    F("forecast_daily") * 365 * F("unit_cost"), output_field=FloatField()
                )
            )
        )
    )
    return {product_id: round(value or 0, 2) for product_id, value in rows}
