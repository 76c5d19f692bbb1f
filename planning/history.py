"""Demand history per product × warehouse, read in a few large queries and kept in numpy.

What counts as demand on a day (local date of ``SalesOrder.created_at``):

- every sales order line of an order that is not cancelled, whole quantity — what the
  customer asked for, so backordered units count and shipped-late units count on the
  day they were ordered; dropship lines count too (demand is recorded, never stocked);
- plus ``ImportedDemand`` rows (``manage.py import_sales``), which are net: a day of
  returns may be negative. The day's total of both sources is clipped at 0 before it is
  used, so a return never reads as negative demand (it reduces that day only).

Which warehouse a sales line counts for: the warehouse of its first allocation when it
has one (where the stock was actually promised from), else the channel's first
warehouse by priority (where it would have been served from). Lines of a channel with
no warehouse are not attributed and are left out.

Stockout days: a day whose reconstructed end-of-day on hand in sellable places
(storage/receiving, the place part of ``usable_stock_q``) is 0. It is reconstructed
backwards from today's balances and the ledger's moves since the window start, in one
query grouped by product, source and target warehouse and day. Customers cannot order
what a channel shows as sold out, so demand recorded on those days understates the real
demand; they are left out of σd (the forecast itself uses the weekly buckets as they
are). Expiry is not replayed: a lot that expired within the window still counts as
stock on the days before today.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
from django.db.models import Case, IntegerField, OuterRef, Subquery, Sum, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from inventory.models import StockLevel, StockMove
from orders.models import Allocation, ChannelWarehouse, SalesOrder, SalesOrderLine
from planning.models import ImportedDemand
from warehouses.models import sellable_place_q

WEEKS = 104  # weekly buckets handed to the forecaster
MAX_WAREHOUSES = 1 << 20  # key = product_id * MAX_WAREHOUSES + warehouse_id


def key_of(product_ids, warehouse_ids) -> np.ndarray:
    """Pack product and warehouse ids into one int64 key per pair."""
    return np.asarray(product_ids, dtype=np.int64) * MAX_WAREHOUSES + np.asarray(
        warehouse_ids, dtype=np.int64
    )


def split_key(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the product ids and warehouse ids packed in ``keys``."""
    return keys // MAX_WAREHOUSES, keys % MAX_WAREHOUSES


@dataclass
class DemandHistory:
    """Demand of the pairs ``keys`` (sorted) up to ``as_of``.

    ``daily`` holds the last ``days`` days (column ``days - 1`` is the day before
    ``as_of``), clipped at 0; ``stockout`` marks the stockout days of that window;
    ``weekly`` the last 104 seven-day buckets ending the day before ``as_of`` (last column
    most recent); ``history_days`` the days from the first recorded demand (within 104
    weeks) to the day before ``as_of``, both included, 0 if none.
    """

    as_of: date
    keys: np.ndarray
    daily: np.ndarray
    stockout: np.ndarray
    weekly: np.ndarray
    history_days: np.ndarray

    @property
    def days(self) -> int:
        return self.daily.shape[1]

    def rows(self, keys: np.ndarray) -> np.ndarray:
        """Row of each key in this history, -1 where it has none."""
        if not len(self.keys):
            return np.full(len(keys), -1, dtype=np.int64)
        pos = np.searchsorted(self.keys, keys).clip(0, len(self.keys) - 1)
        return np.where(self.keys[pos] == keys, pos, -1)


def channel_warehouses() -> dict[int, int]:
    """Each channel's first warehouse by priority (one query)."""
    first: dict[int, int] = {}
    rows = ChannelWarehouse.objects.order_by("channel_id", "-priority", "-id").values_list(
        "channel_id", "warehouse_id"
    )
    for channel_id, warehouse_id in rows:
        first[channel_id] = warehouse_id  # the last one written wins: lowest priority number
    return first


def day_start(day: date) -> datetime:
    """The first instant of ``day`` in the current time zone (range filters use indexes)."""
    return timezone.make_aware(datetime.combine(day, time.min))


def first_allocation_warehouse():
    """The warehouse of a sales line's first allocation (a subquery on ``pk``)."""
    return Subquery(
        Allocation.objects.filter(line=OuterRef("pk"))
        .order_by("id")
        .values("location__warehouse_id")[:1]
    )


