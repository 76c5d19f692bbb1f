"""Taking in a new sales order in a handful of statements.

``orders.sales.create_order`` checks the request, reads and locks the order's products
(one statement) and calls ``take_in``: one statement reads and locks every free
balance row of those products (and says whether older orders wait for them), the
allocation is planned in memory, and then the order (numbered in its own insert),
its lines, its allocations, the ledger's reservations (one insert and one balance
update for all of them, ``inventory.ledger.reserve_many``), the channel outbox and
the status history are written a statement each, whatever the number of lines. On
PostgreSQL they take two statements: the order with its lines
(``numbering.insert_with_lines``), then everything else (``common.together``).

Lock order: the products (primary-key order), then their free balance rows (primary-key
order), then, only when older orders wait for these products, those orders' rows. That
the balance rows come before any order row is safe: every path that locks an order row
locks the order's products first, so it queues at the products, never in a circle.
"""

import logging

from django.db import transaction
from django.utils import timezone

from common.inserts import insert_later
from common.together import writes_together
from orders.models import Channel, SalesOrder, SalesOrderEvent, SalesOrderLine
from orders.sales import allocation, dropship, errors, intake, numbering
from orders.sales.status import allocated_note, settle

logger = logging.getLogger(__name__)
Status = SalesOrder.Status


class ReferenceTaken(Exception):
    """The channel already has an order with this reference (the insert did nothing)."""


def check_sources(channel: Channel, specs: list[intake.Line], levels) -> None:
    """Refuse lines the channel has nowhere to take from (no warehouse to allocate or file).

    A free row in one of the channel's warehouses shows it has one: no query then.
    """
    stocked = [spec for spec in specs if not spec.dropship]
    if (
        stocked
        and not any(level.link_id is not None for level in levels)
        and not channel.warehouse_ids()
    ):
        raise errors.ChannelHasNoWarehouse(
            f"Channel {channel.code} sells from no warehouse: stocked products such as "
            f"{stocked[0].product.sku} cannot be allocated.",
            field="channel",
        )
    if len(stocked) < len(specs) and dropship.filing_warehouse(channel) is None:
        raise errors.ChannelHasNoWarehouse(
            "There is no active warehouse to file the dropship purchase order under.",
            field="channel",
        )


def serve_older(product_ids: set[int], user, *, exclude: int | None = None) -> None:
    """Let older waiting orders take free units of these products before a new one does.

    The caller holds the locks of ``product_ids``: only lines of those products are
    allocated.
    """
    older = [pk for pk in allocation.waiting_order_ids(product_ids) if pk != exclude]
    if not older or not allocation.free_stock_exists(product_ids):
        return
    rows = {
        row.pk: row
        for row in SalesOrder.objects.select_for_update(of=("self",))
        .select_related("channel")
        .filter(pk__in=older, status__in=SalesOrder.WAITING_STATUSES)
        .order_by("pk")
    }
    for pk in older:
        waiting = rows.get(pk)
        if waiting is None:
            continue
        try:
            with transaction.atomic():
                settle(waiting, None, allocation.allocate(waiting, None, product_ids))
        except errors.SalesError as exc:
            logger.warning("Sales order %s was not re-allocated: %s", pk, exc.message)
            continue
        if not allocation.free_stock_exists(product_ids):
            return


def take_in(
    channel: Channel,
    external_ref: str,
    request_hash: str,
    customer: dict,
    specs: list[intake.Line],
    user,
) -> SalesOrder:
    """Write the checked order, allocated; ``ReferenceTaken`` if its reference is used.

    The caller holds the products' locks (``holding_products``).
    """
    stocked = {spec.product.pk for spec in specs if not spec.dropship}
    levels = (
        allocation.free_levels(channel, stocked, everywhere=True, related=False) if stocked else []
    )
    check_sources(channel, specs, levels)
    contested = {level.product_id for level in levels if level.waiting}
    if contested:
        # Older backorders of products with free units come first (a newer order must not
        # jump them). Orders waiting only for products without a free unit cannot take
        # anything now: asking each of them (thousands behind a sold-out best seller) cost
        # an order seconds.
        serve_older(contested, user)
        levels = allocation.free_levels(channel, stocked)
    order = SalesOrder(
        channel=channel,
        external_ref=external_ref,
        request_hash=request_hash,
        status=Status.OPEN,
        **customer,
    )
    order.created_at = order.updated_at = timezone.now()
    lines, steps, waiting = _planned(order, specs, levels)
    order.status = Status.BACKORDERED if waiting else Status.ALLOCATED
    lines = numbering.insert_with_lines(order, lines)
    if lines is None:
        raise ReferenceTaken(external_ref)
    dropship.order_lines(
        order,
        [(line, spec.source) for line, spec in zip(lines, specs, strict=True) if spec.dropship],
        user,
    )
    with writes_together():
        # The ledger's journal and balances, the outbox, the allocations and the history:
        # one statement on PostgreSQL (nothing reads them back before the commit).
        allocation.reserve(order, steps, user)
        _record_history(order, user, sum(take for _, _, take in steps), waiting)
    # The lines as written, for the caller's answer (the API's), without reading them back.
    order.placed_lines = lines
    return order


def _planned(order: SalesOrder, specs: list[intake.Line], levels) -> tuple[list, list, int]:
    """The order's lines (unsaved, allocated in memory), the allocation's steps, and the
    units left waiting."""
    lines = [
        SalesOrderLine(
            order=order,
            product=spec.product,
            quantity=spec.quantity,
            unit_price=spec.unit_price,
            dropship=spec.dropship,
        )
        for spec in specs
    ]
    stocked_lines = [line for line in lines if not line.dropship]
    steps = allocation.plan(stocked_lines, allocation.by_product(levels))
    for line, _, take in steps:
        line.quantity_allocated += take
    return lines, steps, sum(line.quantity_backordered for line in lines)


def _record_history(order: SalesOrder, user, reserved: int, waiting: int) -> None:
    """The new order's two status events, received and allocated, in one insert (built
    from keys: nothing reads them back)."""
    user_id = user.pk if user is not None else None
    insert_later(
        [
            SalesOrderEvent(
                order_id=order.pk,
                from_status="",
                to_status=Status.OPEN,
                user_id=user_id,
                note=f"Received from {order.channel.code} as {order.external_ref}"[:255],
            ),
            SalesOrderEvent(
                order_id=order.pk,
                from_status=Status.OPEN,
                to_status=order.status,
                user_id=user_id,
                note=allocated_note(reserved, waiting)[:255],
            ),
        ]
    )
