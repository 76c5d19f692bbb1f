"""Receiving purchase orders into stock through the ledger."""

from datetime import date

from orders.models import PurchaseOrder, PurchaseOrderLine, ReceiptLine


def receive_line(
    *,
    line: PurchaseOrderLine,
    quantity: int,
    location=None,
    lot_code: str | None = None,
    expires_on: date | None = None,
    user=None,
    confirm_expired: bool = False,
    allow_quarantine: bool = False,
    received_on: date | None = None,
) -> ReceiptLine:
    """Receive ``quantity`` units of one order line (body being finished)."""
    raise NotImplementedError


def receive_order(
    *,
    order: PurchaseOrder,
    lines: list[dict],
    user=None,
    confirm_expired: bool = False,
    allow_quarantine: bool = False,
    received_on: date | None = None,
) -> list[ReceiptLine]:
    """Receive several lines of one order at once, all or nothing (body being finished)."""
    raise NotImplementedError
