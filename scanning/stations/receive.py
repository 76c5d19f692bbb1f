"""Receive: scan a PO → items (GS1 lot and expiry fill both, else asked for) → quantity →
destination (DONE: the receiving dock) → ``orders.purchasing.receiving.receive_line``."""

import re
from datetime import date, datetime

from common.transactions import joined
from inventory import ledger
from inventory.errors import LedgerError
from inventory.models import Lot
from orders.models import PurchaseOrder, PurchaseOrderLine
from orders.purchasing.errors import PurchasingError
from orders.purchasing.receiving import receive_line
from scanning.resolve import Kind

from .base import Answer, Entry, Refused, Station, ok, refuse
from .common import item_from

OPEN = (PurchaseOrder.Status.SENT, PurchaseOrder.Status.PARTIALLY_RECEIVED)
DATE_FORMATS = ("%Y-%m-%d", "%y%m%d")


def read_date(text: str) -> date | None:
    text = text.strip()
    for format in DATE_FORMATS:
        if re.fullmatch(r"\d{6}|\d{4}-\d{2}-\d{2}", text):
            try:
                return datetime.strptime(text, format).date()
            except ValueError:
                continue
    return None


class ReceiveStation(Station):
    kind = "receive"
    title = "Receive"
    permission = "orders.receive_purchaseorder"
    template = "scanning/includes/step_receive.html"
    help = (
        "Scan the purchase order, then each item (a GS1 code fills lot and expiry), type "
        "a quantity if it is not 1, then scan the destination, or DONE for the receiving dock."
    )

    def prompt(self, state: dict) -> str:
        item = state.get("item")
        if "order" not in state:
            return "Scan the purchase order."
        if item is None:
            return "Scan an item of the order."
        if item["tracked"] and not item["lot_code"]:
            return f"Type or scan the lot code of {item['label']}."
        if item["needs_expiry"] and not item["expires_on"]:
            return "Type the expiry date (YYYY-MM-DD or YYMMDD)."
        return "Type the quantity, or scan the destination (DONE: receiving dock)."

    def wants_text(self, state: dict) -> bool:
        item = state.get("item")
        return bool(
            item and self.prompt(state).startswith(("Type or scan the lot", "Type the ex"))
        )

    def handle(self, state: dict, entry: Entry, user) -> Answer:
        item = state.get("item")
        if self.wants_text(state):
            return self.fill(item, entry)
        if entry.scan is not None and entry.scan.kind == Kind.PURCHASE_ORDER:
            return self.open_order(state, entry.scan.order)
        if "order" not in state:
            return refuse("Scan the purchase order first.")
        if entry.number is not None:
            return self.quantity(state, entry.number)
        if entry.done:
            return self.post(state, None, user) if item else refuse("Scan an item first.")
        if entry.scan.kind == Kind.LOCATION:
            return (
                self.post(state, entry.scan.location, user)
                if item
                else refuse("Scan an item before its destination.")
            )
        return self.add_item(state, entry.scan)

    def open_order(self, state: dict, order) -> Answer:
        if state.get("item"):
            return refuse(f"Finish {state['item']['label']} first, or press Escape.")
        if order.status not in OPEN:
            return refuse(
                f"{order.number} is {order.get_status_display()}: it cannot be received."
            )
        state.clear()
        state["order"] = {"id": order.pk, "label": order.number}
        return ok(f"Receiving {order.number}.")

    def quantity(self, state: dict, number: int) -> Answer:
        if number < 1:
            return refuse("The quantity must be 1 or more.")
        if state.get("item"):
            state["item"]["quantity"] = number
            return ok(f"Quantity {number}.")
        state["pending"] = number
        return ok(f"Quantity {number} for the next item.")

    def add_item(self, state: dict, scan) -> Answer:
        found, why = item_from(scan)
        if found is None:
            return refuse(why)
        item = state.get("item")
        if item and item["line"] and item["product_id"] == found["product"]["id"]:
            if found["lot_code"] and found["lot_code"] != item["lot_code"]:
                return refuse(f"That is lot {found['lot_code']}, not {item['lot_code']}.")
            item["quantity"] += scan.quantity
            return ok(f"{item['label']}: {item['quantity']}.")
        if item:
            return refuse(f"Finish {item['label']} first, or press Escape.")
        line = (
            PurchaseOrderLine.objects.filter(
                order_id=state["order"]["id"], product_id=found["product"]["id"]
            )
            .select_related("product")
            .first()
        )
        if line is None:
            return refuse(f"{found['product']['label']} is not on {state['order']['label']}.")
        product = line.product
        state["item"] = {
            "line": line.pk,
            "product_id": product.pk,
            "label": found["product"]["label"],
            "tracked": product.is_lot_tracked,
            "needs_expiry": product.requires_expiry,
            "lot_code": found["lot_code"] if product.is_lot_tracked else None,
            "expires_on": found["expires_on"],
            "quantity": state.pop("pending", None) or scan.quantity,
        }
        return ok(f"{found['product']['label']}: {state['item']['quantity']}.")

    def fill(self, item: dict, entry: Entry) -> Answer:
        text = entry.code.strip()
        if not item["lot_code"]:
            if not text or entry.done:
                return refuse(f"Type or scan the lot code of {item['label']}.")
            item["lot_code"] = text
            known = Lot.objects.filter(product_id=item["product_id"], code=text).first()
            if known and known.expires_on:
                item["expires_on"] = known.expires_on.isoformat()
            return ok(f"Lot {text}.")
        expires_on = read_date(text)
        if expires_on is None:
            return refuse(f"“{text}” is not a date: type YYYY-MM-DD or YYMMDD.")
        item["expires_on"] = expires_on.isoformat()
        return ok(f"Expires {expires_on.isoformat()}.")

    def post(self, state: dict, location, user) -> Answer:
        item = state["item"]
        # The product is locked with this read (a receipt's first lock), so the receipt
        # does not ask for it again.
        line = (
            PurchaseOrderLine.objects.select_related("order", "product")
            .select_for_update(of=("product",))
            .get(pk=item["line"])
        )
        expires_on = date.fromisoformat(item["expires_on"]) if item["expires_on"] else None
        try:
            # No savepoint of its own: a refusal leaves the submission's atomic block as
            # ``Refused``, which rolls back whatever the receipt wrote before it refused.
            with ledger.holding_products([line.product], locked=True), joined():
                receipt = receive_line(
                    line=line,
                    quantity=item["quantity"],
                    location=location,
                    lot_code=item["lot_code"],
                    expires_on=expires_on if item["tracked"] else None,
                    user=user,
                )
        except (PurchasingError, LedgerError) as error:
            raise Refused(str(error)) from error
        del state["item"]
        return ok(
            f"Received {item['quantity']} × {item['label']} into {receipt.move.to_location}."
        )

    def cancel(self, state: dict) -> Answer:
        if state.pop("item", None) or state.pop("pending", None):
            return ok("Item cancelled. Scan an item of the order.")
        state.clear()
        return ok("Cancelled. Scan the purchase order.")
