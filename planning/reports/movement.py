"""Reports over stock on hand: expiring lots, slow movers and dead stock (with value).

Unit cost, both reports: the average cost of the product's open FIFO cost layers
(remaining units × their cost ÷ remaining units) — what the units still in stock cost,
as the valuation report's FIFO reads it, spread evenly over the product's stock.
"""

from datetime import timedelta

import django_filters
from django.db.models import (
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Subquery,
    Sum,
)
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from inventory.models import CostLayer, StockLevel
from planning.reports.base import (
    MANAGERS,
    MONEY,
    Column,
    Report,
    count_until_next_move,
    keep,
    money,
)
from warehouses.models import Warehouse


def average_cost(product_ref: str = "product_id"):
    """The average cost of the product's open FIFO layers (a subquery per product)."""
    layers = (
        CostLayer.objects.filter(product_id=OuterRef(product_ref), remaining__gt=0)
        .order_by()
        .values("product_id")
        .annotate(
            # In floats: SQLite sums whole-number costs as integers and would divide
            # them as integers.
            cost=ExpressionWrapper(
                Cast(Sum(F("remaining") * F("unit_cost"), output_field=MONEY), FloatField())
                / Cast(Sum("remaining"), FloatField()),
                output_field=FloatField(),
            )
        )
        .values("cost")
    )
    return Subquery(layers, output_field=FloatField())


def days_filter(default: int, label: str):
    return django_filters.NumberFilter(
        label=label, method=keep, initial=default, min_value=1, max_value=3650
    )


def warehouse_filter(field_name: str):
    return django_filters.ModelChoiceFilter(
        field_name=field_name,
        queryset=Warehouse.objects.order_by("code"),
        to_field_name="code",
        empty_label="All warehouses",
    )


# --- expiring lots ----------------------------------------------------------------------


class ExpiringFilter(django_filters.FilterSet):
    warehouse = warehouse_filter("location__warehouse")
    days = days_filter(30, "Expiring within (days)")

    class Meta:
        model = StockLevel
        fields = ["warehouse", "days"]


def expiring_rows(params):
    limit = timezone.localdate() + timedelta(days=int(params["days"]))
    return StockLevel.objects.filter(on_hand__gt=0, lot__expires_on__lte=limit).order_by(
        "lot__expires_on", "id"
    )


def expiring_shape(levels, params):
    return (
        levels.values(
            "id",
            "on_hand",
            "product__sku",
            "product__name",
            "location__barcode",
            "location__kind",
            "location__warehouse__code",
            "lot__code",
            "lot__expires_on",
        )
        .annotate(unit_cost=average_cost())
        .annotate(
            value=ExpressionWrapper(F("on_hand") * F("unit_cost"), output_field=FloatField())
        )
    )


def action(name: str, row: dict, quantity: int, **extra) -> str:
    query = {
        "product": row["product__sku"],
        "location": row["location__barcode"],
        "lot": row["lot__code"],
        "quantity": quantity,
        **extra,
    }
    return f"{reverse(name)}?{urlencode(query)}"


def expiry_state(row) -> str:
    return "expired" if row["lot__expires_on"] < timezone.localdate() else "expiring"


def expiring_count(rows, params):
    """The rows counted once per ledger move, day and filter (``count_until_next_move``):
    counting ~90k held balances of expiring lots took most of the page at ``large``."""
    return count_until_next_move(rows, "expiring", params), []


def expiring_totals(rows, params):
    return [("Value", money(rows.order_by().aggregate(total=Sum("value"))["total"] or 0))]


EXPIRING = Report(
    slug="expiring",
    title="Expiring lots",
    permission=MANAGERS,
    filterset=ExpiringFilter,
    rows=expiring_rows,
    totals=expiring_count,
    shape=expiring_shape,
    columns=[
        Column("Expires", lambda row: row["lot__expires_on"]),
        Column("State", expiry_state),
        Column("SKU", lambda row: row["product__sku"]),
        Column("Product", lambda row: row["product__name"]),
        Column("Lot", lambda row: row["lot__code"]),
        Column("Warehouse", lambda row: row["location__warehouse__code"]),
        Column(
            "Location",
            lambda row: row["location__barcode"],
            link=lambda row: reverse("location_detail", args=[row["location__barcode"]]),
        ),
        Column("On hand", lambda row: row["on_hand"], number=True),
        Column("Unit cost", lambda row: money(row["unit_cost"]), number=True),
        Column("Value", lambda row: money(row["value"]), number=True),
        Column(
            "Write off",
            lambda row: "Write off",
            link=lambda row: action(
                "adjust_stock", row, -row["on_hand"], reason="Expired lot written off"
            ),
        ),
        Column(
            "Quarantine",
            lambda row: "Move",
            link=lambda row: action("transfer_stock", row, row["on_hand"]),
        ),
    ],
    rule=lambda params: (
        f"Stock of lots whose expiry date is within {params['days']} days from today, "
        "already expired lots included (marked). Value = units on hand × the product's "
        'average cost of its open FIFO cost layers. "Write off" opens the stock '
        'adjustment form filled with the lot and a negative quantity; "Move" opens the '
        "transfer form to move it to a quarantine location."
    ),
)
