"""Which stock a sales order gets, and giving back reservations that can no longer ship.

Helpers of ``orders.sales``: every function expects the caller to hold the locks of
the order's products (primary-key order) and of the order row, and calls the ledger
with ``document=order``. Candidates are the channel's warehouses in priority order;
within one warehouse lots with an expiry go first (earliest first), then the oldest
lot, then the pick path. Expired lots and inactive or unsellable places are never
candidates.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from inventory import ledger
from inventory.errors import LedgerError
from inventory.models import StockLevel, is_usable_stock, usable_stock_q
from orders.models import Allocation, SalesOrder, SalesOrderLine
from orders.models.sales import backordered_q
from orders.sales import errors

__all__ = [
    "allocate",
    "can_ship",
    "free_stock_exists",
    "release_stale",
    "sort_key",
    "stale_q",
    "waiting_order_ids",
]


def stale_q(today: date) -> Q:
    """Match allocations whose units can no longer ship: expired lot, place not sellable."""
    return ~usable_stock_q(today)


def can_ship(allocation: Allocation, today: date) -> bool:
    """Whether the allocation's units may still leave (its location and lot loaded)."""
    return is_usable_stock(allocation.location, allocation.lot, today)


def sort_key(rank: dict[int, int]):
    """Order balance rows: warehouse priority, earliest expiry, oldest lot, pick path."""

    def key(level: StockLevel):
        lot = level.lot
        return (
            rank[level.location.warehouse_id],
            lot is None or lot.expires_on is None,
            (lot.expires_on if lot and lot.expires_on else date.max),
            (lot.received_on if lot else date.min),
            (lot.pk if lot else 0),
            level.location.path,
            level.pk,
        )

    return key


def _candidates(warehouse_ids: list[int], product_ids: set[int]) -> dict[int, list[StockLevel]]:
    rank = {warehouse_id: index for index, warehouse_id in enumerate(warehouse_ids)}
    levels = (
        StockLevel.objects.usable(timezone.localdate())
        .in_warehouses(warehouse_ids)
        .filter(product_id__in=product_ids, on_hand__gt=F("committed"))
        .select_related("location", "lot")
        .order_by()
    )
    found: dict[int, list[StockLevel]] = defaultdict(list)
    for level in sorted(levels, key=sort_key(rank)):
        found[level.product_id].append(level)
    return found


def allocate(order: SalesOrder, user, product_ids: Iterable[int] | None = None) -> int:
    """Reserve free stock for every unallocated warehouse unit; return the units reserved.

    With ``product_ids`` only lines of those products are allocated (the caller may
    hold the locks of those products only).
    """
    lines = order.lines.filter(dropship=False).select_related("product").order_by("id")
    if product_ids is not None:
        lines = lines.filter(product_id__in=list(product_ids))
    lines = [line for line in lines if line.quantity_backordered > 0]
    if not lines:
        return 0
    warehouse_ids = order.channel.warehouse_ids()
    if not warehouse_ids:
        return 0
    candidates = _candidates(warehouse_ids, {line.product_id for line in lines})
    existing = {
        (a.line_id, a.location_id, a.lot_id): a
        for a in Allocation.objects.filter(line__in=lines).order_by("id")
    }
    reserved = 0
    for line in lines:
        need = line.quantity_backordered
        taken = 0
        for level in candidates[line.product_id]:
            if need == 0:
                break
            take = min(need, level.on_hand - level.committed)
            if take <= 0:
                continue
            _reserve(order, line, level, take, existing, user)
            need -= take
            taken += take
        if taken:
            SalesOrderLine.objects.filter(pk=line.pk).update(
                quantity_allocated=F("quantity_allocated") + taken
            )
            line.quantity_allocated += taken
            reserved += taken
    return reserved


