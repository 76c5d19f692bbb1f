"""Taking in a new sales order in a handful of statements.

``orders.sales.create_order`` checks the request, reads and locks the order's products
(one statement) and calls ``take_in``: one statement reads and locks every free
balance row of those products (and says whether older orders wait for them), the
allocation is planned in memory, and then the order (numbered in its own insert),
its lines, its allocations, the ledger's reservations (one insert and one balance
update for all of them, ``inventory.ledger.reserve_many``), the channel outbox and
the status history are written a statement each, whatever the number of lines.

Lock order: the products (primary-key order), then their free balance rows (primary-key
order), then, only when older orders wait for these products, those orders' rows. That
the balance rows come before any order row is safe: every path that locks an order row
locks the order's products first, so it queues at the products, never in a circle.
"""

import functools
import logging
import re
import uuid

from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone

from common.compiled import preparing_cursor
from common.inserts import insert_later, insert_new
from common.together import writes_together
from orders.models import Channel, SalesOrder, SalesOrderEvent, SalesOrderLine
from orders.sales import allocation, dropship, errors, intake
from orders.sales.status import allocated_note, settle

logger = logging.getLogger(__name__)
Status = SalesOrder.Status


class ReferenceTaken(Exception):
    """The channel already has an order with this reference (the insert did nothing)."""


def insert_numbered(order: SalesOrder) -> bool:
    """Insert ``order`` numbered ``SO-`` and its key (six digits at least) in one statement.

    Return False, inserting nothing, when the channel's reference is already taken.
    """
    shape = _numbered_insert(connection.vendor, connection.alias)
    if shape is None:
        return _insert_then_number(order)
    sql, before, fields, after = shape
    values = [f.get_db_prep_save(getattr(order, f.attname), connection) for f in fields]
    params = [*before, *values, *after]
    with preparing_cursor(connection) as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    order.pk, order.number = row
    order._state.adding = False
    order._state.db = connection.alias
    return True


@functools.cache
def _numbered_insert(vendor: str, alias: str) -> tuple[str, tuple, list, tuple] | None:
    """The numbering insert's text, the parameters before the order's values, the fields
    of those values and the parameters after them; built once per database and vendor
    (building it on every order cost more than running it)."""
    ops = connections[alias].ops
    meta = SalesOrder._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key and f.name != "number"]
    columns = ", ".join(ops.quote_name(f.column) for f in fields)
    table, key = ops.quote_name(meta.db_table), ops.quote_name(meta.pk.column)
    if vendor == "postgresql":
        # Each value cast to its column's type without a length (an explicit cast to
        # varchar(n) would cut a long text where the insert refuses it): the statement is
        # prepared (values bound on the server), where an empty value of a SELECT list
        # would otherwise be text.
        typed = ", ".join(f"%s::{_base_type(f, connections[alias])}" for f in fields)
        sql = (
            f"WITH n AS (SELECT nextval(pg_get_serial_sequence(%s, %s)) AS id) "
            f"INSERT INTO {table} ({key}, number, {columns}) SELECT n.id, 'SO-' || CASE "
            "WHEN n.id < 1000000 THEN lpad(n.id::text, 6, '0') ELSE n.id::text END, "
            f"{typed} FROM n ON CONFLICT DO NOTHING RETURNING {key}, number"
        )
        return sql, (meta.db_table, meta.pk.column), fields, ()
    if vendor == "sqlite":
        # One writer at a time: the next key is past the table's AUTOINCREMENT sequence.
        marks = ", ".join(["%s"] * len(fields))
        sql = (
            f"INSERT INTO {table} ({key}, number, {columns}) "
            f"SELECT n.id, 'SO-' || printf('%%06d', n.id), {marks} FROM (SELECT max("
            "coalesce((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "
            f"coalesce((SELECT max({key}) FROM {table}), 0)) + 1 AS id) n WHERE true "
            f"ON CONFLICT DO NOTHING RETURNING {key}, number"
        )
        return sql, (), fields, (meta.db_table,)
    return None


def _base_type(field, connection) -> str:
    """``varchar(20)`` → ``varchar``, ``numeric(20, 2)`` → ``numeric``."""
    return re.sub(r"\(.*\)", "", field.cast_db_type(connection)).strip()


def _insert_then_number(order: SalesOrder) -> bool:
    """Insert and number in two statements (a database without the forms above)."""
    order.number = f"new-{uuid.uuid4().hex[:16]}"
    try:
        with transaction.atomic():
            order.save(force_insert=True)
    except IntegrityError:
        return False
    order.number = f"SO-{order.pk:06d}"
    SalesOrder.objects.filter(pk=order.pk).update(number=order.number)
    return True


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
    if not insert_numbered(order):
        raise ReferenceTaken(external_ref)
    lines = _insert_lines(order, lines)
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
    """The new order's two status events, received and allocated, in one insert."""
    insert_later(
        [
            SalesOrderEvent(
                order=order,
                from_status="",
                to_status=Status.OPEN,
                user=user,
                note=f"Received from {order.channel.code} as {order.external_ref}"[:255],
            ),
            SalesOrderEvent(
                order=order,
                from_status=Status.OPEN,
                to_status=order.status,
                user=user,
                note=allocated_note(reserved, waiting)[:255],
            ),
        ]
    )


def _insert_lines(order: SalesOrder, lines: list[SalesOrderLine]) -> list[SalesOrderLine]:
    """Insert the order's lines, in the order given, and return them with their keys."""
    return insert_new(lines)
