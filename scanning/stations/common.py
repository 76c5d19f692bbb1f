"""Small helpers the stations share: remembering a scanned thing by id and label."""

from inventory.models import Lot, Product
from scanning.resolve import Kind, Scan
from warehouses.models import Location


def remember(obj, label: str | None = None) -> dict:
    return {"id": obj.pk, "label": label or str(obj)}


def product_label(product) -> str:
    return f"{product.sku} {product.name}"


def item_from(scan: Scan) -> tuple[dict | None, str | None]:
    """Return ``({product, lot, lot_code, expires_on, tracked}, None)`` or ``(None, why)``.

    A product scan, a GS1 product with a lot, or a lot label all name an item.
    """
    if scan.kind == Kind.LOT:
        product = scan.lot.product
    elif scan.kind == Kind.PRODUCT:
        product = scan.product
    else:
        return None, f"That is {scan.message[:1].lower()}{scan.message[1:]} Scan an item."
    lot = scan.lot
    return {
        "product": remember(product, product_label(product)),
        "lot": remember(lot, lot.code) if lot else None,
        "lot_code": scan.lot_code or (lot.code if lot else None),
        "expires_on": scan.expires_on.isoformat() if scan.expires_on else None,
        "tracked": product.tracking != Product.Tracking.NONE,
    }, None


def load_lot(item: dict) -> Lot | None:
    return Lot.objects.get(pk=item["lot"]["id"]) if item.get("lot") else None


def load_location(remembered: dict) -> Location:
    return Location.objects.select_related("warehouse").get(pk=remembered["id"])
