"""Where each product × warehouse stands now, and the buyers' policies: one query each.

- on hand / available: today's usable balances (``usable_level_q``): on hand, and on
  hand − committed, summed per warehouse;
- incoming: units ordered and not yet received on open warehouse purchase orders —
  *including drafts*, so a draft made from a suggestion is never suggested again; the
  draft part is kept apart so the explanation can show the split;
- open demand: backordered units of active sales orders (``backordered_units``),
  attributed to a warehouse like demand (``planning.history``).

Positions are always today's: the ledger does not keep past commitments, so a plan
``--as-of`` an earlier date reads its history up to that date but today's stock.
"""

from dataclasses import dataclass
from datetime import date

import numpy as np
from django.db.models import Case, F, IntegerField, Q, Sum, Value, When

from inventory.models import StockLevel, usable_level_q
from orders.models import PurchaseOrder, PurchaseOrderLine, SalesOrder, SalesOrderLine
from orders.models.sales import backordered_q, backordered_units
from planning import history
from planning.models import Policy


@dataclass
class Column:
    """Values per key (``keys`` sorted, unique)."""

    keys: np.ndarray
    values: dict[str, np.ndarray]

    def on(self, keys: np.ndarray, name: str) -> np.ndarray:
        """The values of ``name`` for ``keys`` (0 where a key has none)."""
        result = np.zeros(len(keys), dtype=np.int64)
        if len(self.keys) and len(keys):
            pos = np.searchsorted(self.keys, keys).clip(0, len(self.keys) - 1)
            found = self.keys[pos] == keys
            result[found] = self.values[name][pos[found]]
        return result


def _column(rows, names: list[str]) -> Column:
    """Sum ``(product, warehouse, *values)`` rows per key into a :class:`Column`."""
    data = list(rows)
    if not data:
        empty = np.zeros(0, dtype=np.int64)
        return Column(empty, {name: empty for name in names})
    columns = [np.asarray(c, dtype=np.int64) for c in zip(*data, strict=True)]
    keys, inverse = np.unique(history.key_of(columns[0], columns[1]), return_inverse=True)
    values = {}
    for name, column in zip(names, columns[2:], strict=True):
        values[name] = np.zeros(len(keys), dtype=np.int64)
        np.add.at(values[name], inverse, column)
    return Column(keys, values)


def stock(today: date, product_ids=None) -> Column:
    """``on_hand`` and ``available`` (usable) per key of rows holding or promising units."""
    rows = StockLevel.objects.with_available(today).filter(Q(on_hand__gt=0) | Q(committed__gt=0))
    if product_ids is not None:
        rows = rows.filter(product_id__in=product_ids)
    usable_on_hand = Case(
        When(usable_level_q(today), then=F("on_hand")),
        default=Value(0),
        output_field=IntegerField(),
    )
    rows = (
        rows.order_by()
        .values_list("product_id", "location__warehouse_id")
        .annotate(held=Sum(usable_on_hand), free=Sum("available_qty"))
        .iterator(chunk_size=10_000)
    )
    return _column(rows, ["on_hand", "available"])


def incoming(product_ids=None) -> Column:
    """``incoming`` (all open warehouse orders) and ``draft`` (its part on drafts) per key."""
    lines = PurchaseOrderLine.objects.filter(
        order__status__in=PurchaseOrder.OPEN_STATUSES,
        order__dropship=False,
        quantity_ordered__gt=F("quantity_received"),
    )
    if product_ids is not None:
        lines = lines.filter(product_id__in=product_ids)
    open_units = F("quantity_ordered") - F("quantity_received")
    rows = (
        lines.order_by()
        .values_list("product_id", "order__warehouse_id")
        .annotate(
            total=Sum(open_units),
            draft=Sum(
                Case(
                    When(order__status=PurchaseOrder.Status.DRAFT, then=open_units),
                    default=Value(0),
                    output_field=IntegerField(),
                )
            ),
        )
        .iterator(chunk_size=10_000)
    )
    return _column(rows, ["incoming", "draft"])


def open_demand(defaults: dict[int, int], product_ids=None) -> Column:
    """Backordered units of active sales orders per key (``open_demand``)."""
    lines = SalesOrderLine.objects.filter(
        backordered_q(), order__status__in=SalesOrder.ACTIVE_STATUSES
    )
    if product_ids is not None:
        lines = lines.filter(product_id__in=product_ids)
    rows = (
        lines.annotate(alloc_wh=history.first_allocation_warehouse())
        .order_by()
        .values_list("product_id", "order__channel_id", "alloc_wh")
        .annotate(units=Sum(backordered_units()))
        .iterator(chunk_size=10_000)
    )
    return _column(history.attributed(rows, defaults), ["open_demand"])


POLICY_FIELDS = (
    "kind",
    "service_level",
    "review_period_days",
    "history_days",
    "minimum",
    "maximum",
    "manual_buffer",
)


def policies(product_ids=None) -> dict[int, dict]:
    """Every policy row by key, as plain values (one query)."""
    rows = Policy.objects.all()
    if product_ids is not None:
        rows = rows.filter(product_id__in=product_ids)
    found = {}
    for product_id, warehouse_id, *values in rows.order_by().values_list(
        "product_id", "warehouse_id", *POLICY_FIELDS
    ):
        found[product_id * history.MAX_WAREHOUSES + warehouse_id] = dict(
            zip(POLICY_FIELDS, values, strict=True)
        )
    return found
