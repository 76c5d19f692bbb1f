"""Supplier performance over the last N days: on-time share, lead time, fill rate.

Two grouped queries (receipts and purchase-order lines per supplier) joined in Python:
one row per supplier, so the list is short.
"""

import math
from datetime import datetime, time, timedelta
from decimal import Decimal

import django_filters
from django.db.models import Case, Count, F, FloatField, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Least
from django.utils import timezone

from orders.models import PurchaseOrder, PurchaseOrderLine, ReceiptLine, Supplier
from planning.reports.base import BUYERS, Column, Report, keep, one_decimal
from warehouses.models import Warehouse

CLOSED = (PurchaseOrder.Status.RECEIVED, PurchaseOrder.Status.CLOSED)
NOT_ORDERED = (PurchaseOrder.Status.DRAFT, PurchaseOrder.Status.CANCELLED)


class SupplierFilter(django_filters.FilterSet):
    warehouse = django_filters.ModelChoiceFilter(
        queryset=Warehouse.objects.order_by("code"),
        to_field_name="code",
        empty_label="All warehouses",
        method=keep,
    )
    supplier = django_filters.ModelChoiceFilter(
        queryset=Supplier.objects.order_by("code"),
        to_field_name="code",
        empty_label="All suppliers",
        method=keep,
    )
    days = django_filters.NumberFilter(
        label="Last (days)", method=keep, initial=365, min_value=1, max_value=3650
    )

    class Meta:
        model = Supplier
        fields = ["warehouse", "supplier", "days"]


def receipt_stats(since, params) -> dict:
    receipts = ReceiptLine.objects.filter(received_on__gte=since)
    if params.get("warehouse"):
        receipts = receipts.filter(line__order__warehouse=params["warehouse"])
    on_time = Case(
        When(received_on__lte=F("expected_on"), then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )
    rows = (
        receipts.order_by()
        .values("line__order__supplier_id")
        .annotate(
            n=Count("id"),
            with_date=Count("id", filter=Q(expected_on__isnull=False)),
            on_time=Sum(on_time),
            total=Sum("lead_time_days"),
            squares=Sum(F("lead_time_days") * F("lead_time_days"), output_field=FloatField()),
        )
    )
    return {row.pop("line__order__supplier_id"): row for row in rows}


def fill_stats(since, params) -> dict:
    """Ordered and received units on lines that are closed or fully due by today."""
    today = timezone.localdate()
    start = timezone.make_aware(datetime.combine(since, time.min))
    lines = PurchaseOrderLine.objects.filter(order__created_at__gte=start).filter(
        Q(order__status__in=CLOSED)
        | Q(expected_on__lte=today)
        | Q(expected_on__isnull=True, order__expected_on__lte=today)
    )
    lines = lines.exclude(
        order__status__in=[PurchaseOrder.Status.DRAFT, PurchaseOrder.Status.CANCELLED]
    )
    if params.get("warehouse"):
        lines = lines.filter(order__warehouse=params["warehouse"])
    rows = (
        lines.order_by()
        .values("order__supplier_id")
        .annotate(
            ordered=Sum("quantity_ordered"),
            received=Sum(Least("quantity_received", "quantity_ordered")),
        )
    )
    return {row.pop("order__supplier_id"): row for row in rows}


def supplier_rows(params) -> list[dict]:
    since = timezone.localdate() - timedelta(days=int(params["days"]))
    receipts, fills = receipt_stats(since, params), fill_stats(since, params)
    suppliers = Supplier.objects.filter(pk__in={*receipts, *fills}).order_by("code")
    if params.get("supplier"):
        suppliers = suppliers.filter(pk=params["supplier"].pk)
    rows = []
    for supplier in suppliers.only("code", "name"):
        rows.append(row_of(supplier, receipts.get(supplier.pk, {}), fills.get(supplier.pk, {})))
    return rows


def row_of(supplier, receipt: dict, fill: dict) -> dict:
    n = receipt.get("n", 0)
    mean = receipt["total"] / n if n else None
    sd = None
    if n > 1:
        sd = math.sqrt(max((receipt["squares"] - n * mean * mean) / (n - 1), 0.0))
    with_date = receipt.get("with_date", 0)
    ordered = fill.get("ordered") or 0
    return {
        "code": supplier.code,
        "name": supplier.name,
        "receipts": n,
        "on_time": percent(receipt.get("on_time", 0), with_date) if with_date else None,
        "mean": mean,
        "sd": sd,
        "ordered": ordered,
        "received": fill.get("received") or 0,
        "fill_rate": percent(fill.get("received") or 0, ordered) if ordered else None,
    }


def percent(part, whole) -> Decimal:
    return (Decimal(100) * Decimal(part) / Decimal(whole)).quantize(Decimal("0.1"))


SUPPLIER_PERFORMANCE = Report(
    slug="supplier_performance",
    title="Supplier performance",
    permission=BUYERS,
    filterset=SupplierFilter,
    rows=supplier_rows,
    python_rows=True,
    columns=[
        Column("Supplier", lambda row: row["code"]),
        Column("Name", lambda row: row["name"]),
        Column("Receipts", lambda row: row["receipts"], number=True),
        Column("On time %", lambda row: row["on_time"], number=True),
        Column("Lead time mean (days)", lambda row: one_decimal(row["mean"]), number=True),
        Column("Lead time spread σ (days)", lambda row: one_decimal(row["sd"]), number=True),
        Column("Units ordered (due)", lambda row: row["ordered"], number=True),
        Column("Units received", lambda row: row["received"], number=True),
        Column("Fill rate %", lambda row: row["fill_rate"], number=True),
    ],
    rule=lambda params: (
        f"Receipts of the last {params['days']} days: on time when received on or before "
        "the expected day (receipts without one are left out of the share); lead time = "
        "received − ordered day, mean and sample standard deviation as the plan measures "
        f"it (planning/leadtimes). Fill rate: units received ÷ units ordered on lines of "
        f"orders placed in the last {params['days']} days that are closed or due by today "
        "(extra units received above the ordered quantity do not count)."
    ),
)