def _reserve(order: SalesOrder, line: SalesOrderLine, level, take: int, existing: dict, user):
    """Reserve ``take`` units of the balance row for the line; add them to its allocation."""
    try:
        ledger.reserve(
            product=line.product,
            location=level.location,
            quantity=take,
            lot=level.lot,
            user=user,
            document=order,
        )
    except LedgerError as exc:
        raise errors.AllocationRefused(
            f"{line.product.sku} could not be allocated: {exc.message}",
            code=exc.code,
            field=exc.field,
        ) from exc
    level.committed += take
    key = (line.pk, level.location_id, level.lot_id)
    allocation = existing.get(key)
    if allocation is None:
        existing[key] = Allocation.objects.create(
            line=line, location=level.location, lot=level.lot, quantity=take
        )
    else:
        Allocation.objects.filter(pk=allocation.pk).update(quantity=F("quantity") + take)
        allocation.quantity += take


def describe(allocation: Allocation, today: date) -> str:
    """Why the allocation cannot ship, e.g. “3 × TEA-100 in WH1-A-01 (lot L1 expired …)”."""
    location, lot = allocation.location, allocation.lot
    if lot is not None and lot.expires_on is not None and lot.expires_on < today:
        why = f"lot {lot.code} expired on {lot.expires_on.isoformat()}"
    elif not location.active:
        why = "the location is inactive"
    else:
        why = f"a {location.get_kind_display().lower()} location is not sellable"
    return f"{allocation.quantity} × {allocation.line.product.sku} in {location.barcode} ({why})"


def stale_allocations(order: SalesOrder, today: date) -> list[Allocation]:
    """The order's reservations that can no longer ship, oldest first."""
    return list(
        Allocation.objects.filter(stale_q(today), line__order=order, quantity__gt=0)
        .select_related("line__product", "location", "lot")
        .order_by("id")
    )


def release_reservation(allocation: Allocation, *, user, document: SalesOrder) -> None:
    """Give the allocation's reserved units back to the ledger.

    Only the ledger moves; the caller zeroes the allocation and the line's allocated count.
    A ledger refusal is raised as ``AllocationRefused`` naming the SKU.
    """
    try:
        ledger.release(
            product=allocation.line.product,
            location=allocation.location,
            quantity=allocation.quantity,
            lot=allocation.lot,
            user=user,
            document=document,
        )
    except LedgerError as exc:
        raise errors.AllocationRefused(
            f"{allocation.line.product.sku} could not be released: {exc.message}",
            code=exc.code,
            field=exc.field,
        ) from exc


def release_stale(order: SalesOrder, user, today: date) -> list[str]:
    """Give back reservations that can no longer ship; return what was released, described.

    The lines' allocated quantities go down, so ``allocate`` replaces the units from
    good stock (or they wait for stock).
    """
    released = []
    by_line: dict[int, int] = defaultdict(int)
    for allocation in stale_allocations(order, today):
        release_reservation(allocation, user=user, document=order)
        Allocation.objects.filter(pk=allocation.pk).update(quantity=0)
        by_line[allocation.line_id] += allocation.quantity
        released.append(describe(allocation, today))
    for line_id, units in by_line.items():
        SalesOrderLine.objects.filter(pk=line_id).update(
            quantity_allocated=F("quantity_allocated") - units
        )
    return released


def waiting_lines_q(product_ids: Iterable[int] | None = None) -> Exists:
    """An order has warehouse lines (of these products) neither allocated nor shipped."""
    lines = SalesOrderLine.objects.filter(backordered_q(), order=OuterRef("pk"))
    if product_ids is not None:
        lines = lines.filter(product_id__in=list(product_ids))
    return Exists(lines)


def waiting_order_ids(product_ids: Iterable[int]) -> list[int]:
    """Waiting orders with backordered lines of these products, oldest first (one query)."""
    return list(
        SalesOrder.objects.filter(
            waiting_lines_q(product_ids), status__in=SalesOrder.WAITING_STATUSES
        )
        .order_by("created_at", "id")
        .values_list("pk", flat=True)
    )


def free_stock_exists(product_ids: Iterable[int]) -> bool:
    """Whether any sellable, unexpired, uncommitted unit of these products exists."""
    return (
        StockLevel.objects.usable(timezone.localdate())
        .filter(product_id__in=list(product_ids), on_hand__gt=F("committed"))
        .exists()
    )
