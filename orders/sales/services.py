"""Sales orders: take them in, allocate stock, pick, ship, cancel, re-allocate backorders.

Every function is keyword-only, validates before it writes and runs in one
transaction (a top-level one is retried when it loses a deadlock). Lock order,
everywhere: the order's products (primary-key order), then the order row, then
the dropship purchase orders, then what the ledger locks. Free stock is read only
after the products are locked (lock first, then read, then decide), so two
allocations of one product never promise the same unit. Refusals raise an
``orders.sales.errors.SalesError`` subclass and change nothing.
"""

import logging
from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, Value, When
from django.utils import timezone

from common.transactions import atomic_with_retry
from inventory import ledger
from inventory.errors import LedgerError
from orders.models import (
    Allocation,
    Channel,
    SalesOrder,
    SalesOrderLine,
)
from orders.sales import allocation, dropship, errors, intake, placing
from orders.sales.selectors import units
from orders.sales.status import (
    copy_back,
    lock_order,
    refuse_done,
    set_status,
    settle,
    status_label,
)

__all__ = [
    "allocate_order",
    "cancel_order",
    "create_order",
    "pick_list",
    "reallocate_backorders",
    "ship_order",
    "start_picking",
    "sweep",
]

logger = logging.getLogger(__name__)
Status = SalesOrder.Status


# --- allocation ---------------------------------------------------------------------


def _refresh(order: SalesOrder, user) -> tuple[int, int]:
    """Replace stale reservations and allocate what waits; return (reserved, released)."""
    replaced = allocation.release_stale(order, user, timezone.localdate())
    reserved = allocation.allocate(order, user)
    settle(order, user, reserved, replaced)
    return reserved, len(replaced)


# --- services -----------------------------------------------------------------------


def create_order(
    *,
    channel: Channel,
    external_ref: str,
    customer_name: str,
    customer_email: str = "",
    shipping_address: str,
    lines: list[dict],
    request_hash: str = "",
    user=None,
) -> tuple[SalesOrder, bool]:
    """Take in an order from ``channel`` and allocate it; return it and whether it is new.

    The same ``external_ref`` again returns the existing order when ``request_hash``
    matches (``(order, False)``) and raises ``DuplicateReference`` otherwise. Without
    a ``request_hash`` one is computed from the arguments.
    """
    if not channel.active:
        raise errors.ChannelInactive(
            f"Channel {channel.code} is inactive: it cannot place orders.", field="channel"
        )
    external_ref = intake.check_text(
        external_ref, field="external_ref", what="an external reference", limit=100
    )
    if not request_hash:
        request_hash = intake.request_hash_of(
            customer_name=customer_name,
            customer_email=customer_email,
            shipping_address=shipping_address,
            lines=_plain_lines(lines),
        )
    try:
        customer = _check_customer(customer_name, customer_email, shipping_address)
        return _take_in(channel, external_ref, request_hash, customer, lines, user), True
    except (errors.SalesError, placing.ReferenceTaken):
        # The reference is looked up only now, so a new order costs no query for it: a
        # repeated request answers with its order and a reference used by another order
        # is refused, before any other refusal of the body, as if looked up first.
        repeated = intake.existing_order(channel, external_ref, request_hash)
        if repeated:
            return repeated
        raise


@atomic_with_retry
def _take_in(channel, external_ref, request_hash, customer, lines, user) -> SalesOrder:
    """Check the lines (reading and locking their products), then write the order."""
    specs = intake.check_lines(lines, lock=True)
    with ledger.holding_products([spec.product for spec in specs], locked=True):
        order = placing.take_in(channel, external_ref, request_hash, customer, specs, user)
    return order


def _plain_lines(lines):
    """The lines as the request hash reads them: mappings as plain dicts."""
    if not isinstance(lines, (list, tuple)):
        return lines
    return [dict(spec) if isinstance(spec, Mapping) else spec for spec in lines]


def _check_customer(customer_name, customer_email, shipping_address) -> dict:
    """Return the customer's cleaned name, email and shipping address as order fields."""
    return {
        "customer_name": intake.check_text(
            customer_name, field="customer_name", what="a customer name", limit=200
        ),
        "customer_email": intake.check_email(customer_email),
        "shipping_address": intake.check_text(
            shipping_address,
            field="shipping_address",
            what="a shipping address",
            limit=intake.MAX_ADDRESS,
        ),
    }


@atomic_with_retry
def allocate_order(*, order: SalesOrder, user=None) -> SalesOrder:
    """Allocate whatever of the order still waits for stock.

    Reservations that can no longer ship (lot expired since, location made inactive or
    unsellable) are released first and replaced from good stock; what cannot be
    replaced waits, and the order is backordered.
    """
    locked = lock_order(order)
    refuse_done(locked, "allocated")
    _refresh(locked, user)
    return copy_back(locked, order)


