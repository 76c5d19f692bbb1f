"""The daily inventory snapshot: written at the end of the nightly plan, read by the charts.

``write_snapshot`` stores one row for the whole store (with the plan's figures and the
dashboard's details: top movers, sales per channel, ABC share) and one per warehouse
(value and units). Values come from ``inventory.valuation`` as of the end of the day; the
plan's figures and the expiring value from the reports' rules (``planning.headlines``).
``backfill`` writes the value and units
of past days that have no snapshot yet (the demo and the benchmark), so the value chart
has 90 days at once; the plan's figures of those days stay empty.
"""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from inventory import valuation
from inventory.models import Product
from orders.models import PurchaseOrder, PurchaseOrderLine, SalesOrder, SalesOrderLine
from planning import classes, cycle_counts, headlines
from planning.models import ImportedDemand, InventorySnapshot, PlanRun

CENT = Decimal("0.01")
TOP_MOVERS = 10
RECENT_DAYS = 30


def incoming_value() -> Decimal:
    """Open purchase order units not received yet, at their order's unit cost."""
    total = PurchaseOrderLine.objects.filter(
        order__status__in=PurchaseOrder.OPEN_STATUSES,
        order__dropship=False,
        quantity_ordered__gt=F("quantity_received"),
    ).aggregate(value=Sum((F("quantity_ordered") - F("quantity_received")) * F("unit_cost")))
    return (total["value"] or Decimal(0)).quantize(CENT)


def recent_demand(day: date, days: int = RECENT_DAYS) -> tuple[dict, dict]:
    """Units asked for in the ``days`` up to ``day``: per product and per channel.

    Sales orders (not cancelled) by their channel's name, plus imported history by its
    channel code ("imported" when it has none), with revenue where a price is known (None
    for a channel seen only in imported history).
    """
    since = day - timedelta(days=days - 1)
    per_product: dict[int, int] = defaultdict(int)
    per_channel: dict[str, dict] = defaultdict(lambda: {"units": 0, "revenue": None})
    sold = (
        SalesOrderLine.objects.filter(
            order__created_at__date__gte=since, order__created_at__date__lte=day
        )
        .exclude(order__status=SalesOrder.Status.CANCELLED)
        .order_by()
        .values_list("product_id", "order__channel__name")
        .annotate(units=Sum("quantity"), revenue=Sum(F("quantity") * F("unit_price")))
    )
    for product_id, channel, units, revenue in sold:
        per_product[product_id] += units
        per_channel[channel]["units"] += units
        per_channel[channel]["revenue"] = (per_channel[channel]["revenue"] or 0) + (revenue or 0)
    imported = (
        ImportedDemand.objects.filter(day__gte=since, day__lte=day)
        .order_by()
        .values_list("product_id", "channel")
        .annotate(units=Sum("quantity"))
    )
    for product_id, channel, units in imported:
        per_product[product_id] += units
        per_channel[channel or "imported"]["units"] += units
    return per_product, per_channel


def top_movers(per_product: dict[int, int], limit: int = TOP_MOVERS) -> list[dict]:
    ranked = sorted(
        ((units, pid) for pid, units in per_product.items() if units > 0),
        key=lambda item: (-item[0], item[1]),
    )[:limit]
    skus = dict(Product.objects.filter(pk__in=[pid for _, pid in ranked]).values_list("pk", "sku"))
    return [
        {"product_id": pid, "sku": skus.get(pid, "?"), "units": units} for units, pid in ranked
    ]


def abc_share(run: PlanRun | None) -> list[dict]:
    """Products and consumption value per ABC class (``headlines.consumption_values``)."""
    values = headlines.consumption_values(run)
    found = classes.abc_classes(values)
    share = {name: {"class": name, "products": 0, "value": Decimal(0)} for name in "ABC"}
    for product_id, name in found.items():
        share[name]["products"] += 1
        share[name]["value"] += Decimal(values[product_id])
    return [{**row, "value": str(row["value"].quantize(CENT))} for row in share.values()]


def details(day: date, run: PlanRun | None) -> dict:
    per_product, per_channel = recent_demand(day)
    channels = [
        {
            "channel": name,
            "units": row["units"],
            # Imported history carries no prices: no revenue rather than a false 0.
            "revenue": None if row["revenue"] is None else str(_money(row["revenue"])),
        }
        for name, row in sorted(per_channel.items(), key=lambda item: (-item[1]["units"], item[0]))
    ]
    accuracy = [
        {**row, "month": row["month"].date().isoformat()}
        | {name: str(row[name]) for name in ("value_found", "value_lost", "net_value")}
        for row in cycle_counts.accuracy(day)
    ]
    return {
        "top_movers": top_movers(per_product),
        "channels": channels,
        "abc": abc_share(run),
        "count_accuracy": accuracy,
    }


def _money(value) -> Decimal:
    return Decimal(value).quantize(CENT)


def write_snapshot(day: date | None = None, run: PlanRun | None = None) -> InventorySnapshot:
    """Store (or replace) the snapshot of ``day`` (default today) from the ledger and ``run``."""
    day = day or timezone.localdate()
    worth = valuation.inventory_value(as_of=day, by_warehouse=True)
    by_warehouse: dict[int | None, dict] = defaultdict(
        lambda: {"value_fifo": Decimal(0), "value_average": Decimal(0), "units": 0}
    )
    for row in worth.rows:
        by_warehouse[row.warehouse_id]["value_fifo"] += row.fifo_value
        by_warehouse[row.warehouse_id]["value_average"] += row.average_value
        by_warehouse[row.warehouse_id]["units"] += row.quantity
    figures = headlines.plan_figures(run)
    store = {
        "value_fifo": _money(worth.fifo_value),
        "value_average": _money(worth.average_value),
        "units": worth.quantity,
        "run": run,
        **figures,
        "expiring_value": headlines.expiring_value(),
        "incoming_value": incoming_value(),
        "details": details(day, run),
        "written_at": timezone.now(),
    }
    with transaction.atomic():
        InventorySnapshot.objects.filter(day=day).delete()
        snapshot = InventorySnapshot.objects.create(day=day, warehouse=None, **store)
        InventorySnapshot.objects.bulk_create(
            InventorySnapshot(
                day=day,
                warehouse_id=warehouse_id,
                run=run,
                value_fifo=_money(row["value_fifo"]),
                value_average=_money(row["value_average"]),
                units=row["units"],
            )
            for warehouse_id, row in sorted(by_warehouse.items())
            if warehouse_id is not None
        )
    return snapshot


def backfill(days: int = 90, today: date | None = None) -> int:
    """Write the store's value and units for each of the last ``days`` days without a
    snapshot; return how many were written."""
    today = today or timezone.localdate()
    have = set(
        InventorySnapshot.objects.filter(
            warehouse__isnull=True, day__gt=today - timedelta(days=days)
        ).values_list("day", flat=True)
    )
    missing = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    missing = [day for day in missing if day not in have]
    rows = []
    for day in missing:
        worth = valuation.inventory_value(as_of=day)
        rows.append(
            InventorySnapshot(
                day=day,
                value_fifo=_money(worth.fifo_value),
                value_average=_money(worth.average_value),
                units=worth.quantity,
            )
        )
    InventorySnapshot.objects.bulk_create(rows)
    return len(rows)
