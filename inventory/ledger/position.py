"""A product's running position, stored on each of its moves: units, FIFO value, average.

The ledger writes, on every move it posts (under the product lock, in the same
insert), what the product holds after that move in all its locations: ``units_after``,
``value_after`` (the FIFO value: inbound costs minus the stored costs of outbound
moves) and ``average_cost_after`` (the perpetual moving average, six decimals,
half-up). Transfers carry the previous position forward. The valuation report
reads these instead of replaying the ledger; ``check_ledger`` replays and compares.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import OuterRef, QuerySet, Subquery

from inventory.ledger.checks import COST_PLACES
from inventory.models import ProductPosition, StockMove

ZERO = Decimal("0")
STATE_FIELDS = ("units_after", "value_after", "average_cost_after")


@dataclass
class Position:
    """What one product holds at some moment: units, FIFO value, moving average."""

    quantity: int = 0
    fifo_value: Decimal = ZERO
    average_cost: Decimal = ZERO

    def take_in(self, quantity: int, total_cost: Decimal) -> None:
        held = self.quantity
        if held <= 0:
            self.average_cost = (total_cost / quantity).quantize(COST_PLACES, ROUND_HALF_UP)
        else:
            self.average_cost = (
                (held * self.average_cost + total_cost) / (held + quantity)
            ).quantize(COST_PLACES, ROUND_HALF_UP)
        self.quantity = held + quantity
        self.fifo_value += total_cost

    def take_out(self, quantity: int, total_cost: Decimal) -> None:
        self.quantity -= quantity
        self.fifo_value -= total_cost

    def apply(self, quantity: int, from_id, to_id, total_cost) -> None:
        """Apply one move: in (no source), out (no target); a transfer changes nothing."""
        if from_id is None:
            self.take_in(quantity, Decimal(total_cost or 0))
        elif to_id is None:
            self.take_out(quantity, Decimal(total_cost or 0))

    @property
    def average_value(self) -> Decimal:
        return self.quantity * self.average_cost

    def as_fields(self) -> dict:
        return {
            "units_after": self.quantity,
            "value_after": self.fifo_value,
            "average_cost_after": self.average_cost,
        }

    def matches(self, units, value, average) -> bool:
        """Tell whether stored values (as the database returns them) equal this position."""
        if units is None or value is None or average is None:
            return False
        return (
            units == self.quantity
            and Decimal(str(value)) == self.fifo_value
            and Decimal(str(average)) == self.average_cost
        )


# Positions read with the balance rows by the operation about to post a move
# (``with_position`` and ``remember``), so ``post_move`` need not read them again: product
# key → (position, its moment). Set under the product lock by the statement that locks
# the balance rows, consumed by the next ``post_move`` of that product.
READ: ContextVar[dict | None] = ContextVar("ledger_positions_read", default=None)
POSITION_COLUMNS = {
    "position_units": "units",
    "position_value": "value",
    "position_average": "average_cost",
    "position_moved_at": "moved_at",
}


def with_position(levels: QuerySet) -> QuerySet:
    """Annotate balance rows with their product's stored position (same statement)."""
    current = ProductPosition.objects.filter(pk=OuterRef("product_id"))
    return levels.annotate(
        **{name: Subquery(current.values(column)[:1]) for name, column in POSITION_COLUMNS.items()}
    )


def forget(product_ids) -> None:
    """Drop what was read of these products' positions (it may be out of date)."""
    read = READ.get()
    if read:
        for product_id in product_ids:
            read.pop(product_id, None)


def remember(product_id: int, rows) -> None:
    """Keep the position the rows (``with_position``) carry for the product's next move.

    Only a position read by the latest lock of the product's rows is kept.
    """
    forget([product_id])
    for row in rows:
        if row.product_id == product_id:
            read = READ.get()
            if read is None:
                read = {}
                READ.set(read)
            read[product_id] = None  # the product has no stored position
            if row.position_units is not None:
                read[product_id] = (
                    Position(
                        row.position_units,
                        Decimal(str(row.position_value)),
                        Decimal(str(row.position_average)),
                    ),
                    row.position_moved_at,
                )
            return


def _read_position(product_id: int) -> tuple[Position, datetime | None, bool]:
    """The position read with the balance rows just locked, else ``last_position``."""
    read = READ.get()
    if read and product_id in read:
        found = read.pop(product_id)
        if found is None:
            return last_position(product_id, stored=False)
        position, moved_at = found
        return position, moved_at, True
    return last_position(product_id)


def last_position(
    product_id: int, *, stored: bool = True
) -> tuple[Position, datetime | None, bool]:
    """Return the product's position after its last move, that move's time, and whether
    the product has a ``ProductPosition`` row.

    Called under the product lock, so no other move of the product can be posted
    between this read and the writes that store the next position.
    """
    row = None
    if stored:  # False: the product is known to have no ProductPosition row
        row = (
            ProductPosition.objects.filter(pk=product_id)
            .values_list("units", "value", "average_cost", "moved_at")
            .first()
        )
    if row is not None:
        return Position(row[0], Decimal(str(row[1])), Decimal(str(row[2]))), row[3], True
    previous_at = (
        StockMove.objects.filter(product_id=product_id)
        .order_by("-id")
        .values_list("created_at", flat=True)
        .first()
    )
    if previous_at is None:
        return Position(), None, False
    return _replayed(product_id), previous_at, False


def _replayed(product_id: int) -> Position:
    """Replay a product whose moves carry no position (posted outside the ledger)."""
    position = Position()
    rows = (
        StockMove.objects.filter(product_id=product_id)
        .order_by("id")
        .values_list("quantity", "from_location_id", "to_location_id", "total_cost")
    )
    for quantity, from_id, to_id, total_cost in rows.iterator(chunk_size=2000):
        position.apply(quantity, from_id, to_id, total_cost)
    return position


def post_move(**fields) -> StockMove:
    """Insert the move described by ``fields`` with the product's position after it, and
    make that the product's ``ProductPosition`` (the product is locked)."""
    product = fields["product"]
    position, previous_at, known = _read_position(product.pk)
    position.apply(
        fields["quantity"],
        fields.get("from_location"),
        fields.get("to_location"),
        fields.get("total_cost"),
    )
    at = fields["created_at"]
    move = StockMove(
        **fields,
        **position.as_fields(),
        backdated=previous_at is not None and at < previous_at,
    )
    move.save()
    current = {
        "move": move,
        "units": position.quantity,
        "value": position.fifo_value,
        "average_cost": position.average_cost,
        "moved_at": at,
    }
    if known:
        ProductPosition.objects.filter(pk=product.pk).update(**current)
    else:
        ProductPosition.objects.create(product=product, **current)
    return move
