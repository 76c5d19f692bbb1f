"""What one scan turned out to be: the answer every station and `manage.py scan` read."""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from inventory.models import Lot, Product
from orders.models import PurchaseOrder, SalesOrder
from warehouses.models import Location


class Kind(StrEnum):
    PRODUCT = "product"
    LOCATION = "location"
    LOT = "lot"
    PURCHASE_ORDER = "purchase_order"
    SALES_ORDER = "sales_order"
    UNKNOWN = "unknown"
    INVALID = "invalid"


@dataclass(frozen=True, kw_only=True)
class Scan:
    """One code read as a product, location, lot or order, or refused with the reason.

    ``quantity`` is the number of units the scan stands for: the GS1 count (AI 30 or
    37) times the barcode's units per scan (a case of 12), else 1. ``expires_on`` is
    the expiry (AI 17), else the best-before date (AI 15), else the lot's own expiry.
    ``message`` says in words what the code is, or why it was not understood.
    """

    kind: Kind
    code: str
    message: str
    product: Product | None = None
    location: Location | None = None
    lot: Lot | None = None
    order: PurchaseOrder | SalesOrder | None = None
    sku: str | None = None
    gtin: str | None = None
    lot_code: str | None = None
    expires_on: date | None = None
    produced_on: date | None = None
    serial: str | None = None
    sscc: str | None = None
    quantity: int = 1
    units_per_scan: int = 1

    @property
    def resolved(self) -> bool:
        """Say whether the code named something Stockroom knows."""
        return self.kind not in (Kind.UNKNOWN, Kind.INVALID)

    def as_json(self) -> dict:
        """Return the scan as the JSON object `manage.py scan` prints."""
        return {
            "kind": str(self.kind),
            "sku": self.sku,
            "gtin": self.gtin,
            "lot": self.lot_code,
            "expires_on": self.expires_on.isoformat() if self.expires_on else None,
            "serial": self.serial,
            "quantity": self.quantity,
            "location": self.location.barcode if self.location else None,
            "order": getattr(self.order, "number", None),
            "message": self.message,
        }
