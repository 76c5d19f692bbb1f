"""Errors purchasing and receiving raise: a machine-readable code and a message a buyer can read.

Every service in ``orders.purchasing`` (``services``, ``receiving``) raises a subclass of
``PurchasingError`` and changes nothing when it does. A refusal of the stock ledger
(``inventory.errors.LedgerError``) reaches callers as ``StockRefused`` carrying the
ledger's own code, message and field, so a page only has to catch ``PurchasingError``.
"""


class PurchasingError(Exception):
    code = "purchasing_error"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self):
        return self.message


# --- orders and lines ---------------------------------------------------------------


class SupplierInactive(PurchasingError):
    code = "supplier_inactive"


class WarehouseInactive(PurchasingError):
    code = "warehouse_inactive"


class InvalidQuantity(PurchasingError):
    code = "invalid_quantity"


class InvalidCost(PurchasingError):
    code = "invalid_cost"


class InvalidDate(PurchasingError):
    code = "invalid_date"


class ProductNotSold(PurchasingError):
    """The supplier has no active SupplierProduct for the product."""

    code = "product_not_sold"


class ProductInactive(PurchasingError):
    code = "product_inactive"


class DropshipProduct(PurchasingError):
    """A dropship product on a purchase order into a warehouse."""

    code = "dropship_product"


class NotEditable(PurchasingError):
    """Lines change only while the order is a draft."""

    code = "not_editable"


class WrongOrder(PurchasingError):
    """A line that belongs to another purchase order."""

    code = "wrong_order"


# --- status changes -----------------------------------------------------------------


class InvalidTransition(PurchasingError):
    """The order's status does not allow this change (sending a sent order, …)."""

    code = "invalid_transition"


class EmptyOrder(PurchasingError):
    code = "empty_order"


class NoSupplierEmail(PurchasingError):
    code = "no_supplier_email"


class EmailFailed(PurchasingError):
    code = "email_failed"


class CloseInstead(InvalidTransition):
    """Cancelling an order that was partly received: it can only be closed."""

    code = "close_instead"


# --- receiving ----------------------------------------------------------------------


class NotReceivable(PurchasingError):
    """Receiving against a draft, cancelled or closed order."""

    code = "not_receivable"


class OverReceipt(PurchasingError):
    code = "over_receipt"


class NoReceivingLocation(PurchasingError):
    code = "no_receiving_location"


class WrongWarehouse(PurchasingError):
    code = "wrong_warehouse"


class QuarantineLocation(PurchasingError):
    code = "quarantine_location"


class LocationNotReceivable(PurchasingError):
    """A shipping dock or an inactive location."""

    code = "location_not_receivable"


class ExpiredConfirm(PurchasingError):
    """The lot's expiry date is past: the page asks, then calls again with confirm_expired=True."""

    code = "expired_confirm"


class NothingToReceive(PurchasingError):
    code = "nothing_to_receive"


class StockRefused(PurchasingError):
    """The ledger refused the receipt; ``code`` is the ledger's own (e.g. expiry_required)."""

    code = "stock_refused"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message, field=field)
        if code:
            self.code = code

    @classmethod
    def from_ledger(cls, error, *, prefix: str = "") -> "StockRefused":
        return cls(f"{prefix}{error.message}", field=error.field, code=error.code)
