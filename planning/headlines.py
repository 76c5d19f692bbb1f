"""The dashboard's plan figures, counted by the reports' own rules so a card and the report
it links to always agree.

Each figure runs a report (``planning.reports``) exactly as its page does with no filter
given — its default parameters, its rows, its totals — and keeps the count or the total:

- below reorder point: lines of the low-stock report (position < reorder point);
- stockouts: lines of the stockouts report;
- overstock value: the overstock report's "value tied up" total (default cover);
- expiring value: the expiring-lots report's rows' values as it shows them, added up
  (default 30 days, expired lots included, as the report lists them).

The nightly plan stores them with the snapshot (``planning.snapshots``), so the dashboard
reads one row. Also here: consumption value per product for ABC, and backordered units.
"""

from decimal import Decimal

from django.db.models import ExpressionWrapper, F, FloatField, Sum
from django.db.models.functions import Coalesce

from common.pages import filtered_rows
from planning.models import PlanLine, PlanRun
from planning.reports import movement, stock
from planning.reports.base import Report, money


def run_report(report: Report) -> tuple[int, list, object, dict]:
    """Count, totals, plain rows and parameters of ``report`` as its page computes them
    with no filter given (``planning.reports.base.report_view``)."""
    filterset = report.filterset(None)
    params = report.params(filterset)
    filterset.queryset = report.rows(params)
    plain = filtered_rows(filterset)
    totals = report.totals(plain, params) if report.totals else []
    count, totals = totals if isinstance(totals, tuple) else (None, totals)
    return (plain.count() if count is None else count), totals, plain, params


def expiring_value() -> Decimal:
    """The report's rows' values as it shows them (each rounded to cents), added up."""
    report = movement.EXPIRING
    _, _, plain, params = run_report(report)
    rows = report.shape(plain, params).order_by()
    values = (row["value"] for row in rows.iterator(chunk_size=5_000))
    return sum((money(value or 0) for value in values), Decimal(0))


def plan_figures(run: PlanRun | None) -> dict:
    """Figures of the latest plan by the reports' rules (the reports read the latest run)."""
    if run is None:
        return {
            "skus_below_rop": None,
            "stockouts": None,
            "overstock_value": None,
            "backorders": None,
        }
    _, overstock, _, _ = run_report(stock.OVERSTOCK)
    return {
        "skus_below_rop": run_report(stock.LOW_STOCK)[0],
        "stockouts": run_report(stock.STOCKOUTS)[0],
        "overstock_value": overstock[0][1],  # the report's one total: value tied up
        "backorders": PlanLine.objects.filter(run=run).aggregate(
            units=Coalesce(Sum("open_demand"), 0)
        )["units"],
    }


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
