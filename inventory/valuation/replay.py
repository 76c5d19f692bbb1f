"""One streaming pass over the ledger: each product's position and the period's shipments.

The pass reads the moves that change what a product holds (transfers are skipped)
in posting order, keeping per product the units, the FIFO value and the moving
average; see ``inventory.valuation`` for the rules.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from django.db.models import Case, Q, Value, When
from django.db.models.sql.constants import MULTI

from inventory.ledger.position import Position
from inventory.models import StockMove
from inventory.valuation.results import ZERO, Shipment
from warehouses.models import Location

CHUNK = 5000


@dataclass
class Period:
    """The shipments of ``[start, end)``: totals per product, and each record if kept."""

    start: datetime
    end: datetime
    warehouse_id: int | None
    keep_shipments: bool
    totals: dict = field(default_factory=lambda: defaultdict(lambda: [0, ZERO, ZERO]))
    shipments: list = field(default_factory=list)


def location_warehouses() -> dict[int, int]:
    return dict(Location.objects.order_by().values_list("pk", "warehouse_id"))


def as_decimal(value) -> Decimal:
    """Turn a raw database number into a Decimal (SQLite hands back floats or ints)."""
    if value is None:
        return ZERO
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        # A six-place cost read back from a REAL column: its shortest repr is the
        # decimal that was stored (what Django's own converter computes, faster).
        return Decimal(repr(value))
    return Decimal(value)


def _aware(value) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _flag(condition: Q | None):
    if condition is None:
        return Value(False)
    return Case(When(condition, then=Value(True)), default=Value(False))


def raw_rows(queryset) -> Iterable[tuple]:
    """Yield the rows of a ``values_list`` queryset as the driver returns them.

    Skips Django's per-value converters (a million Decimal and datetime
    conversions are most of a replay's time) and streams in chunks, through a
    server-side cursor on PostgreSQL, like ``QuerySet.iterator()``.
    """
    compiler = queryset.query.get_compiler(using=queryset.db)
    for chunk in compiler.execute_sql(MULTI, chunked_fetch=True, chunk_size=CHUNK):
        yield from chunk


def _moves(*, until: datetime | None, period: Period | None, shared: bool, products=None):
    """Return the rows the replay reads, in posting order, each flagged with its books.

    A row is ``(pk, product, quantity, from location, total cost, [created_at,
    document type, document id,] in_stock, in_period_book, in_period)``; the three
    middle values only when the period keeps its shipments.
    """
    ends = [end for end in (until, period.end if period else None) if end is not None]
    in_period = None
    if period is not None:
        in_period = Q(
            created_at__gte=period.start,
            created_at__lt=period.end,
            kind=StockMove.Kind.SHIPMENT,
            from_location__isnull=False,
        )
    extra = (
        ["created_at", "document_type_id", "document_id"]
        if period and period.keep_shipments
        else []
    )
    # The date tests run in the database: the flags say which books a move belongs to.
    moves = (
        StockMove.objects.all()
        if products is None
        else StockMove.objects.filter(product_id__in=sorted(products))
    )
    return (
        moves.filter(created_at__lt=max(ends))
        .filter(Q(from_location__isnull=True) | Q(to_location__isnull=True))
        .annotate(
            in_stock=_flag(Q(created_at__lt=until) if until is not None else None),
            in_period_book=_flag(
                Q(created_at__lt=period.end) if period is not None and not shared else None
            ),
            in_period=_flag(in_period),
        )
        .order_by("pk")
        .values_list(
            "pk",
            "product_id",
            "quantity",
            "from_location_id",
            "total_cost",
            *extra,
            "in_stock",
            "in_period_book",
            "in_period",
        )
    )


def count_shipment(
    period: Period, row: tuple, warehouse_id: int | None, cost: Decimal, average: Decimal
) -> None:
    """Add a shipment of the period to its product's totals, and keep its record if asked."""
    if period.warehouse_id is not None and warehouse_id != period.warehouse_id:
        return
    pk, product_id, quantity = row[:3]
    totals = period.totals[product_id]
    totals[0] += quantity
    totals[1] += cost
    totals[2] += quantity * average
    if period.keep_shipments:
        created_at, doc_type, doc_id = row[5:8]
        period.shipments.append(
            Shipment(
                move_id=pk,
                product_id=product_id,
                warehouse_id=warehouse_id,
                quantity=quantity,
                created_at=_aware(created_at),
                document_type_id=doc_type,
                document_id=doc_id,
                fifo_cost=cost,
                average_unit_cost=average,
            )
        )


def replay(
    *, until: datetime | None, period: Period | None = None, products=None
) -> dict[int, Position]:
    """Replay the moves posted before ``until`` and before ``period.end``, in posting order.

    Returns each product's position as of ``until`` (empty without ``until``) and
    adds up the shipments posted in ``[period.start, period.end)`` in ``period``;
    only ``products`` (ids) when given.
    """
    positions: dict[int, Position] = defaultdict(Position)
    if until is None and period is None:
        return positions
    # The period keeps its own book (for the average of each shipment's moment)
    # unless it ends when the valuation does.
    period_positions: dict[int, Position] | None = None
    if period is not None:
        period_positions = positions if period.end == until else defaultdict(Position)
    shared = period_positions is positions
    warehouses = location_warehouses() if period is not None else {}
    for row in raw_rows(_moves(until=until, period=period, shared=shared, products=products)):
        _pk, product_id, quantity, from_id, cost = row[:5]
        in_stock, in_period_book, shipped_in_period = row[-3:]
        cost = as_decimal(cost)
        book = positions[product_id] if in_stock else None
        period_book = None
        if period_positions is not None:
            period_book = (
                book if shared else (period_positions[product_id] if in_period_book else None)
            )
        if from_id is None:
            if book is not None:
                book.take_in(quantity, cost)
            if period_book is not None and period_book is not book:
                period_book.take_in(quantity, cost)
            continue
        # The average of the moment: every earlier move of the period's book is in.
        average = period_book.average_cost if period_book is not None else None
        if book is not None:
            book.take_out(quantity, cost)
        if period_book is not None and period_book is not book:
            period_book.take_out(quantity, cost)
        if shipped_in_period:
            count_shipment(period, row, warehouses.get(from_id), cost, average)
    return positions
