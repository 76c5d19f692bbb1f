"""Errors sales-order services raise: a machine-readable code, an HTTP status and a message.

The channel API answers with ``status`` and ``code``; pages show ``message``.
"""


class SalesError(Exception):
    """A refused sales-order operation; nothing was written.

    ``status`` is the HTTP status the channel API answers with; pages show ``message``.
    """

    code = "sales_error"
    status = 422

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self):
        return self.message


class UnknownSku(SalesError):
    code = "unknown_sku"


class InvalidOrderQuantity(SalesError):
    code = "invalid_quantity"


class InvalidPrice(SalesError):
    code = "invalid_price"


class InvalidOrder(SalesError):
    """A missing or malformed order field (customer, address, reference, lines)."""

    code = "invalid_order"


class ProductNotForSale(SalesError):
    """An inactive product, or one no channel may sell."""

    code = "product_inactive"


class NoDropshipSupplier(SalesError):
    code = "no_dropship_supplier"


class ChannelInactive(SalesError):
    code = "channel_inactive"
    status = 403


class ChannelHasNoWarehouse(SalesError):
    code = "channel_has_no_warehouse"
    status = 409


class DuplicateReference(SalesError):
    """The external reference is already used by an order with another body."""

    code = "duplicate_external_ref"
    status = 409


class SalesOrderNotFound(SalesError):
    code = "not_found"
    status = 404


class InvalidSalesTransition(SalesError):
    """The order's status does not allow the step (e.g. cancelling a shipped order)."""

    code = "invalid_status"
    status = 409


class AllocationRefused(SalesError):
    """The ledger refused a reservation or shipment; carries the ledger's code."""

    status = 409

    def __init__(self, message: str, *, code: str, field: str | None = None):
        super().__init__(message, field=field)
        self.code = code