def attributed(rows, defaults: dict[int, int]):
    """Yield ``(product, warehouse, *rest)`` from ``(product, channel, alloc_wh, *rest)``."""
    for product_id, channel_id, alloc_warehouse, *rest in rows:
        warehouse_id = alloc_warehouse or defaults.get(channel_id)
        if warehouse_id is not None:
            yield (product_id, warehouse_id, *rest)


def _columns(rows, width: int) -> list[np.ndarray]:
    data = list(rows)
    if not data:
        return [np.zeros(0, dtype=np.int64) for _ in range(width)]
    return [np.asarray(column, dtype=np.int64) for column in zip(*data, strict=True)]


def sales_rows(start: date, end: date, product_ids=None):
    """(product, channel, alloc warehouse, day, units) of not-cancelled orders, one query."""
    lines = SalesOrderLine.objects.exclude(order__status=SalesOrder.Status.CANCELLED).filter(
        order__created_at__gte=day_start(start),
        order__created_at__lt=day_start(end + timedelta(days=1)),
    )
    if product_ids is not None:
        lines = lines.filter(product_id__in=product_ids)
    return (
        lines.annotate(day=TruncDate("order__created_at"), alloc_wh=first_allocation_warehouse())
        .order_by()
        .values_list("product_id", "order__channel_id", "alloc_wh", "day")
        .annotate(units=Sum("quantity"))
        .iterator(chunk_size=10_000)
    )


def imported_rows(start: date, end: date, product_ids=None):
    """(product, warehouse, day, net units) of imported history, one query."""
    rows = ImportedDemand.objects.filter(day__gte=start, day__lte=end)
    if product_ids is not None:
        rows = rows.filter(product_id__in=product_ids)
    return (
        rows.order_by()
        .values_list("product_id", "warehouse_id", "day")
        .annotate(units=Sum("quantity"))
        .iterator(chunk_size=10_000)
    )


def _daily_totals(as_of: date, product_ids=None):
    """Per (key, days back from as_of): the day's net demand clipped at 0, as arrays."""
    start = as_of - timedelta(days=WEEKS * 7 - 1)
    defaults = channel_warehouses()

    def back(rows):
        for product_id, warehouse_id, day, units in rows:
            yield product_id, warehouse_id, (as_of - day).days, units

    sold = _columns(back(attributed(sales_rows(start, as_of, product_ids), defaults)), 4)
    imported = _columns(back(imported_rows(start, as_of, product_ids)), 4)
    product, warehouse, ago, units = (
        np.concatenate([a, b]) for a, b in zip(sold, imported, strict=True)
    )
    keys = key_of(product, warehouse)
    code = keys * (WEEKS * 7) + ago
    codes, inverse = np.unique(code, return_inverse=True)
    totals = np.zeros(len(codes), dtype=np.int64)
    np.add.at(totals, inverse, units)
    return codes // (WEEKS * 7), codes % (WEEKS * 7), np.maximum(totals, 0)


