"""Look up: scan anything and see what it is, with its stock, contents, expiry or status."""

from django.db.models import Sum

from inventory.models import StockLevel
from scanning.resolve import Kind

from .base import Answer, Entry, Station, ok, refuse

MAX_ROWS = 20


def stock_rows(levels, label) -> list[str]:
    rows = []
    for level in levels[:MAX_ROWS]:
        available = level.on_hand - level.committed
        rows.append(f"{label(level)}: {level.on_hand} on hand, {available} available")
    return rows


def where(level) -> str:
    lot = f" lot {level.lot.code}" if level.lot_id else ""
    return f"{level.location.barcode}{lot}"


def what(level) -> str:
    lot = f" lot {level.lot.code}" if level.lot_id else ""
    return f"{level.product.sku}{lot}"


def levels():
    return (
        StockLevel.objects.select_related("product", "location", "lot")
        .exclude(on_hand=0, committed=0)
        .order_by("location__barcode", "product__sku", "lot__code")
    )


def product_rows(scan) -> list[str]:
    rows = stock_rows(levels().filter(product=scan.product), where)
    return rows or ["No stock anywhere."]


def location_rows(scan) -> list[str]:
    rows = stock_rows(levels().filter(location=scan.location), what)
    return rows or ["Empty."]


def lot_rows(scan) -> list[str]:
    lot = scan.lot
    expiry = f"Expires {lot.expires_on:%Y-%m-%d}." if lot.expires_on else "No expiry date."
    return [expiry, *stock_rows(levels().filter(lot=lot), where)]


def purchase_rows(scan) -> list[str]:
    order = scan.order
    rows = [f"Status: {order.get_status_display()}, supplier {order.supplier.name}."]
    for line in order.lines.select_related("product").order_by("pk")[:MAX_ROWS]:
        rows.append(
            f"{line.product.sku}: {line.quantity_received} of {line.quantity_ordered} received"
        )
    return rows


def sales_rows(scan) -> list[str]:
    order = scan.order
    rows = [f"Status: {order.get_status_display()}."]
    lines = order.lines.values("product__sku").annotate(units=Sum("quantity"))
    rows += [f"{line['product__sku']}: {line['units']} ordered" for line in lines[:MAX_ROWS]]
    return rows


DETAILS = {
    Kind.PRODUCT: product_rows,
    Kind.LOCATION: location_rows,
    Kind.LOT: lot_rows,
    Kind.PURCHASE_ORDER: purchase_rows,
    Kind.SALES_ORDER: sales_rows,
}


class LookupStation(Station):
    kind = "lookup"
    title = "Look up"
    permission = "inventory.view_stocklevel"
    template = "scanning/includes/step_lookup.html"
    help = "Scan a product, location, lot or order to see what it is and where its stock is."

    def handle(self, state: dict, entry: Entry, user) -> Answer:
        if entry.scan is None:
            return refuse("Scan a code to look it up; a number or DONE means nothing here.")
        scan = entry.scan
        state["last"] = {"title": scan.message, "rows": DETAILS[scan.kind](scan)}
        return ok(scan.message)

    def prompt(self, state: dict) -> str:
        return "Scan anything."

    def view(self, state: dict) -> dict:
        return {"last": state.get("last")}
