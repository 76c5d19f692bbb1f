"""Reports read from the latest stored plan: low stock, stockouts, overstock.

Every figure comes from the plan's lines (``PlanLine``: available, incoming, open
demand, reorder point, forecast, stockout days, unit cost), so the pages aggregate
nothing over the sales history and show what the nightly plan saw.
"""

import django_filters
from django.db.models import Count, ExpressionWrapper, F, FloatField, IntegerField, Q, Sum, Value
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils.http import urlencode

from orders.models import Supplier
from planning.models import PlanLine
from planning.reports.base import (
    BUYERS,
    MANAGERS,
    MONEY,
    Column,
    Report,
    keep,
    money,
    one_decimal,
)
from planning.selectors import latest_run
from warehouses.models import Warehouse

POSITION = ExpressionWrapper(
    F("available") + F("incoming") - F("open_demand"), output_field=IntegerField()
)


def plan_lines():
    """The latest finished plan's lines (none without a plan)."""
    run = latest_run()
    return PlanLine.objects.filter(run=run) if run else PlanLine.objects.none()


def with_names(lines, params=None):
    """What every plan report shows of a line, with the product, warehouse and supplier."""
    return lines.values(
        "id",
        "product_id",
        "product__sku",
        "product__name",
        "warehouse__code",
        "supplier__code",
        "available",
        "incoming",
        "open_demand",
        "reorder_point",
        "safety_stock",
        "suggested_qty",
        "forecast_daily",
        "stockout_days",
        "history_days",
        "unit_cost",
        "on_hand",
        "pattern",
        *lines.query.annotations,
    )


class PlanFilter(django_filters.FilterSet):
    warehouse = django_filters.ModelChoiceFilter(
        queryset=Warehouse.objects.order_by("code"),
        to_field_name="code",
        empty_label="All warehouses",
    )
    supplier = django_filters.ModelChoiceFilter(
        queryset=Supplier.objects.order_by("code"),
        to_field_name="code",
        empty_label="All suppliers",
    )

    class Meta:
        model = PlanLine
        fields = ["warehouse", "supplier"]


def product_link(row) -> str:
    return reverse("planning:product", args=[row["product__sku"]])


SKU = Column("SKU", lambda row: row["product__sku"], link=product_link)
NAME = Column("Product", lambda row: row["product__name"])
WAREHOUSE = Column("Warehouse", lambda row: row["warehouse__code"])
SUPPLIER = Column("Supplier", lambda row: row["supplier__code"] or "")
AVAILABLE = Column("Available", lambda row: row["available"], number=True)


# --- low stock --------------------------------------------------------------------------


def low_stock_rows(params):
    return (
        plan_lines()
        .annotate(position=POSITION)
        .filter(position__lt=F("reorder_point"))
        .order_by("product_id", "warehouse_id")
    )


def replenishment_link(row) -> str:
    query = {"warehouse": row["warehouse__code"]}
    if row["supplier__code"]:
        query["supplier"] = row["supplier__code"]
    return f"{reverse('planning:replenishment')}?{urlencode(query)}"


LOW_STOCK = Report(
    slug="low_stock",
    title="Low stock",
    permission=BUYERS,
    filterset=PlanFilter,
    rows=low_stock_rows,
    shape=with_names,
    columns=[
        SKU,
        NAME,
        WAREHOUSE,
        AVAILABLE,
        Column("Incoming", lambda row: row["incoming"], number=True),
        Column("Open demand", lambda row: row["open_demand"], number=True),
        Column("Position", lambda row: row["position"], number=True),
        Column("Reorder point", lambda row: row["reorder_point"], number=True),
        Column("Suggested qty", lambda row: row["suggested_qty"], number=True),
        Column("Supplier", lambda row: row["supplier__code"] or "", link=replenishment_link),
    ],
    rule=lambda params: (
        "A product is low in a warehouse when its position — available + incoming − open "
        "demand — is below its reorder point in the latest plan. The supplier link opens "
        "the replenishment page filtered to that warehouse and supplier."
    ),
)


# --- stockouts --------------------------------------------------------------------------


class StockoutFilter(PlanFilter):
    out_now = django_filters.BooleanFilter(
        field_name="available",
        lookup_expr="lte",
        method="only_out_now",
        label="Only out of stock now",
        widget=django_filters.widgets.BooleanWidget,
    )

    def only_out_now(self, queryset, name, value):
        return queryset.filter(available__lte=0) if value else queryset

    class Meta(PlanFilter.Meta):
        fields = ["warehouse", "supplier", "out_now"]


def stockout_rows(params):
    lost = ExpressionWrapper(F("forecast_daily") * F("stockout_days"), output_field=FloatField())
    return (
        plan_lines()
        .filter(Q(available__lte=0) | Q(stockout_days__gt=0))
        .annotate(lost_units=lost)
        .order_by("product_id", "warehouse_id")
    )


STOCKOUTS = Report(
    slug="stockouts",
    title="Stockouts",
    permission=BUYERS,
    filterset=StockoutFilter,
    rows=stockout_rows,
    shape=with_names,
    columns=[
        SKU,
        NAME,
        WAREHOUSE,
        AVAILABLE,
        Column("Out now", lambda row: "yes" if row["available"] <= 0 else "no"),
        Column("Stockout days", lambda row: row["stockout_days"], number=True),
        Column("Of days", lambda row: row["history_days"], number=True),
        Column("Forecast / day", lambda row: one_decimal(row["forecast_daily"]), number=True),
        Column("Est. units lost", lambda row: one_decimal(row["lost_units"]), number=True),
        SUPPLIER,
    ],
    rule=lambda params: (
        "Listed: products with no free stock now (available ≤ 0) or with stockout days in "
        "the latest plan's history window (days with no free stock and no demand served, "
        'the "Of days" column, 90 by default). Units lost is an estimate: the forecast '
        "demand per day × stockout days — what would have sold had stock been there."
    ),
)