@atomic_with_retry
def start_picking(*, order: SalesOrder, user=None) -> SalesOrder:
    """Mark a fully allocated order as being picked."""
    locked = lock_order(order)
    if locked.status != Status.ALLOCATED:
        hint = {
            Status.BACKORDERED: " It waits for stock: it can be picked once fully allocated.",
            Status.PICKING: " It is already being picked.",
        }.get(locked.status, "")
        raise errors.InvalidSalesTransition(
            f"{locked.number} is {status_label(locked.status)}: only an allocated order can be "
            f"picked.{hint}",
            field="status",
        )
    set_status(locked, Status.PICKING, user, "Picking started")
    return copy_back(locked, order)


@atomic_with_retry
def ship_order(
    *, order: SalesOrder, user=None, carrier: str = "", tracking_number: str = ""
) -> SalesOrder:
    """Ship every allocated warehouse unit through the ledger and record its FIFO cost.

    ``carrier`` and ``tracking_number`` (optional, stripped) are stored on the order with
    the time it shipped, and named in its status history.
    """
    carrier = intake.optional_text(
        carrier, field="carrier", what="carrier", limit=intake.MAX_CARRIER
    )
    tracking_number = intake.optional_text(
        tracking_number,
        field="tracking_number",
        what="tracking number",
        limit=intake.MAX_TRACKING_NUMBER,
    )
    locked = lock_order(order)
    allocations = _shippable_allocations(locked)
    shipped = _ship_reservations(locked, allocations, user)
    _record_shipped(shipped)
    total = sum(count for _, count, _ in shipped.values())
    note = f"Shipped {units(total)}"
    if carrier:
        note += f" via {carrier}"
    if tracking_number:
        note += f", tracking {tracking_number}"
    complete = not locked.lines.filter(quantity_shipped__lt=F("quantity")).exists()
    # A dropship line left to its supplier keeps the order's status; the warehouse part
    # has left all the same.
    set_status(
        locked,
        Status.SHIPPED if complete else locked.status,
        user,
        note,
        shipped_at=timezone.now(),
        carrier=carrier,
        tracking_number=tracking_number,
    )
    return copy_back(locked, order)


def _shippable_allocations(locked: SalesOrder) -> list[Allocation]:
    """The locked order's reservations, if it may ship and every one of them can leave."""
    if locked.status == Status.BACKORDERED:
        raise errors.InvalidSalesTransition(
            f"{locked.number} is backordered: it can ship only once every line is allocated.",
            field="status",
        )
    if locked.status not in (Status.ALLOCATED, Status.PICKING):
        raise errors.InvalidSalesTransition(
            f"{locked.number} is {status_label(locked.status)}: only an allocated or picking "
            "order can be shipped.",
            field="status",
        )
    allocations = list(
        Allocation.objects.filter(line__order=locked, quantity__gt=0)
        .select_related("line__product", "location", "lot")
        .order_by("line_id", "id")
    )
    if not allocations:
        raise errors.InvalidSalesTransition(
            f"{locked.number} has nothing to ship from the warehouse"
            + (
                ": its lines are shipped by the dropship supplier."
                if locked.lines.filter(dropship=True).exists()
                else "."
            ),
            field="status",
        )
    today = timezone.localdate()
    stale = [row for row in allocations if not allocation.can_ship(row, today)]
    if stale:
        # What was picked can no longer leave; replacing it here would ship units nobody
        # picked. Allocate replaces it and prints a new pick list.
        raise errors.AllocationRefused(
            f"{locked.number} cannot ship: "
            + "; ".join(allocation.describe(row, today) for row in stale)
            + ". Use Allocate to replace them with stock that can ship, then pick again.",
            code="stale_allocation",
            field="status",
        )
    return allocations


def _ship_reservations(
    locked: SalesOrder, allocations: list[Allocation], user
) -> dict[int, tuple[SalesOrderLine, int, Decimal]]:
    """Ship the reservations through the ledger in one batch and mark the allocations
    shipped; return ``{line_id: (line, units, cost)}``."""
    try:
        moves = ledger.ship_many(
            shipments=[
                (row.line.product, row.location, row.lot, row.quantity) for row in allocations
            ],
            user=user,
            document=locked,
            reference=locked.number,
        )
    except LedgerError as exc:
        row = allocations[getattr(exc, "index", 0)]
        raise errors.AllocationRefused(
            f"{row.line.product.sku} in {row.location} could not be shipped: {exc.message}",
            code=exc.code,
            field=exc.field,
        ) from exc
    by_row = Case(
        *(When(pk=row.pk, then=Value(row.quantity)) for row in allocations),
        default=Value(0),
        output_field=IntegerField(),
    )
    Allocation.objects.filter(pk__in=[row.pk for row in allocations]).update(
        quantity=0, quantity_shipped=F("quantity_shipped") + by_row
    )
    shipped: dict[int, tuple[SalesOrderLine, int, Decimal]] = {}
    for reservation, move in zip(allocations, moves, strict=True):
        line = reservation.line
        _, count, cost = shipped.get(line.pk, (line, 0, Decimal("0")))
        shipped[line.pk] = (line, count + reservation.quantity, cost + move.total_cost)
    return shipped


