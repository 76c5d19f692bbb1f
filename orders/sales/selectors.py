"""Reads about sales orders that pages and services share: what an allocation left
waiting and why, and what a shipment takes from where.

Each function reads a fixed number of queries whatever the number of lines,
products or warehouses. Free stock is the rule every allocation uses
(``inventory.models.usable_level_q``: sellable, active location, lot not expired;
on hand − committed); incoming is ``orders.purchasing.selectors.incoming_lines``.
"""

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import F, Sum
from django.utils import timezone

from inventory.models import StockLevel, usable_level_q
from orders.models import Allocation, ChannelWarehouse, SalesOrder
from orders.purchasing.selectors import incoming_lines

__all__ = ["AllocationSummary", "allocation_summary", "backorder_reasons", "shipment_summary"]


def units(count: int) -> str:
    """``1 unit``, ``2 units``."""
    return f"{count} unit" if count == 1 else f"{count} units"


def join_words(words: list[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    if len(words) < 2:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _free_elsewhere(
    product_ids: set[int], channel_warehouses: set[int]
) -> dict[int, list[tuple[str, int]]]:
    """``{product_id: [(warehouse code, free units), …]}`` outside the channel's warehouses."""
    rows = (
        StockLevel.objects.filter(
            usable_level_q(timezone.localdate()),
            product_id__in=product_ids,
            on_hand__gt=F("committed"),
        )
        .exclude(location__warehouse_id__in=channel_warehouses)
        .order_by()
        .values_list("product_id", "location__warehouse__code")
        .annotate(free=Sum(F("on_hand") - F("committed")))
    )
    found: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for product_id, code, free in rows:
        found[product_id].append((code, free))
    for places in found.values():
        places.sort(key=lambda place: (-place[1], place[0]))
    return found


def _incoming(product_ids: set[int]) -> dict[int, list[tuple[str, int]]]:
    """``{product_id: [(purchase order number, units still to come), …]}``, oldest PO first."""
    rows = (
        incoming_lines(product_ids)
        .order_by("order_id", "id")
        .values_list("product_id", "order__number", "quantity_ordered", "quantity_received")
    )
    found: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for product_id, number, ordered, received in rows:
        found[product_id].append((number, ordered - received))
    return found


def backorder_reasons(order: SalesOrder, short: dict[int, tuple[str, int]]) -> str:
    """Why these products of the order wait for stock, in words; three queries.

    ``short`` is ``{product_id: (sku, units waiting)}``. Names the warehouses the
    channel does not sell from that hold free units, e.g. “POS sells from MAIN only;
    719 free units of MUG-001 are in EAST.”; when no warehouse has any, says so, with
    what is incoming on open purchase orders: “None of TEA-100 is free anywhere;
    40 incoming on PO-000012.”
    """
    if not short:
        return ""
    links = list(
        ChannelWarehouse.objects.filter(channel_id=order.channel_id)
        .order_by("priority", "id")
        .values_list("warehouse_id", "warehouse__code")
    )
    free = _free_elsewhere(set(short), {pk for pk, _ in links})
    incoming = _incoming(set(short))
    codes = [code for _, code in links]
    channel = order.channel.code
    elsewhere, nowhere = [], []
    for product_id, (sku, _) in sorted(short.items(), key=lambda item: item[1][0]):
        places = free.get(product_id)
        if places:
            (code, count), rest = places[0], places[1:]
            verb = "is" if count == 1 else "are"
            phrase = f"{count} free unit{'s' if count != 1 else ''} of {sku} {verb} in {code}"
            phrase += "".join(f", {n} in {c}" for c, n in rest)
        else:
            phrase = f"none of {sku} is free anywhere"
        orders = incoming.get(product_id)
        if orders:
            total = sum(n for _, n in orders)
            numbers = (
                orders[0][0]
                if len(orders) == 1
                else join_words([f"{number} ({n})" for number, n in orders])
            )
            phrase += f"; {total} incoming on {numbers}"
        elif not places:
            phrase += " and none is on order"
        (elsewhere if places else nowhere).append(phrase)
    sentences = []
    if not codes:
        sentences.append(f"{channel} sells from no warehouse" + ("; " if elsewhere else "."))
    elif elsewhere:
        sentences.append(f"{channel} sells from {join_words(codes)} only; ")
    if elsewhere:
        sentences[-1] += "; ".join(elsewhere) + "."
    sentences.extend(_capitalised(phrase) + "." for phrase in nowhere)
    return " ".join(sentences)


@dataclass(frozen=True)
class AllocationSummary:
    allocated: int
    backordered: int
    dropship: int
    text: str


def allocation_summary(order: SalesOrder, *, verb: str = "is") -> AllocationSummary:
    """What the order holds now: allocated, backordered, dropshipped units, and why any wait.

    ``verb`` joins the number and the status (“entered and” after a new order). One
    query when nothing waits, four otherwise. E.g. “SO-000018 is backordered:
    3 units allocated, 5 units wait for stock. POS sells from MAIN only; 719 free units
    of MUG-001 are in EAST.”
    """
    # Through the order's manager: each line knows its order without a query.
    lines = list(order.lines.select_related("product").order_by("id"))
    allocated = sum(line.quantity_allocated for line in lines)
    dropship = sum(line.quantity - line.quantity_shipped for line in lines if line.dropship)
    short: dict[int, tuple[str, int]] = {}
    for line in lines:
        if not line.dropship and line.quantity_backordered > 0:
            _, waiting = short.get(line.product_id, (line.product.sku, 0))
            short[line.product_id] = (line.product.sku, waiting + line.quantity_backordered)
    backordered = sum(waiting for _, waiting in short.values())
    parts = [f"{units(allocated)} allocated"]
    if backordered:
        parts.append(f"{units(backordered)} wait{'s' if backordered == 1 else ''} for stock")
    if dropship:
        parts.append(f"{units(dropship)} to be shipped by the dropship supplier")
    text = f"{order.number} {verb} {order.get_status_display().lower()}: {', '.join(parts)}."
    if backordered:
        text += " " + backorder_reasons(order, short)
    return AllocationSummary(allocated, backordered, dropship, text)


def shipment_summary(order: SalesOrder) -> str:
    """What shipping the order takes from where, e.g. “3 units from MAIN”; one query."""
    rows = (
        Allocation.objects.filter(line__order=order, quantity__gt=0)
        .order_by()
        .values_list("location__warehouse__code")
        .annotate(total=Sum("quantity"))
        .order_by("location__warehouse__code")
    )
    parts = [f"{units(total)} from {code}" for code, total in rows]
    return join_words(parts) or "nothing allocated"
