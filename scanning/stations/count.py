"""Count: scan a location, then each item (each scan adds its units, a typed number sets
the count of the last item); DONE posts ``ledger.count`` differences for that location.

Items expected at the location but not scanned are counted as zero: a location count
is the whole location. Blind mode hides the expected quantities.

Each scan looks up the balance of the item scanned (one query) and the page shows a
summary, the last item, and at most ``SHOWN`` rows (the latest scans, then balances not
scanned yet) with "and N more": a scan costs the same queries and rendering in a bin
of five balances as in one of five thousand.
"""

from django.db import transaction
from django.db.models import Count, F, OuterRef, Q, Subquery, Window
from django.utils import timezone

from inventory import ledger
from inventory.errors import LedgerError
from inventory.models import Lot, Product, StockLevel, StockMove
from scanning.resolve import Kind
from warehouses.models import Location

from .base import Answer, Entry, Station, ok, refuse
from .common import item_from, load_location, remember

SHOWN = 50  # rows of the count table on the page; the rest is "and N more"


def key(product_id: int, lot_id: int | None) -> str:
    return f"{product_id}:{lot_id or ''}"


def expected_levels(location_id: int):
    return StockLevel.objects.filter(location_id=location_id).exclude(on_hand=0)


class CountStation(Station):
    kind = "count"
    title = "Count"
    permission = "inventory.transfer_stock"
    template = "scanning/includes/step_count.html"
    help = (
        "Scan the location, then every item in it (each scan adds its units; a number "
        "typed after an item sets its count), then DONE. Items not scanned count as zero."
    )

    def prompt(self, state: dict) -> str:
        if "location" not in state:
            return "Scan the location to count."
        return "Scan each item; type a number to set the last item's count; DONE to finish."

    def handle(self, state: dict, entry: Entry, user) -> Answer:
        if entry.command == "blind":
            state["blind"] = not state.get("blind", False)
            return ok(
                "Blind count: expected quantities hidden." if state["blind"] else "Blind off."
            )
        if "location" not in state:
            if entry.scan is None or entry.scan.kind != Kind.LOCATION:
                return refuse("Scan the location to count first.")
            state["location"] = remember(entry.scan.location)
            state["lines"] = []
            return ok(f"Counting {entry.scan.location}.")
        if entry.done:
            return self.finish(state, user)
        if entry.number is not None:
            return self.set_count(state, entry.number)
        if entry.scan.kind == Kind.LOCATION:
            return refuse(f"Finish counting {state['location']['label']} (DONE) or press Escape.")
        return self.add(state, entry.scan)

    def set_count(self, state: dict, number: int) -> Answer:
        if not state["lines"]:
            state["pending"] = number
            return ok(f"{number} units for the next item.")
        line = state["lines"][-1]
        line["counted"] = number
        return ok(f"{line['label']}: counted {number}.")

    def add(self, state: dict, scan) -> Answer:
        found, why = item_from(scan)
        if found is None:
            return refuse(why)
        if found["lot_code"] and not found["lot"]:
            return refuse(f"No lot {found['lot_code']} of {found['product']['label']} is known.")
        if found["tracked"] and not found["lot"]:
            return refuse(f"Scan the lot label of {found['product']['label']}.")
        lot = found["lot"]
        label = found["product"]["label"] + (f" lot {lot['label']}" if lot else "")
        this = key(found["product"]["id"], lot["id"] if lot else None)
        units = state.pop("pending", None) or scan.quantity
        lines = state["lines"]
        line = next((row for row in lines if row["key"] == this), None)
        if line is None:
            line = {"key": this, "label": label, "counted": 0}
        else:
            lines.remove(line)
        line["counted"] += units
        line["level"], line["expected"] = balance(
            state["location"]["id"], found["product"]["id"], lot["id"] if lot else None
        )
        lines.append(line)
        return ok(f"{label}: {line['counted']}.")

    def finish(self, state: dict, user) -> Answer:
        location = load_location(state["location"])
        counted = {line["key"]: line["counted"] for line in state["lines"]}
        for level in expected_levels(location.pk):
            counted.setdefault(key(level.product_id, level.lot_id), 0)
        products = Product.objects.in_bulk([int(k.split(":")[0]) for k in counted])
        lots = Lot.objects.in_bulk([int(k.split(":")[1]) for k in counted if k.split(":")[1]])
        changed = 0
        try:
            with transaction.atomic():
                for item in sorted(counted):
                    product_id, lot_id = item.split(":")
                    move = ledger.count(
                        product=products[int(product_id)],
                        location=location,
                        counted=counted[item],
                        lot=lots[int(lot_id)] if lot_id else None,
                        user=user,
                        reference="scan count",
                    )
                    changed += move is not None
        except LedgerError as error:
            return refuse(str(error))
        blind = state.get("blind", False)
        state.clear()
        state["blind"] = blind
        return ok(f"Counted {location}: {changed} difference(s) posted.")

    def cancel(self, state: dict) -> Answer:
        if state.get("lines"):
            state["lines"].pop()
            return ok("Last item removed from the count.")
        blind = state.get("blind", False)
        state.clear()
        state["blind"] = blind
        return ok("Cancelled. Scan the location to count.")

    def view(self, state: dict) -> dict:
        """The last item, a summary and at most ``SHOWN`` rows: latest scans first, then
        (unless blind) balances not scanned yet; one query, whatever the location holds."""
        lines = state.get("lines", [])
        shown = lines[::-1][:SHOWN]
        step = {
            "last": lines[-1] if lines else None,
            "lines": shown,
            "scanned": len(lines),
            "units": sum(line["counted"] for line in lines),
            "more_lines": len(lines) - len(shown),
        }
        if "location" not in state or state.get("blind"):
            return step
        missing, not_scanned = not_scanned_levels(
            state["location"]["id"],
            [line["level"] for line in lines if line.get("level")],
            SHOWN - len(shown),
        )
        step["missing"] = [
            {"label": f"{sku} {name}" + (f" lot {lot}" if lot else ""), "expected": on_hand}
            for sku, name, lot, on_hand in missing
        ]
        step["not_scanned"] = not_scanned
        step["more_missing"] = not_scanned - len(missing)
        step["show_expected"] = True
        return step


