"""Put away / move: source location → item (and lot) → quantity → destination → transfer."""

from inventory import ledger
from inventory.errors import LedgerError
from inventory.models import Product
from scanning.resolve import Kind

from .base import Answer, Entry, Station, ok, refuse
from .common import item_from, load_location, load_lot, remember


class PutAwayStation(Station):
    kind = "putaway"
    title = "Put away / move"
    permission = "inventory.transfer_stock"
    template = "scanning/includes/step_putaway.html"
    help = (
        "Scan the location you take from, then the item (its lot if asked), type a "
        "quantity if it is not 1, then scan where it goes."
    )

    def prompt(self, state: dict) -> str:
        if "source" not in state:
            return "Scan the location you take from."
        item = state.get("item")
        if item is None:
            return "Scan the item."
        if item["tracked"] and not item["lot"]:
            return f"Scan the lot of {item['product']['label']}."
        return "Type the quantity, or scan the destination."

    def handle(self, state: dict, entry: Entry, user) -> Answer:
        if entry.done:
            return refuse("Nothing to finish: scan the destination to move the item.")
        if entry.number is not None:
            return self.quantity(state, entry.number)
        scan = entry.scan
        if "source" not in state:
            if scan.kind != Kind.LOCATION:
                return refuse(f"{scan.message} Scan the location you take from first.")
            state["source"] = remember(scan.location)
            return ok(f"From {scan.location}.")
        item = state.get("item")
        if scan.kind == Kind.LOCATION and item is None:
            state["source"] = remember(scan.location)
            return ok(f"From {scan.location}.")
        if scan.kind == Kind.LOCATION:
            return self.move(state, scan.location, user)
        return self.add_item(state, scan)

    def quantity(self, state: dict, number: int) -> Answer:
        if number < 1:
            return refuse("The quantity must be 1 or more.")
        if state.get("item"):
            state["item"]["quantity"] = number
            return ok(f"Quantity {number}.")
        state["pending"] = number
        return ok(f"Quantity {number} for the next item.")

    def add_item(self, state: dict, scan) -> Answer:
        item = state.get("item")
        found, why = item_from(scan)
        if found is None:
            return refuse(why)
        if item and item["product"]["id"] == found["product"]["id"]:
            return self.same_item(item, found, scan)
        if item:
            return refuse(
                f"Finish {item['product']['label']} first: scan the destination, or press Escape."
            )
        if found["lot_code"] and not found["lot"]:
            return refuse(f"No lot {found['lot_code']} of {found['product']['label']} is known.")
        found["quantity"] = state.pop("pending", None) or scan.quantity
        state["item"] = found
        return ok(f"{found['product']['label']}: {found['quantity']}.")

    def same_item(self, item: dict, found: dict, scan) -> Answer:
        if item["tracked"] and not item["lot"]:
            if not found["lot"]:
                return refuse(f"Scan the lot of {item['product']['label']}.")
            item["lot"] = found["lot"]
            return ok(f"Lot {found['lot']['label']}.")
        if found["lot"] and item["lot"] and found["lot"]["id"] != item["lot"]["id"]:
            return refuse(f"That is lot {found['lot']['label']}, not {item['lot']['label']}.")
        item["quantity"] += scan.quantity
        return ok(f"{item['product']['label']}: {item['quantity']}.")

    def move(self, state: dict, destination, user) -> Answer:
        item = state["item"]
        if item["tracked"] and not item["lot"]:
            return refuse(f"Scan the lot of {item['product']['label']} first.")
        # The product is read and locked in one statement (the first lock of a transfer),
        # so the ledger does not ask for its lock again.
        product = Product.objects.select_for_update().get(pk=item["product"]["id"])
        try:
            with ledger.holding_products([product], locked=True):
                ledger.transfer(
                    product=product,
                    from_location=load_location(state["source"]),
                    to_location=destination,
                    quantity=item["quantity"],
                    lot=load_lot(item),
                    user=user,
                    reference="scan",
                )
        except LedgerError as error:
            return refuse(str(error))
        del state["item"]
        return ok(f"Moved {item['quantity']} × {item['product']['label']} to {destination}.")

    def cancel(self, state: dict) -> Answer:
        if state.pop("item", None) or state.pop("pending", None):
            return ok("Item cancelled. Scan the item.")
        state.clear()
        return ok("Cancelled. Scan the location you take from.")
