"""The valuation as of today for the report page: totals and one page of rows in SQL.

As of today (no move dated later) every product's position is its ``ProductPosition``
row, whatever order its moves were posted in. The page needs the totals and 50 rows,
not 50,000 Python objects: the totals are summed by the database in whole millionths
(exact on both databases: SQLite would sum the REAL values it stores inexactly), the
rows come by SKU, a page at a time (``StoredRows`` is what Django's ``Paginator``
slices).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce

from inventory.models import ProductPosition
from inventory.valuation.replay import as_decimal, raw_rows
from inventory.valuation.results import ValuationRow
from inventory.valuation.stored import MICRO, micro_sum


def _held():
    return ProductPosition.objects.filter(~Q(units=0) | ~Q(value=0)).order_by()


class StoredRows:
    """The held products' rows by SKU; sliced a page at a time, counted once."""

    def __init__(self, count: int):
        self._count = count

    def count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index : index + 1][0]
        rows = (
            _held()
            .order_by("product__sku")
            .values_list(
                "product_id", "product__sku", "product__name", "units", "value", "average_cost"
            )[index]
        )
        return [
            ValuationRow(
                product_id=pk,
                sku=sku,
                name=name,
                warehouse_id=None,
                quantity=units,
                fifo_value=as_decimal(value),
                average_unit_cost=as_decimal(average),
            )
            for pk, sku, name, units, value, average in raw_rows(rows)
        ]


@dataclass(frozen=True)
class CurrentValuation:
    """What the page shows of a ``Valuation``: the totals and lazily sliced rows."""

    as_of: date
    warehouse_id: None
    rows: StoredRows
    quantity: int
    fifo_value: Decimal
    average_value: Decimal

    @property
    def difference(self) -> Decimal:
        return self.fifo_value - self.average_value


def current_valuation(as_of: date) -> CurrentValuation:
    """Totals and rows of every held product from ``ProductPosition`` (one query here)."""
    totals = _held().aggregate(
        held_rows=Count("pk"),
        held_units=Coalesce(Sum("units"), 0),
        fifo_micro=micro_sum(F("value")),
        average_micro=micro_sum(F("units") * F("average_cost")),
    )
    return CurrentValuation(
        as_of=as_of,
        warehouse_id=None,
        rows=StoredRows(totals["held_rows"]),
        quantity=totals["held_units"],
        fifo_value=Decimal(totals["fifo_micro"]) / MICRO,
        average_value=Decimal(totals["average_micro"]) / MICRO,
    )
