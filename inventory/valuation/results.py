"""What a valuation and a COGS report hold: rows per product, totals, both methods."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

from inventory.ledger.checks import COST_PLACES

CENT = Decimal("0.01")
ZERO = Decimal("0")
FIFO = "fifo"
AVERAGE = "average"
METHODS = (FIFO, AVERAGE)


def cents(value: Decimal) -> Decimal:
    """Round a money amount to cents (half up) for display."""
    return Decimal(value).quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class Shipment:
    """One shipment move with its FIFO cost (stored) and its moving-average cost then."""

    move_id: int
    product_id: int
    warehouse_id: int | None
    quantity: int
    created_at: datetime
    document_type_id: int | None
    document_id: int | None
    fifo_cost: Decimal
    average_unit_cost: Decimal

    @property
    def average_cost(self) -> Decimal:
        return self.quantity * self.average_unit_cost


@dataclass(frozen=True)
class ValuationRow:
    """One product's stock and value as of a date (in one warehouse, or in all)."""

    product_id: int
    sku: str
    name: str
    warehouse_id: int | None
    quantity: int
    fifo_value: Decimal
    average_unit_cost: Decimal

    @property
    def average_value(self) -> Decimal:
        return self.quantity * self.average_unit_cost

    @property
    def fifo_unit_cost(self) -> Decimal:
        if not self.quantity:
            return ZERO
        return (self.fifo_value / self.quantity).quantize(COST_PLACES, ROUND_HALF_UP)

    @property
    def difference(self) -> Decimal:
        """FIFO value minus average value: positive when recent costs are higher."""
        return self.fifo_value - self.average_value

    def value(self, method: str) -> Decimal:
        return self.fifo_value if method == FIFO else self.average_value


@dataclass(frozen=True)
class Valuation:
    as_of: date
    warehouse_id: int | None
    rows: list[ValuationRow]

    @property
    def quantity(self) -> int:
        return sum(row.quantity for row in self.rows)

    @property
    def fifo_value(self) -> Decimal:
        return sum((row.fifo_value for row in self.rows), ZERO)

    @property
    def average_value(self) -> Decimal:
        return sum((row.average_value for row in self.rows), ZERO)

    @property
    def difference(self) -> Decimal:
        return self.fifo_value - self.average_value

    def value(self, method: str) -> Decimal:
        return self.fifo_value if method == FIFO else self.average_value


@dataclass(frozen=True)
class CogsRow:
    """One product's shipments in a period: revenue, COGS and margin both ways."""

    product_id: int
    sku: str
    name: str
    quantity: int
    revenue: Decimal
    fifo_cogs: Decimal
    average_cogs: Decimal

    @property
    def fifo_margin(self) -> Decimal:
        return self.revenue - self.fifo_cogs

    @property
    def average_margin(self) -> Decimal:
        return self.revenue - self.average_cogs

    @property
    def difference(self) -> Decimal:
        """FIFO margin minus average margin: positive when FIFO profit looks higher."""
        return self.fifo_margin - self.average_margin


@dataclass(frozen=True)
class CogsReport:
    date_from: date
    date_to: date
    warehouse_id: int | None
    rows: list[CogsRow]
    shipments: list[Shipment]

    def _sum(self, name: str) -> Decimal:
        return sum((getattr(row, name) for row in self.rows), ZERO)

    # Cached: the page asks for each total several times (margins, difference).
    @cached_property
    def quantity(self) -> int:
        return sum(row.quantity for row in self.rows)

    @cached_property
    def revenue(self) -> Decimal:
        return self._sum("revenue")

    @cached_property
    def fifo_cogs(self) -> Decimal:
        return self._sum("fifo_cogs")

    @cached_property
    def average_cogs(self) -> Decimal:
        return self._sum("average_cogs")

    @property
    def fifo_margin(self) -> Decimal:
        return self.revenue - self.fifo_cogs

    @property
    def average_margin(self) -> Decimal:
        return self.revenue - self.average_cogs

    @property
    def difference(self) -> Decimal:
        return self.fifo_margin - self.average_margin
