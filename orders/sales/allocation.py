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

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, Subquery, Value, When
from django.utils import timezone

from common.compiled import CompiledCache, CompiledModelQuery, stand_in, with_related
from common.inserts import insert_later, insert_new
from inventory import ledger
from inventory.errors import LedgerError
from inventory.models import StockLevel, is_usable_stock, usable_stock_q
from orders.models import Allocation, Channel, ChannelWarehouse, SalesOrder, SalesOrderLine
from orders.models.sales import backordered_q
from orders.sales import errors

__all__ = [
    "allocate",
    "by_product",
    "can_ship",
    "free_levels",
    "free_stock_exists",
    "plan",
    "release_stale",
    "reserve",
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


def sort_key(level: StockLevel):
    """Order balance rows: warehouse priority, earliest expiry, oldest lot, pick path.

    The row carries its channel link's ``link_priority`` and ``link_id``, its lot's
    ``lot_received_on`` and its location's ``location_path`` (``free_levels``); its
    lot's expiry is the row's own copy.
    """
    expires_on = level.lot_expires_on
    return (
        level.link_priority,
        level.link_id,
        expires_on is None,
        expires_on or date.max,
        level.lot_received_on or date.min,
        level.lot_id or 0,
        level.location_path,
        level.pk,
    )


def free_levels(
    channel: Channel,
    product_ids: Iterable[int],
    *,
    everywhere: bool = False,
    related: bool = True,
) -> list[StockLevel]:
    """Lock and return the free, usable balance rows of these products (one statement).

    Each row carries ``link_priority`` and ``link_id``: the channel's link to the row's
    warehouse (None where the channel does not sell from it). With ``everywhere`` (an
    intake) the rows of every warehouse are read, and each also carries ``waiting``:
    whether an order waits for its product. The caller holds the products' locks.
    With ``related=False`` the rows' location and lot are built only for the rows
    ``reserve`` is given (an intake reads a dozen rows and takes one or two).

    Every order runs it, so it is compiled once per process and shape (building the
    queryset cost 3 ms of Python per order, the database 0.2 ms).
    """
    ids = sorted(set(product_ids))
    key = (id(connections[DEFAULT_DB_ALIAS]), len(ids), everywhere)
    compiled = FREE_LEVELS.get(key, lambda: _compile_free_levels(len(ids), everywhere))
    keys = {f"product_{n}": pk for n, pk in enumerate(ids)}
    return compiled.objects(
        related=related, channel=channel.pk, today=timezone.localdate(), **keys
    )


FREE_LEVELS = CompiledCache(size=64)


def _compile_free_levels(count: int, everywhere: bool) -> CompiledModelQuery:
    """The statement ``free_levels`` runs for ``count`` products, with stand-ins."""
    slots: dict[str, object] = {"channel": stand_in(int), "today": stand_in(date)}
    slots |= {f"product_{n}": stand_in(int, n + 1) for n in range(count)}
    links = ChannelWarehouse.objects.filter(
        channel_id=slots["channel"], warehouse_id=OuterRef("location__warehouse_id")
    ).order_by("priority", "id")
    levels = (
        StockLevel.objects.usable(slots["today"])
        .filter(
            product_id__in=[slots[f"product_{n}"] for n in range(count)],
            on_hand__gt=F("committed"),
        )
        .select_related("location", "lot")
        .annotate(
            link_priority=Subquery(links.values("priority")[:1]),
            link_id=Subquery(links.values("pk")[:1]),
            lot_received_on=F("lot__received_on"),
            location_path=F("location__path"),
        )
    )
    if everywhere:
        levels = levels.annotate(
            waiting=Exists(
                SalesOrderLine.objects.filter(
                    backordered_q(),
                    product_id=OuterRef("product_id"),
                    order__status__in=SalesOrder.WAITING_STATUSES,
                )
            )
        )
    else:
        levels = levels.filter(link_id__isnull=False)
    return CompiledModelQuery(ledger.balances_locking(levels), slots)


def by_product(levels: Iterable[StockLevel]) -> dict[int, list[StockLevel]]:
    """The channel's rows (those with a link) per product, in the order allocation takes them."""
    found: dict[int, list[StockLevel]] = defaultdict(list)
    for level in sorted((row for row in levels if row.link_id is not None), key=sort_key):
        found[level.product_id].append(level)
    return found


def plan(lines: Iterable[SalesOrderLine], candidates: dict[int, list[StockLevel]]) -> list:
    """Which units of which rows each line takes: ``[(line, row, units)]``, in line order.

    A row two lines take from gives the second line what the first left.
    """
    used: dict[int, int] = defaultdict(int)
    steps = []
    for line in lines:
        need = line.quantity_backordered
        for level in candidates.get(line.product_id, ()):
            if need == 0:
                break
            take = min(need, level.on_hand - level.committed - used[level.pk])
            if take <= 0:
                continue
            steps.append((line, level, take))
            used[level.pk] += take
            need -= take
    return steps


def allocate(order: SalesOrder, user, product_ids: Iterable[int] | None = None) -> int:
    """Reserve free stock for every unallocated warehouse unit; return the units reserved.

    With ``product_ids`` only lines of those products are allocated (the caller may
    hold the locks of those products only). The balance rows are locked and read once
    and every reservation is written in batches (``reserve``).
    """
    lines = order.lines.filter(dropship=False).select_related("product").order_by("id")
    if product_ids is not None:
        lines = lines.filter(product_id__in=list(product_ids))
    lines = [line for line in lines if line.quantity_backordered > 0]
    if not lines:
        return 0
    levels = free_levels(order.channel, {line.product_id for line in lines})
    steps = plan(lines, by_product(levels))
    if not steps:
        return 0
    existing = {
        (a.line_id, a.location_id, a.lot_id): a
        for a in Allocation.objects.filter(line__in=lines).order_by("id")
    }
    reserve(order, steps, user, existing)
    taken: dict[int, int] = defaultdict(int)
    for line, _, take in steps:
        taken[line.pk] += take
    SalesOrderLine.objects.filter(pk__in=list(taken)).update(
        quantity_allocated=F("quantity_allocated") + _by_key(taken)
    )
    for line in lines:
        line.quantity_allocated += taken.get(line.pk, 0)
    return sum(taken.values())


def _by_key(amounts: dict[int, int]) -> Case:
    """``CASE id WHEN k THEN n … END``: a per-row amount for one UPDATE of many rows."""
    return Case(
        *(When(pk=pk, then=Value(units)) for pk, units in amounts.items()),
        default=Value(0),
        output_field=IntegerField(),
    )


def reserve(order: SalesOrder, steps: list, user, existing: dict | None = None) -> None:
    """Reserve the planned units through the ledger in one batch and record the allocations.

    ``existing``: the lines' allocations by (line, location, lot), which grow instead
    of getting a twin. A ledger refusal is raised as ``AllocationRefused`` naming the SKU.
    """
    for _, level, _ in steps:
        with_related(level)  # rows read with ``related=False`` get their location and lot
    try:
        ledger.reserve_many(
            reservations=[(line.product, level, take) for line, level, take in steps],
            user=user,
            document=order,
        )
    except LedgerError as exc:
        sku = steps[getattr(exc, "index", 0)][0].product.sku
        raise errors.AllocationRefused(
            f"{sku} could not be allocated: {exc.message}", code=exc.code, field=exc.field
        ) from exc
    keyed = existing is not None  # the caller's allocations grow by the new ones
    existing = existing if keyed else {}
    grown: dict[int, int] = defaultdict(int)
    new: dict[tuple, Allocation] = {}
    for line, level, take in steps:
        key = (line.pk, level.location_id, level.lot_id)
        if key in existing:
            grown[existing[key].pk] += take
            existing[key].quantity += take
        elif key in new:
            new[key].quantity += take
        elif keyed:
            new[key] = Allocation(line=line, location=level.location, lot=level.lot, quantity=take)
        else:  # written and left: built from keys (setting the relations cost more)
            new[key] = Allocation(
                line_id=line.pk, location_id=level.location_id, lot_id=level.lot_id, quantity=take
            )
    if new and keyed:
        insert_new(list(new.values()))
        existing.update(new)
    elif new:
        # A new order's allocations: nobody reads their keys in this transaction.
        insert_later(list(new.values()))
    if grown:
        Allocation.objects.filter(pk__in=list(grown)).update(
            quantity=F("quantity") + _by_key(grown)
        )


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
