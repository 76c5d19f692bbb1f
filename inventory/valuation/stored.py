"""The report's fast path: read the positions the ledger stored on each move.

Every move carries the product's position after it (``inventory.ledger.position``).
For a product whose moves were posted in time order, the moves before a date are
the first ones in posting order, so the position on its last move before the date
(``move_product_asof_idx``: one index probe per product) is what a replay up to that
date gives, and a shipment's stored average is the average of its moment. Products
with a backdated move (``backdated``, a partial index) or a move without a stored
position are returned to the caller to replay.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db.models import BigIntegerField, Count, F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce, Round

from inventory.ledger.position import STATE_FIELDS, Position
from inventory.models import Product, ProductPosition, StockMove
from inventory.valuation.replay import Period, as_decimal, count_shipment, raw_rows

MICRO = 1_000_000


def backdated_products(until: datetime | None = None) -> tuple[set[int], bool]:
    """Return the products with a move posted with an earlier time than the one before it,
    and whether any move is dated ``until`` or later.

    One query, a UNION (which also drops repeats) so that each half walks its own
    index (the partial index of backdated moves, the index on the time): an OR of
    the two scanned every move.
    """
    backdated = (
        StockMove.objects.filter(backdated=True)
        .order_by()
        .annotate(is_later=Value(False))
        .values_list("product_id", "is_later")
    )
    if until is not None:
        later = (
            StockMove.objects.filter(created_at__gte=until)
            .order_by()
            .annotate(is_later=Value(True))
            .values_list("product_id", "is_later")
        )
        backdated = backdated.union(later).order_by()
    products, any_later = set(), False
    for product_id, is_later in backdated:
        if is_later:
            any_later = True
        else:
            products.add(product_id)
    return products, any_later


def positions_at(
    until: datetime, skip: set[int], *, later: bool = True
) -> tuple[dict[int, Position], set[int]]:
    """Return each product's stored position before ``until`` and the products lacking one.

    Products in ``skip`` are left out. When no move is dated ``until`` or later
    (``later`` False: the valuation as of today), the positions are the
    ``ProductPosition`` rows: one narrow row per product, read in one pass.
    """
    if not later:
        current = ProductPosition.objects.order_by().values_list(
            "product_id", "units", "value", "average_cost"
        )
        return _positions(raw_rows(current), skip)
    last = (
        StockMove.objects.filter(product_id=OuterRef("pk"), created_at__lt=until)
        .order_by("-created_at", "-id")
        .values("pk")[:1]
    )
    keys = Product.objects.order_by().annotate(last=Subquery(last)).values("last")
    rows = (
        StockMove.objects.filter(pk__in=keys).order_by().values_list("product_id", *STATE_FIELDS)
    )
    return _positions(raw_rows(rows), skip)


def _positions(rows, skip: set[int]) -> tuple[dict[int, Position], set[int]]:
    positions: dict[int, Position] = {}
    missing: set[int] = set()
    for product_id, units, value, average in rows:
        if product_id in skip:
            continue
        if units is None:
            missing.add(product_id)
            continue
        positions[product_id] = Position(units, as_decimal(value), as_decimal(average))
    return positions, missing


def micro_sum(expression):
    """SUM of ``expression`` in whole millionths: exact on both databases (SQLite would
    add up the REAL values it stores for decimals inexactly). Six-place values only."""
    return Coalesce(Sum(Cast(Round(expression * MICRO), BigIntegerField())), 0)


def _shipments(period: Period):
    shipments = StockMove.objects.filter(
        kind=StockMove.Kind.SHIPMENT,
        from_location__isnull=False,
        created_at__gte=period.start,
        created_at__lt=period.end,
    )
    if period.warehouse_id is not None:
        shipments = shipments.filter(from_location__warehouse_id=period.warehouse_id)
    return shipments


def add_period(period: Period, skip: set[int]) -> set[int]:
    """Count the period's shipments at their stored average; return products lacking one.

    Without the shipments' records the database adds them up per product.
    """
    if period.keep_shipments:
        return _add_shipments(period, skip)
    rows = (
        _shipments(period)
        .order_by()
        .values("product_id")
        .annotate(
            units=Sum("quantity"),
            fifo=micro_sum(F("total_cost")),
            average=micro_sum(F("quantity") * F("average_cost_after")),
            stored=Count("average_cost_after"),
            moves=Count("pk"),
        )
        .values_list("product_id", "units", "fifo", "average", "stored", "moves")
    )
    missing = set()
    for product_id, units, fifo, average, stored, moves in rows:
        if product_id in skip:
            continue
        if stored != moves:
            missing.add(product_id)
            continue
        period.totals[product_id] = [units, Decimal(fifo) / MICRO, Decimal(average) / MICRO]
    return missing


def _add_shipments(period: Period, skip: set[int]) -> set[int]:
    rows = list(
        raw_rows(
            _shipments(period)
            .order_by("pk")
            .values_list(
                "pk",
                "product_id",
                "quantity",
                "from_location__warehouse_id",
                "total_cost",
                "created_at",
                "document_type_id",
                "document_id",
                "average_cost_after",
            )
        )
    )
    missing = {row[1] for row in rows if row[8] is None and row[1] not in skip}
    for row in rows:
        if row[1] in skip or row[1] in missing:
            continue
        count_shipment(period, row, row[3], as_decimal(row[4]), as_decimal(row[8]))
    return missing