def _record_shipped(shipped: dict[int, tuple[SalesOrderLine, int, Decimal]]) -> None:
    """Move the shipped units of each line from allocated to shipped, with their cost."""
    lines = []
    for line, count, cost in shipped.values():
        line.quantity_allocated -= count
        line.quantity_shipped += count
        line.cost_of_goods = (line.cost_of_goods or Decimal("0")) + cost
        lines.append(line)
    SalesOrderLine.objects.bulk_update(
        lines, ["quantity_allocated", "quantity_shipped", "cost_of_goods"]
    )


@atomic_with_retry
def cancel_order(*, order: SalesOrder, user=None, reason: str = "") -> SalesOrder:
    """Cancel an order nothing of which was shipped: release its stock and its dropship lines."""

    locked = lock_order(order)
    if locked.status == Status.CANCELLED:
        raise errors.InvalidSalesTransition(
            f"{locked.number} is already cancelled.", field="status"
        )
    if locked.status == Status.SHIPPED or locked.lines.filter(quantity_shipped__gt=0).exists():
        raise errors.InvalidSalesTransition(
            f"{locked.number} has shipped units: a shipped order cannot be cancelled.",
            field="status",
        )
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    dropship.cancel_lines(locked, user)
    allocations = list(
        Allocation.objects.filter(line__order=locked, quantity__gt=0)
        .select_related("line__product", "location", "lot")
        .order_by("id")
    )
    for reservation in allocations:
        allocation.release_reservation(reservation, user=user, document=locked)
    Allocation.objects.filter(line__order=locked, quantity__gt=0).update(quantity=0)
    SalesOrderLine.objects.filter(order=locked).update(quantity_allocated=0)
    # The releases sent ``stock_changed`` (increased): waiting orders get the units
    # after commit (``orders.sales.tasks.on_stock_changed``).
    set_status(locked, Status.CANCELLED, user, reason or "Cancelled", cancelled_at=timezone.now())
    return copy_back(locked, order)


def reallocate_backorders(product_ids: Iterable[int]) -> int:
    """Allocate waiting orders of these products, oldest first; return how many gained units.

    Each order is allocated in its own transaction.
    """
    ids = sorted({int(pk) for pk in product_ids})
    if not ids:
        return 0
    gained = 0
    for order_id in allocation.waiting_order_ids(ids):
        try:
            if _reallocate_one(order_id, SalesOrder.WAITING_STATUSES)[0]:
                gained += 1
        except errors.SalesError as exc:
            # One order the ledger refuses must not keep stock from the orders after it.
            logger.warning("Sales order %s was not re-allocated: %s", order_id, exc.message)
    return gained


@atomic_with_retry
def _reallocate_one(order_id: int, statuses) -> tuple[int, int, str]:
    """Refresh one order in its own transaction; return (reserved, released, status)."""
    locked = lock_order(SalesOrder(pk=order_id))
    if locked.status not in statuses:
        return 0, 0, locked.status
    reserved, released = _refresh(locked, None)
    return reserved, released, locked.status


def sweep() -> dict[str, int]:
    """Nightly housekeeping: every waiting order and every order holding stock that can no
    longer ship is refreshed, oldest first, each in its own transaction; channels hear
    Return counts for a summary.
    """
    today = timezone.localdate()
    stale = Allocation.objects.filter(
        allocation.stale_q(today), quantity__gt=0, line__order=OuterRef("pk")
    )
    order_ids = list(
        SalesOrder.objects.filter(
            Q(status__in=SalesOrder.WAITING_STATUSES)
            | Q(Exists(stale), status__in=SalesOrder.ACTIVE_STATUSES)
        )
        .order_by("created_at", "id")
        .values_list("pk", flat=True)
    )
    summary = dict.fromkeys(
        (
            "orders",
            "allocated_orders",
            "units_allocated",
            "stale_released",
            "backordered",
            "refused",
        ),
        0,
    )
    for order_id in order_ids:
        summary["orders"] += 1
        try:
            reserved, released, status = _reallocate_one(order_id, SalesOrder.ACTIVE_STATUSES)
        except errors.SalesError as exc:
            logger.warning("Sales order %s was not refreshed: %s", order_id, exc.message)
            summary["refused"] += 1
            continue
        summary["allocated_orders"] += bool(reserved)
        summary["units_allocated"] += reserved
        summary["stale_released"] += released
        summary["backordered"] += status == Status.BACKORDERED
    return summary


def pick_list(order: SalesOrder) -> list[dict]:
    """Rows to pick for the order, in location path order (one query)."""
    rows = (
        Allocation.objects.filter(line__order=order, quantity__gt=0)
        .select_related("location", "lot", "line__product")
        .order_by("location__path", "line__product__sku", "id")
    )
    return [
        {
            "location": row.location,
            "path": row.location.path,
            "barcode": row.location.barcode,
            "product": row.line.product,
            "sku": row.line.product.sku,
            "lot": row.lot,
            "expires_on": row.lot.expires_on if row.lot else None,
            "quantity": row.quantity,
        }
        for row in rows
    ]
