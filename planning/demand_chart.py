"""Demand vs stock for one product: the last 90 days and the next 30, over all warehouses.

Series (units per day for demand and forecast, units for the rest):

- demand: what customers asked for each day (``planning.history``: sales orders and
  imported history), up to yesterday;
- on hand: end-of-day units held, reconstructed backwards from today's balances and the
  ledger's moves of those days (transfers net to zero);
- forecast: the latest plan's daily forecast, from today on;
- reorder point and safety stock: the latest plan's, drawn across the whole span.

Numbers of the plan are summed over the product's warehouses.
"""

from datetime import date, timedelta

import numpy as np
from django.db.models import Case, F, IntegerField, Q, Sum, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from inventory.models import Product, StockLevel, StockMove
from planning import charts, history
from planning.models import PlanLine, PlanRun

PAST_DAYS, FUTURE_DAYS = 90, 30
SERIES = ("demand", "on_hand", "forecast", "reorder_point", "safety_stock")
NAMES = {
    "demand": "Demand (units/day)",
    "on_hand": "On hand (units)",
    "forecast": "Forecast (units/day)",
    "reorder_point": "Reorder point",
    "safety_stock": "Safety stock",
}


def daily_demand(product: Product, today: date) -> list[float]:
    """Units asked for on each of the ``PAST_DAYS`` days before ``today``."""
    demand = history.load(today, days=PAST_DAYS, product_ids=[product.pk])
    if not len(demand.keys):
        return [0.0] * PAST_DAYS
    return demand.daily.sum(axis=0).tolist()


def daily_on_hand(product: Product, today: date) -> list[int]:
    """End-of-day units held on each of the ``PAST_DAYS`` days before ``today``."""
    start = today - timedelta(days=PAST_DAYS)
    now = StockLevel.objects.filter(product=product).aggregate(units=Sum("on_hand"))["units"] or 0
    signed = Case(
        When(Q(to_location__isnull=False) & Q(from_location__isnull=True), then=F("quantity")),
        When(Q(to_location__isnull=True) & Q(from_location__isnull=False), then=-F("quantity")),
        default=Value(0),
        output_field=IntegerField(),
    )
    rows = (
        StockMove.objects.filter(product=product, created_at__gte=history.day_start(start))
        .annotate(day=TruncDate("created_at"))
        .order_by()
        .values_list("day")
        .annotate(net=Sum(signed))
    )
    net = np.zeros(PAST_DAYS + 1, dtype=np.int64)  # the last slot: today so far
    for day, units in rows:
        index = min((day - start).days, PAST_DAYS)
        if index >= 0:
            net[index] += units or 0
    # End of day i = now minus everything that came in after day i.
    after = np.cumsum(net[::-1])[::-1]
    return [int(now - after[index + 1]) for index in range(PAST_DAYS)]


def plan_numbers(product: Product, run: PlanRun | None) -> dict:
    if run is None:
        return {"forecast_daily": None, "reorder_point": None, "safety_stock": None}
    row = PlanLine.objects.filter(run=run, product=product).aggregate(
        forecast_daily=Sum("forecast_daily"),
        reorder_point=Sum("reorder_point"),
        safety_stock=Sum("safety_stock"),
    )
    return row


def chart(product: Product, run: PlanRun | None, today: date | None = None) -> dict:
    """The five series on one day axis, the chart's coordinates and the table's rows."""
    today = today or timezone.localdate()
    days = [today - timedelta(days=PAST_DAYS - n) for n in range(PAST_DAYS)]
    days += [today + timedelta(days=n) for n in range(FUTURE_DAYS)]
    past, future = [None] * PAST_DAYS, [None] * FUTURE_DAYS
    plan = plan_numbers(product, run)
    forecast = plan["forecast_daily"]
    values = {
        "demand": daily_demand(product, today) + future,
        "on_hand": daily_on_hand(product, today) + future,
        "forecast": past + [None if forecast is None else round(forecast, 2)] * FUTURE_DAYS,
        "reorder_point": [plan["reorder_point"]] * len(days),
        "safety_stock": [plan["safety_stock"]] * len(days),
    }
    series = [
        {"key": key, "name": NAMES[key], "values": values[key]}
        for key in SERIES
        if any(value is not None for value in values[key])
    ]
    drawn = charts.line_chart([day.isoformat() for day in days], series)
    rows = [
        {"day": day, **{key: values[key][index] for key in SERIES}}
        for index, day in enumerate(days)
    ]
    return {"chart": drawn, "rows": rows, "plan": plan, "product": product}
