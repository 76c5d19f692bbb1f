"""Inventory turnover and days of inventory per product and overall, for the last N days.

Figures at cost, from the ledger (every move stores its cost) and the open FIFO layers:

- cost of goods sold (COGS) = cost of the shipment moves in the period;
- value at the end = the open FIFO layers now (remaining × their unit cost), read from each
  product's stored position (``ProductPosition.value``: the FIFO value after its last move,
  which ``check_ledger`` replays against the layers) — one row per product, not one per layer;
- value at the start = end − cost that came in during the period (receipts, positive
  adjustments and counts) + cost that went out (shipments, negative adjustments and
  counts); transfers change no value;
- average inventory = (start + end) ÷ 2 — the start/end approximation (a daily snapshot
  would be finer; none is stored on this branch);
- turnover = COGS ÷ average inventory; days of inventory = average inventory ÷ COGS ×
  days in the period.

The period starts N days before now, floored to the minute. A page reads these for its
50 products only (indexed subqueries per product); the overall line aggregates the period's
moves once and keeps the sums (Django's cache) under the ledger's last move and that minute:
the same key always means the same moves in the same window, so a kept line is exact.
"""

from datetime import timedelta

import django_filters
from django.core.cache import cache
from django.db.models import FloatField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce
from django.urls import reverse
from django.utils import timezone

from inventory import selectors
from inventory.models import Product, ProductPosition, StockMove
from planning.reports.base import MANAGERS, Column, Report, keep, money, one_decimal

FLOAT = FloatField()
INBOUND = Q(from_location__isnull=True, to_location__isnull=False)
OUTBOUND = Q(from_location__isnull=False, to_location__isnull=True)


class TurnoverFilter(django_filters.FilterSet):
    days = django_filters.NumberFilter(
        label="Period: last (days)", method=keep, initial=90, min_value=1, max_value=3650
    )
    sku = django_filters.CharFilter(label="SKU starts with", lookup_expr="istartswith")

    class Meta:
        model = Product
        fields = ["days", "sku"]


OVERALL_SECONDS = 60  # as the kept counts (base.COUNT_SECONDS)


def since_of(params):
    """N days before now, floored to the minute (the kept overall line's window)."""
    since = timezone.now() - timedelta(days=int(params["days"]))
    return since.replace(second=0, microsecond=0)


def moves_cost(since, condition: Q, product_ref: str = "pk"):
    moves = (
        StockMove.objects.filter(
            condition, product_id=OuterRef(product_ref), created_at__gte=since
        )
        .exclude(kind=StockMove.Kind.DROPSHIP)
        .order_by()
        .values("product_id")
        .annotate(cost=Cast(Sum("total_cost"), FloatField()))
        .values("cost")
    )
    return Coalesce(Subquery(moves, output_field=FloatField()), 0.0)


def value_now():
    """The product's FIFO value after its last move (0 when it never moved)."""
    position = ProductPosition.objects.filter(pk=OuterRef("pk")).values("value")
    return Coalesce(Cast(Subquery(position), FloatField()), 0.0)


def turnover_rows(params):
    return Product.objects.order_by("sku")


def shape(products, params):
    since = since_of(params)
    return products.values("id", "sku", "name").annotate(
        cogs=moves_cost(since, Q(kind=StockMove.Kind.SHIPMENT)),
        came_in=moves_cost(since, INBOUND),
        went_out=moves_cost(since, OUTBOUND),
        end=value_now(),
        period_days=Value(int(params["days"])),
    )


def figures(row: dict, days: int) -> dict:
    start = row["end"] - row["came_in"] + row["went_out"]
    average = (start + row["end"]) / 2
    turnover = row["cogs"] / average if average > 0 else None
    cover = average / row["cogs"] * days if row["cogs"] > 0 else None
    return {"start": start, "average": average, "turnover": turnover, "days": cover}


def overall(params) -> list[tuple[str, object]]:
    """The whole stock's turnover: the period's moves and the open layers, summed once."""
    row = overall_sums(since_of(params))
    result = figures(row, int(params["days"]))
    return [
        ("COGS", money(row["cogs"])),
        ("Value at the start", money(result["start"])),
        ("Value now", money(row["end"])),
        ("Average inventory", money(result["average"])),
        ("Turnover", None if result["turnover"] is None else round(result["turnover"], 2)),
        ("Days of inventory", one_decimal(result["days"])),
    ]


def overall_sums(since) -> dict:
    """COGS, cost in and out since ``since`` and the value now, for the whole stock.

    Kept under the ledger's last move and ``since`` (a minute): the moves in the window and
    the positions change only with a move, so a kept entry is exact for its key; the time
    limit bounds what no move id announces (a late PostgreSQL commit of a lower id).
    """
    key = f"turnover-overall:{since.isoformat()}:{selectors.ledger_version()}"
    row = cache.get(key)
    if row is None:
        moves = StockMove.objects.filter(created_at__gte=since).exclude(
            kind=StockMove.Kind.DROPSHIP
        )
        sums = moves.aggregate(
            cogs=Sum("total_cost", filter=Q(kind=StockMove.Kind.SHIPMENT)),
            came_in=Sum("total_cost", filter=INBOUND),
            went_out=Sum("total_cost", filter=OUTBOUND),
        )
        sums["end"] = ProductPosition.objects.aggregate(value=Sum("value"))["value"]
        row = {name: float(value or 0) for name, value in sums.items()}
        cache.set(key, row, OVERALL_SECONDS)
    return row


def per_product(key: str):
    def value(row):
        number = figures(row, row["period_days"])[key]
        if key == "turnover":
            return None if number is None else round(number, 2)
        return money(number) if key in ("start", "average") else one_decimal(number)

    return value


TURNOVER = Report(
    slug="turnover",
    title="Inventory turnover",
    permission=MANAGERS,
    filterset=TurnoverFilter,
    rows=turnover_rows,
    shape=shape,
    columns=[
        Column(
            "SKU",
            lambda row: row["sku"],
            link=lambda row: reverse("product_detail", args=[row["sku"]]),
        ),
        Column("Product", lambda row: row["name"]),
        Column("COGS", lambda row: money(row["cogs"]), number=True),
        Column("Value at the start", per_product("start"), number=True),
        Column("Value now", lambda row: money(row["end"]), number=True),
        Column("Average inventory", per_product("average"), number=True),
        Column("Turnover", per_product("turnover"), number=True),
        Column("Days of inventory", per_product("days"), number=True),
    ],
    rule=lambda params: (
        f"Over the last {params['days']} days (counted to the minute), at cost: turnover = "
        "cost of goods shipped ÷ average inventory value; days of inventory = average "
        f"inventory ÷ cost of goods shipped × {params['days']}. Average inventory = (value "
        "at the start + value now) ÷ 2; value now = the open FIFO cost layers (each "
        "product's position after its last move); value at the start = value now − cost "
        "received or adjusted in + cost shipped or adjusted out during the period. All "
        "warehouses together (cost layers are kept per product)."
    ),
    totals=lambda rows, params: overall(params),
)