# --- overstock --------------------------------------------------------------------------


class OverstockFilter(PlanFilter):
    cover_days = django_filters.NumberFilter(
        label="Cover above (days)", method=keep, initial=120, min_value=1, max_value=3650
    )

    class Meta(PlanFilter.Meta):
        fields = ["warehouse", "supplier", "cover_days"]


def overstock_rows(params):
    days = int(params["cover_days"])
    excess = ExpressionWrapper(
        F("available") - Value(float(days)) * F("forecast_daily"), output_field=FloatField()
    )
    return (
        plan_lines()
        .filter(forecast_daily__gt=0, available__gt=Value(float(days)) * F("forecast_daily"))
        .annotate(
            cover=ExpressionWrapper(
                F("available") / F("forecast_daily"), output_field=FloatField()
            ),
            excess_units=excess,
            tied_up=ExpressionWrapper(Cast(excess, MONEY) * F("unit_cost"), output_field=MONEY),
        )
        .order_by("product_id", "warehouse_id")
    )


def overstock_totals(rows, params):
    sums = rows.order_by().aggregate(count=Count("id"), value=Sum("tied_up"))
    return sums["count"], [("Value tied up above the cover", money(sums["value"] or 0))]


OVERSTOCK = Report(
    slug="overstock",
    title="Overstock",
    permission=MANAGERS,
    filterset=OverstockFilter,
    rows=overstock_rows,
    shape=with_names,
    columns=[
        SKU,
        NAME,
        WAREHOUSE,
        AVAILABLE,
        Column("Forecast / day", lambda row: one_decimal(row["forecast_daily"]), number=True),
        Column("Days of cover", lambda row: one_decimal(row["cover"]), number=True),
        Column("Units above the cover", lambda row: one_decimal(row["excess_units"]), number=True),
        Column("Unit cost", lambda row: money(row["unit_cost"]), number=True),
        Column("Value tied up", lambda row: money(row["tied_up"]), number=True),
        SUPPLIER,
    ],
    rule=lambda params: (
        f"Days of cover = available ÷ forecast demand per day (latest plan). Listed: cover "
        f"above {params['cover_days']} days — demand was overestimated when the stock was "
        f"bought. Value tied up = units above {params['cover_days']} days of cover × the "
        "plan's unit cost (the preferred supplier's price). Products with no forecast "
        "demand are in the slow movers report."
    ),
    totals=overstock_totals,
)


# --- slow movers and dead stock ---------------------------------------------------------


class SlowFilter(PlanFilter):
    cover_days = django_filters.NumberFilter(
        label="Slow: cover above (days)", method=keep, initial=365, min_value=1, max_value=3650
    )

    class Meta(PlanFilter.Meta):
        fields = ["warehouse", "supplier", "cover_days"]


def slow_rows(params):
    days = float(params["cover_days"])
    dead = Q(pattern="none")
    slow = Q(forecast_daily__gt=0, on_hand__gt=Value(days) * F("forecast_daily"))
    return (
        plan_lines()
        .filter(on_hand__gt=0)
        .filter(dead | slow)
        .annotate(
            stock_value=ExpressionWrapper(
                Cast("on_hand", MONEY) * F("unit_cost"), output_field=MONEY
            )
        )
        .order_by("product_id", "warehouse_id")
    )


def slow_totals(rows, params):
    sums = rows.order_by().aggregate(count=Count("id"), value=Sum("stock_value"))
    return sums["count"], [("Value on hand", money(sums["value"] or 0))]


def slow_state(row) -> str:
    return "dead" if row["pattern"] == "none" else "slow"


def slow_cover(row):
    if not row["forecast_daily"]:
        return None
    return one_decimal(row["on_hand"] / row["forecast_daily"])


SLOW_MOVERS = Report(
    slug="slow_movers",
    title="Slow movers and dead stock",
    permission=MANAGERS,
    filterset=SlowFilter,
    rows=slow_rows,
    shape=with_names,
    columns=[
        SKU,
        NAME,
        WAREHOUSE,
        Column("State", slow_state),
        Column("On hand", lambda row: row["on_hand"], number=True),
        Column("Forecast / day", lambda row: one_decimal(row["forecast_daily"]), number=True),
        Column("Days of cover", slow_cover, number=True),
        Column("Days of history", lambda row: row["history_days"], number=True),
        Column("Unit cost", lambda row: money(row["unit_cost"]), number=True),
        Column("Value on hand", lambda row: money(row["stock_value"]), number=True),
        SUPPLIER,
    ],
    rule=lambda params: (
        "From the latest plan, products with stock on hand. Dead stock: no demand at all in "
        "the plan's demand history (its window is 90 days unless a policy asks for more; "
        '"Days of history" shows how much the product has). Slow mover: the stock on hand '
        f"would last more than {params['cover_days']} days at the forecast demand. Value = "
        "units on hand × the plan's unit cost (the preferred supplier's price)."
    ),
    totals=slow_totals,
)
