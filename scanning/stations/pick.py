"""Pick: scan a sales order → each allocation in location order → scan its location →
the item (and the allocated lot) → quantity → next; the order can ship when all is picked.

Scanning an allocated order starts picking it (``orders.sales.services.start_picking``);
nothing moves in the ledger until the order ships.
"""

from inventory.errors import LedgerError
from orders.models import SalesOrder
from orders.sales.errors import SalesError
from orders.sales.services import pick_list, start_picking
from scanning.resolve import Kind

from .base import Answer, Entry, Station, ok, refuse
from .common import item_from

PICKABLE = (SalesOrder.Status.ALLOCATED, SalesOrder.Status.PICKING)


def pick_row(row: dict) -> dict:
    lot = row["lot"]
    return {
        "location": {"id": row["location"].pk, "label": row["barcode"]},
        "product_id": row["product"].pk,
        "label": f"{row['sku']} {row['product'].name}",
        "lot": {"id": lot.pk, "label": lot.code} if lot else None,
        "quantity": row["quantity"],
        "picked": 0,
    }


def current(state: dict) -> dict | None:
    return next((row for row in state.get("rows", []) if row["picked"] < row["quantity"]), None)


class PickStation(Station):
    kind = "pick"
    title = "Pick"
    permission = "orders.ship_salesorder"
    template = "scanning/includes/step_pick.html"
    help = (
        "Scan the sales order (number or external reference), then for each line scan "
        "the location shown, the item (its lot label when tracked), and type a quantity "
        "if it is not 1."
    )

    def prompt(self, state: dict) -> str:
        if "order" not in state:
            return "Scan the sales order."
        row = current(state)
        if row is None:
            return f"All picked: {state['order']['label']} can ship."
        lot = f" lot {row['lot']['label']}" if row["lot"] else ""
        left = row["quantity"] - row["picked"]
        if not state.get("at_location"):
            return f"Go to {row['location']['label']} and scan it."
        return f"Pick {left} × {row['label']}{lot}."

    def handle(self, state: dict, entry: Entry, user) -> Answer:
        if entry.scan is not None and entry.scan.kind == Kind.SALES_ORDER:
            return self.open_order(state, entry.scan.order, user)
        row = current(state)
        if row is None:
            return refuse(self.prompt(state))
        if entry.number is not None:
            return self.set_picked(state, row, entry.number)
        if entry.done:
            return refuse(self.prompt(state))
        if entry.scan.kind == Kind.LOCATION:
            if entry.scan.location.pk != row["location"]["id"]:
                return refuse(f"Wrong location: go to {row['location']['label']}.")
            state["at_location"] = True
            return ok(f"At {row['location']['label']}.")
        if not state.get("at_location"):
            return refuse(f"Scan {row['location']['label']} first.")
        return self.add(state, row, entry.scan)

    def open_order(self, state: dict, order, user) -> Answer:
        if order.status not in PICKABLE:
            status = order.get_status_display()
            return refuse(f"{order.number} is {status}: only an allocated order can be picked.")
        if order.status == SalesOrder.Status.ALLOCATED:
            try:
                start_picking(order=order, user=user)
            except (SalesError, LedgerError) as error:
                return refuse(str(error))
        state.clear()
        state["order"] = {"id": order.pk, "label": order.number}
        state["rows"] = [pick_row(row) for row in pick_list(order)]
        return ok(f"Picking {order.number}: {len(state['rows'])} line(s).")

    def add(self, state: dict, row: dict, scan) -> Answer:
        found, why = item_from(scan)
        if found is None:
            return refuse(why)
        if found["product"]["id"] != row["product_id"]:
            return refuse(f"That is {found['product']['label']}; pick {row['label']}.")
        if row["lot"]:
            if not found["lot"]:
                return refuse(f"Scan the lot label: lot {row['lot']['label']} is allocated.")
            if found["lot"]["id"] != row["lot"]["id"]:
                return refuse(
                    f"Lot {found['lot']['label']} is not allocated to this order: pick lot "
                    f"{row['lot']['label']} (a manager can re-allocate)."
                )
        units = state.pop("pending", None) or scan.quantity
        return self.set_picked(state, row, row["picked"] + units, scanned=True)

    def set_picked(self, state: dict, row: dict, picked: int, *, scanned: bool = False) -> Answer:
        if not scanned and not state.get("at_location"):
            if picked < 1:
                return refuse("The quantity must be 1 or more.")
            state["pending"] = picked
            return ok(f"Quantity {picked} for the next item.")
        if picked > row["quantity"]:
            return refuse(f"Only {row['quantity']} × {row['label']} to pick here.")
        row["picked"] = picked
        if picked < row["quantity"]:
            return ok(f"{row['label']}: {picked} of {row['quantity']}.")
        following = current(state)
        if following is None or following["location"]["id"] != row["location"]["id"]:
            state["at_location"] = False
        if following is None:
            return ok(f"All picked: {state['order']['label']} can ship.")
        return ok(f"{row['label']}: done. Next: {following['label']}.")

    def cancel(self, state: dict) -> Answer:
        row = current(state)
        if row and (row["picked"] or state.get("pending")):
            row["picked"] = 0
            state.pop("pending", None)
            return ok(f"{row['label']}: picked count cleared.")
        state.clear()
        return ok("Cancelled. Scan the sales order.")
