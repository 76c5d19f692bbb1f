"""What a buffer costs: the cost curve of one plan line, as table rows and a server-drawn SVG.

Service levels sit at equal steps along the x axis (80 % … 99.9 % are far from evenly
spread), so the buttons under the chart, one per level in equal columns, line up with
the points without any inline style (strict CSP).
"""

from django.conf import settings

from planning import buffers
from planning.models import PlanLine

WIDTH, HEIGHT = 400, 220
TOP, BOTTOM = 24, 188  # the plot area's y range inside the view box


def order_quantity(line: PlanLine, review_period_days: int) -> float:
    """The usual order size: order-up-to minus the reorder point, else a review period's demand."""
    if line.order_up_to > line.reorder_point:
        return float(line.order_up_to - line.reorder_point)
    return max(1.0, line.forecast_daily * review_period_days)


def cost_rows(line: PlanLine, review_period_days: int) -> list[dict]:
    """The rows of ``buffers.cost_curve`` for the line's demand, lead time and unit cost."""
    unit_cost = line.unit_cost
    if unit_cost is None and line.supplier_product is not None:
        unit_cost = line.supplier_product.unit_cost
    return buffers.cost_curve(
        line.forecast_daily,
        line.sd_daily_demand,
        line.lead_time_days,
        line.sd_lead_time_days,
        float(unit_cost or 0),
        settings.STOCKROOM_HOLDING_COST_RATE,
        order_quantity(line, review_period_days),
    )


def for_line(line: PlanLine, policy) -> dict:
    """The cost curve of ``line`` under ``policy``, or why there is none."""
    try:
        rows = cost_rows(line, policy.review_period_days)
    except ValueError as exc:
        return {"points": [], "why_not": str(exc)}
    return chart(rows, float(policy.service_level))


def _y(value: float, low: float, high: float) -> float:
    span = (high - low) or 1.0
    return round(BOTTOM - (value - low) / span * (BOTTOM - TOP), 1)


def chart(rows: list[dict], current: float | None = None) -> dict:
    """Coordinates of the holding-cost and fill-rate lines and their points in the view box."""
    count = len(rows)
    if not count:
        return {"points": []}
    top_cost = max(row["yearly_holding_cost"] for row in rows) or 1.0
    low_fill = min(min(row["fill_rate"] for row in rows), 0.9)
    points = []
    for index, row in enumerate(rows):
        x = round((index + 0.5) * WIDTH / count, 1)
        level = round(row["service_level"] * 100, 2)
        points.append(
            {
                **row,
                "level": level,
                "x": x,
                "y_cost": _y(row["yearly_holding_cost"], 0, top_cost),
                "y_fill": _y(row["fill_rate"], low_fill, 1.0),
                "current": current is not None and abs(level - current) < 0.005,
            }
        )
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "bottom": BOTTOM,
        "top": TOP,
        "points": points,
        "cost_path": " ".join(f"{p['x']},{p['y_cost']}" for p in points),
        "fill_path": " ".join(f"{p['x']},{p['y_fill']}" for p in points),
        "top_cost": top_cost,
        "low_fill": low_fill,
    }