def load(as_of: date, days: int = 90, extra_keys=None, product_ids=None) -> DemandHistory:
    """Read demand, and stockout days over the last ``days`` days, of every pair.

    The history ends the day before ``as_of``: a plan made on the morning (or night) of
    ``as_of`` sees whole days only; a part-day would read as a drop in demand.

    ``extra_keys`` adds pairs without demand (stock, open orders, policies) so their
    stockout days are known too. A handful of queries whatever the number of products.
    """
    days = max(1, min(days, WEEKS * 7))
    last = as_of - timedelta(days=1)
    day_keys, ago, units = _daily_totals(last, product_ids)
    extra = np.asarray(extra_keys if extra_keys is not None else [], dtype=np.int64)
    keys = np.unique(np.concatenate([day_keys, extra]))
    row = np.searchsorted(keys, day_keys)
    weekly = np.zeros((len(keys), WEEKS), dtype=np.float64)
    np.add.at(weekly, (row, WEEKS - 1 - ago // 7), units)
    recent = ago < days
    daily = np.zeros((len(keys), days), dtype=np.float64)
    np.add.at(daily, (row[recent], days - 1 - ago[recent]), units[recent])
    oldest = np.full(len(keys), -1, dtype=np.int64)
    has = units > 0
    np.maximum.at(oldest, row[has], ago[has])
    stockout = stockout_days(last, days, keys, product_ids)
    return DemandHistory(as_of, keys, daily, stockout, weekly, oldest + 1)


def _sellable_when(prefix: str):
    return Case(
        When(sellable_place_q(prefix), then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )


def _held_now(keys: np.ndarray, product_ids=None) -> np.ndarray:
    """Units on hand in sellable places now, per key (one grouped query)."""
    rows = StockLevel.objects.filter(sellable_place_q("location__"), on_hand__gt=0)
    if product_ids is not None:
        rows = rows.filter(product_id__in=product_ids)
    product, warehouse, units = _columns(
        rows.order_by()
        .values_list("product_id", "location__warehouse_id")
        .annotate(units=Sum("on_hand"))
        .iterator(chunk_size=10_000),
        3,
    )
    held = np.zeros(len(keys), dtype=np.int64)
    _add_where_known(held, keys, key_of(product, warehouse), units)
    return held


def _add_where_known(target: np.ndarray, keys: np.ndarray, row_keys, values) -> None:
    if not len(keys) or not len(row_keys):
        return
    pos = np.searchsorted(keys, row_keys).clip(0, len(keys) - 1)
    known = keys[pos] == row_keys
    np.add.at(target, pos[known], np.asarray(values)[known])


def move_rows(since: date, product_ids=None):
    """Moves since ``since`` grouped by product, from/to warehouse and sellability, day."""
    moves = StockMove.objects.filter(created_at__gte=day_start(since))
    if product_ids is not None:
        moves = moves.filter(product_id__in=product_ids)
    return (
        moves.annotate(
            day=TruncDate("created_at"),
            out_ok=_sellable_when("from_location__"),
            in_ok=_sellable_when("to_location__"),
        )
        .order_by()
        .values_list(
            "product_id",
            "from_location__warehouse_id",
            "out_ok",
            "to_location__warehouse_id",
            "in_ok",
            "day",
        )
        .annotate(units=Sum("quantity"))
        .iterator(chunk_size=10_000)
    )


def stockout_days(as_of: date, days: int, keys: np.ndarray, product_ids=None) -> np.ndarray:
    """Mark the days (last ``days`` up to ``as_of``) ending with nothing in sellable places.

    End of day d = held now − net sellable inflow of every later day (one query).
    """
    start = as_of - timedelta(days=days - 1)
    # Column c < days is the net inflow of day start + c; column ``days`` everything after.
    inflow = np.zeros((len(keys), days + 1), dtype=np.int64)
    product, from_wh, out_ok, to_wh, in_ok, column, units = _columns(
        (
            (p, fw or 0, o, tw or 0, i, min((day - start).days, days), n)
            for p, fw, o, tw, i, day, n in move_rows(start, product_ids)
        ),
        7,
    )
    for warehouse, sign, ok in ((to_wh, 1, in_ok), (from_wh, -1, out_ok)):
        pick = (ok == 1) & (warehouse > 0)
        row_keys = key_of(product[pick], warehouse[pick])
        if not len(keys) or not len(row_keys):
            continue
        pos = np.searchsorted(keys, row_keys).clip(0, len(keys) - 1)
        known = keys[pos] == row_keys
        np.add.at(inflow, (pos[known], column[pick][known]), sign * units[pick][known])
    later = np.cumsum(inflow[:, ::-1], axis=1)[:, ::-1]  # later[:, c] = Σ inflow[c:]
    end_of_day = _held_now(keys, product_ids)[:, None] - later[:, 1:]
    return end_of_day <= 0


def sd_daily(history: DemandHistory, window: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sample SD of daily demand over each row's last ``window`` days, stockout days out.

    Returns the SD and the number of stockout days left out. A row whose every day
    in the window was a stockout keeps all its days (nothing else to measure).
    """
    days = history.days
    column = np.arange(days)[None, :]
    in_window = column >= (days - np.minimum(window, days))[:, None]
    out = in_window & history.stockout
    valid = in_window & ~history.stockout
    none_left = valid.sum(axis=1) == 0
    valid[none_left] = in_window[none_left]
    out[none_left] = False
    n = valid.sum(axis=1)
    total = np.where(valid, history.daily, 0).sum(axis=1)
    mean = np.divide(total, n, out=np.zeros(len(n)), where=n > 0)
    squares = np.where(valid, (history.daily - mean[:, None]) ** 2, 0).sum(axis=1)
    sd = np.sqrt(np.divide(squares, n - 1, out=np.zeros(len(n)), where=n > 1))
    return sd, out.sum(axis=1)