def balance(location_id: int, product_id: int, lot_id: int | None) -> tuple[int | None, int]:
    """Return the id and on-hand units of the item's balance in the location (or None, 0)."""
    row = (
        StockLevel.objects.filter(location_id=location_id, product_id=product_id, lot_id=lot_id)
        .values_list("pk", "on_hand")
        .first()
    )
    return row if row else (None, 0)


def not_scanned_levels(location_id: int, scanned: list[int], room: int) -> tuple[list, int]:
    """Return up to ``room`` expected balances not among ``scanned`` ids as (sku, name, lot
    code, on hand), and how many there are in all (one query: a window count rides along)."""
    levels = expected_levels(location_id).exclude(pk__in=scanned)
    if room <= 0:
        return [], levels.count()
    rows = list(
        levels.annotate(total=Window(Count("id")))
        .order_by("pk")
        .values_list("product__sku", "product__name", "lot__code", "on_hand", "total")[:room]
    )
    return [row[:4] for row in rows], rows[0][4] if rows else 0


def locations_by_last_count(limit: int = 200) -> list:
    """Active locations, never counted first, then longest since the last count move."""
    last = (
        StockMove.objects.filter(kind=StockMove.Kind.COUNT)
        .filter(Q(to_location=OuterRef("pk")) | Q(from_location=OuterRef("pk")))
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    rows = list(
        Location.objects.filter(active=True)
        .select_related("warehouse")
        .annotate(last_counted=Subquery(last))
        .order_by(F("last_counted").asc(nulls_first=True), "barcode")[:limit]
    )
    now = timezone.now()
    for row in rows:
        row.days = (now - row.last_counted).days if row.last_counted else None
    return rows
