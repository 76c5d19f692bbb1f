"""The one set of checks for quantities, costs, lots and dates that reach the ledger.

The ledger runs them before it locks anything; purchasing, receiving, intake and the
stock forms call the same functions, so a value is judged the same way everywhere.
Each returns the cleaned value or raises a ``LedgerError`` naming the field.
"""

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from common.dates import out_of_range
from inventory import errors
from inventory.models import Lot, Product
from warehouses.models import Location

COST_PLACES = Decimal("0.000001")
# A scanned barcode typed into a quantity field must not become a receipt; the
# bounds also keep every value inside its database column.
MAX_QUANTITY = 1_000_000_000
# StockLevel.on_hand is a 32-bit integer column on PostgreSQL; SQLite would store more,
# so the ledger refuses a balance past it on every database alike.
MAX_BALANCE = 2_147_483_647
MAX_UNIT_COST = Decimal("9999999999.999999")  # StockMove.unit_cost: 16 digits, 6 places
MAX_TOTAL_COST = Decimal("99999999999999.999999")  # StockMove.total_cost: 20 digits, 6 places


def is_whole(value) -> bool:
    """Say whether ``value`` is an int (and not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_quantity(quantity, product: Product, *, field: str = "quantity") -> int:
    """Return ``quantity`` if it is a whole, positive, plausible number of units."""
    if not is_whole(quantity):
        raise errors.InvalidQuantity(
            f"The quantity of {product.sku} must be a whole number, not “{quantity}”.",
            field=field,
        )
    if quantity <= 0:
        raise errors.InvalidQuantity(
            f"The quantity of {product.sku} must be more than zero (got {quantity}).",
            field=field,
        )
    if quantity > MAX_QUANTITY:
        raise errors.InvalidQuantity(
            f"{quantity} units of {product.sku} is not a plausible quantity "
            "(was a barcode scanned into the quantity?).",
            field=field,
        )
    return quantity


def check_room(product: Product, on_hand: int, quantity: int, where: str) -> None:
    """Refuse adding ``quantity`` to a locked balance of ``on_hand`` past ``MAX_BALANCE``."""
    if on_hand + quantity > MAX_BALANCE:
        raise errors.TooMuchStock(
            f"{where} already holds {on_hand} of {product.sku}; {quantity} more would pass "
            f"the largest balance a location can hold ({MAX_BALANCE}).",
            field="quantity",
        )


def check_cost(unit_cost, product: Product, *, quantity: int = 1) -> Decimal:
    """Return ``unit_cost`` rounded to 6 places if ``quantity`` units may cost that each."""
    if isinstance(unit_cost, bool) or unit_cost is None:
        raise errors.InvalidCost(
            f"“{unit_cost}” is not a unit cost for {product.sku}.", field="unit_cost"
        )
    try:
        cost = Decimal(str(unit_cost).strip())
    except (InvalidOperation, ValueError, TypeError):
        raise errors.InvalidCost(
            f"“{unit_cost}” is not a unit cost for {product.sku}.", field="unit_cost"
        ) from None
    if not cost.is_finite():
        raise errors.InvalidCost(
            f"“{unit_cost}” is not a unit cost for {product.sku}.", field="unit_cost"
        )
    if cost < 0:
        raise errors.InvalidCost(
            f"The unit cost of {product.sku} cannot be negative (got {cost}).", field="unit_cost"
        )
    if cost > MAX_UNIT_COST or cost * quantity > MAX_TOTAL_COST:
        raise errors.InvalidCost(
            f"A unit cost of {cost} for {quantity} × {product.sku} is too large.",
            field="unit_cost",
        )
    return cost.quantize(COST_PLACES, ROUND_HALF_UP)


def check_stocked(product: Product) -> None:
    """Refuse a dropship product: it is never held in stock."""
    if not product.is_stocked:
        raise errors.NotStocked(
            f"{product.sku} is a dropship product: it is never held in stock.", field="product"
        )


def check_lot(product: Product, lot: Lot | None) -> None:
    """Refuse a missing lot for a lot-tracked product, a lot for another, or one of another."""
    if product.is_lot_tracked and lot is None:
        raise errors.LotRequired(f"{product.sku} is tracked by lot: give the lot.", field="lot")
    if not product.is_lot_tracked and lot is not None:
        raise errors.LotNotAllowed(
            f"{product.sku} is not tracked by lot, but lot {lot.code} was given.", field="lot"
        )
    if lot is not None and lot.product_id != product.pk:
        raise errors.WrongLot(
            f"Lot {lot.code} belongs to another product, not {product.sku}.", field="lot"
        )


def check_active(product: Product, location: Location, *, field: str = "location") -> None:
    """Refuse to post into an inactive location."""
    if not location.active:
        raise errors.LocationInactive(
            f"Location {location} is inactive. No {product.sku} can be posted there.",
            field=field,
        )


def check_sellable(product: Product, location: Location) -> None:
    """Refuse to promise units held where nothing is sold from (shipping, quarantine)."""
    if not location.is_sellable:
        raise errors.LocationNotSellable(
            f"{product.sku} in {location} ({location.get_kind_display().lower()}) cannot be sold.",
            field="location",
        )


def check_not_expired(product: Product, lot: Lot | None, on: date) -> None:
    """Refuse a lot whose expiry date is before ``on``."""
    if lot is not None and lot.is_expired(on):
        raise errors.ExpiredLot(
            f"Lot {lot.code} of {product.sku} expired on {lot.expires_on.isoformat()}.",
            field="lot",
        )


def check_expiry_date(expires_on) -> date | None:
    """Return ``expires_on`` if it is a date or None."""
    if expires_on is not None and (
        not isinstance(expires_on, date) or isinstance(expires_on, datetime)
    ):
        raise errors.InvalidExpiry(f"“{expires_on}” is not an expiry date.", field="expires_on")
    problem = expires_on and out_of_range(expires_on, what="The expiry date")
    if problem:
        raise errors.InvalidExpiry(problem, field="expires_on")
    return expires_on
