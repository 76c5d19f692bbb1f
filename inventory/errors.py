"""Errors the stock ledger raises: a machine-readable code and a message a clerk can read."""


class LedgerError(Exception):
    code = "ledger_error"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self):
        return self.message


class InvalidQuantity(LedgerError):
    code = "invalid_quantity"


class InvalidCost(LedgerError):
    code = "invalid_cost"


class InsufficientStock(LedgerError):
    code = "insufficient_stock"


class CommittedStock(InsufficientStock):
    """The change would take stock that is promised to orders."""

    code = "committed_stock"


class NotCommitted(InsufficientStock):
    """Releasing or shipping more committed units than there are."""

    code = "not_committed"


class LotRequired(LedgerError):
    code = "lot_required"


class InvalidLotCode(LedgerError):
    code = "invalid_lot_code"


class LotNotAllowed(LedgerError):
    code = "lot_not_allowed"


class WrongLot(LedgerError):
    code = "wrong_lot"


class ExpiryRequired(LedgerError):
    code = "expiry_required"


class InvalidExpiry(LedgerError):
    code = "invalid_expiry"


class LotExpiryConflict(LedgerError):
    code = "lot_expiry_conflict"


class ExpiredLot(LedgerError):
    code = "expired_lot"


class LocationInactive(LedgerError):
    code = "location_inactive"


class LocationNotSellable(LedgerError):
    code = "location_not_sellable"


class SameLocation(LedgerError):
    code = "same_location"


class NotStocked(LedgerError):
    code = "not_stocked"


class TooMuchStock(LedgerError):
    code = "too_much_stock"


class ReasonRequired(LedgerError):
    code = "reason_required"
