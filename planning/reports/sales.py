"""Sales and margin per channel over the last N days (order lines, one grouped query)."""

from datetime import timedelta
from decimal import Decimal

import django_filters
from django.db.models import Count, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from orders.models import Channel, SalesOrder, SalesOrderLine
from planning.reports.base import MANAGERS, MONEY, Column, Report, keep, money

COUNTED = (*SalesOrder.ACTIVE_STATUSES, SalesOrder.Status.SHIPPED)  # not cancelled
SHIPPED = Q(quantity_shipped__gt=0)


def days_filter(default: int, label: str = "Last (days)"):
    return django_filters.NumberFilter(
        label=label, method=keep, initial=default, min_value=1, max_value=3650
    )


class ChannelSalesFilter(django_filters.FilterSet):
    channel = django_filters.ModelChoiceFilter(
        field_name="order__channel",
        queryset=Channel.objects.order_by("code"),
        to_field_name="code",
        empty_label="All channels",
    )
    days = days_filter(30)

    class Meta:
        model = SalesOrderLine
        fields = ["channel", "days"]


def sums():
    revenue = ExpressionWrapper(F("quantity") * F("unit_price"), output_field=MONEY)
    shipped_revenue = ExpressionWrapper(
        F("quantity_shipped") * F("unit_price"), output_field=MONEY
    )
    return {
        "orders": Count("order_id", distinct=True),
        "units": Coalesce(Sum("quantity"), 0),
        "revenue": Coalesce(Sum(revenue), 0, output_field=MONEY),
        "units_shipped": Coalesce(Sum("quantity_shipped"), 0),
        "shipped_revenue": Coalesce(Sum(shipped_revenue, filter=SHIPPED), 0, output_field=MONEY),
        "cogs": Coalesce(Sum("cost_of_goods", filter=SHIPPED), 0, output_field=MONEY),
    }


def channel_sales_rows(params):
    since = timezone.now() - timedelta(days=int(params["days"]))
    return (
        SalesOrderLine.objects.filter(order__status__in=COUNTED, order__created_at__gte=since)
        .values("order__channel__code", "order__channel__name")
        .annotate(**sums())
        .order_by("order__channel__code")
    )


def margin(row):
    return row["shipped_revenue"] - row["cogs"]


def margin_percent(row):
    if not row["shipped_revenue"]:
        return None
    return (100 * margin(row) / row["shipped_revenue"]).quantize(Decimal("0.1"))


def channel_totals(rows, params):
    # One row per channel (an order has one channel): the totals are the rows' sums.
    fields = ("orders", "units", "revenue", "units_shipped", "shipped_revenue", "cogs")
    total = dict.fromkeys(fields, 0)
    for row in rows:
        for name in fields:
            total[name] += row[name]
    return [
        ("Orders", total["orders"]),
        ("Units ordered", total["units"]),
        ("Sales", money(total["revenue"])),
        ("Sales shipped", money(total["shipped_revenue"])),
        ("Cost of goods shipped", money(total["cogs"])),
        ("Margin", money(margin(total))),
        ("Margin %", margin_percent(total)),
    ]


CHANNEL_SALES = Report(
    slug="channel_sales",
    title="Sales and margin per channel",
    permission=MANAGERS,
    filterset=ChannelSalesFilter,
    rows=channel_sales_rows,
    columns=[
        Column("Channel", lambda row: row["order__channel__code"]),
        Column("Name", lambda row: row["order__channel__name"]),
        Column("Orders", lambda row: row["orders"], number=True),
        Column("Units ordered", lambda row: row["units"], number=True),
        Column("Sales", lambda row: money(row["revenue"]), number=True),
        Column("Units shipped", lambda row: row["units_shipped"], number=True),
        Column("Sales shipped", lambda row: money(row["shipped_revenue"]), number=True),
        Column("Cost of goods", lambda row: money(row["cogs"]), number=True),
        Column("Margin", lambda row: money(margin(row)), number=True),
        Column("Margin %", margin_percent, number=True),
    ],
    rule=lambda params: (
        f"Orders created in the last {params['days']} days, cancelled orders left out. "
        "Sales = quantity × unit price of every line; margin = units shipped × unit price "
        "− cost of goods of those lines (FIFO layers consumed, or the dropship supplier's "
        "price), so unshipped lines count in sales but not in margin."
    ),
    totals=channel_totals,
)
