"""Row locks and balance updates, always in one order: product, balance rows by key, layers.

Every operation on one product thus runs one at a time on PostgreSQL (SQLite runs one
writer at a time anyway), and two operations never wait for each other in a circle.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Q, QuerySet
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from common.compiled import CompiledCache, CompiledModelQuery, CompiledQuery, stand_in
from inventory.ledger.position import POSITION_COLUMNS, remember, with_position
from inventory.models import Lot, Product, ProductPosition, StockLevel
from warehouses.models import Location

# Products whose row lock an enclosing ``holding_products`` block already holds.
HELD: ContextVar[frozenset] = ContextVar("ledger_held_products", default=frozenset())


def lock_products(products) -> None:
    """Lock the rows of ``products`` in primary-key order (for multi-product transactions).

    Rows an enclosing ``holding_products`` block holds are not asked for again.
    """
    if connection.features.has_select_for_update:
        keys = sorted({product.pk for product in products} - HELD.get())
        if not keys:
            return
        shape = (id(connections[DEFAULT_DB_ALIAS]), "products", len(keys))
        compiled = COMPILED.get(shape, lambda: _compile_product_lock(len(keys)))
        compiled.rows(**{f"product_{n}": key for n, key in enumerate(keys)})


# The ledger's locking reads, compiled once per process and shape (``common.compiled``):
# every posted move runs them, and building them cost more Python than running them.
COMPILED = CompiledCache(size=64)


def _compile_product_lock(count: int) -> CompiledQuery:
    slots = {f"product_{n}": stand_in(int, n) for n in range(count)}
    products = Product.objects.select_for_update().filter(pk__in=list(slots.values()))
    return CompiledQuery(products.order_by("pk").values_list("pk"), slots)


@contextmanager
def holding_products(products, *, locked: bool = False) -> Iterator[None]:
    """Lock ``products`` now; ledger calls inside the block then skip locking them again.

    For a service that locks its products first and then calls the ledger for them in
    the same transaction (a receipt). A row lock lasts until the transaction ends, and
    rolling back a savepoint taken inside the block cannot release a lock taken before
    it, so the rows stay locked for the whole block. ``locked``: the caller has just
    read ``products`` with ``select_for_update()`` in primary-key order in this
    transaction (one statement that reads and locks), so they are not asked for again.
    """
    if not connection.in_atomic_block:
        raise TransactionManagementError("holding_products() needs an atomic block.")
    products = list(products)
    if not locked:
        lock_products(products)
    token = HELD.set(HELD.get() | {product.pk for product in products})
    try:
        yield
    finally:
        HELD.reset(token)


def lock_product(product: Product) -> None:
    """Take the product's row lock: the first lock of every operation on it.

    FIFO means posting order. Without this lock two PostgreSQL transactions could
    post receipts of one product into different locations and commit in the other
    order, or a shipment could skip a receipt posted before it but committed after
    it; the cost layers would then be used in an order no replay of the ledger
    gives. Taking it first, before balance rows and new lots, keeps the lock order
    the same in every operation, so operations on a product queue instead of
    deadlocking. SQLite already runs one writer at a time.
    """
    lock_products([product])


def lock_balances(levels: QuerySet) -> list[StockLevel]:
    """Lock the balance rows ``levels`` matches in primary-key order, and return them.

    The batch operations' lock (``inventory.ledger.batch``): one statement reads and
    locks every row a batch will touch. The caller holds the locks of their products
    (``holding_products``), so the rows cannot change between this read and the batch.
    """
    return list(balances_locking(levels))


def balances_locking(levels: QuerySet) -> QuerySet:
    """``levels`` as the statement ``lock_balances`` runs (for a caller that compiles it
    once, ``common.compiled``, and runs it many times)."""
    return levels.select_for_update(of=("self",)).order_by("pk")


def level_key_q(product: Product, location: Location, lot: Lot | None) -> Q:
    """Match the balance row of ``product`` in ``location`` and ``lot``."""
    q = Q(product_id=product.pk, location_id=location.pk)
    return q & (Q(lot__isnull=True) if lot is None else Q(lot_id=lot.pk))


def lock_levels(
    product: Product, places: list[tuple[Location, Lot | None]], *, create: tuple[bool, ...]
) -> list[StockLevel | None]:
    """Lock the balance rows for ``places`` in primary-key order.

    ``create`` says, place by place, whether a missing row is created (empty) first.
    """
    # The product's position comes with the rows: the move posted next needs it.
    shape = tuple(lot is None for _, lot in places)
    locking = COMPILED.get(
        (id(connections[DEFAULT_DB_ALIAS]), "levels", shape), lambda: _compile_levels(shape)
    )
    values = {"product": product.pk}
    for n, (location, lot) in enumerate(places):
        values[f"location_{n}"] = location.pk
        if lot is not None:
            values[f"lot_{n}"] = lot.pk

    def fetch() -> dict:
        rows = locking.objects(**values)
        remember(product.pk, rows)
        return {(row.location_id, row.lot_id): row for row in rows}

    found = fetch()
    missing = [
        (loc, lot)
        for (loc, lot), wanted in zip(places, create, strict=True)
        if wanted and (loc.pk, lot.pk if lot else None) not in found
    ]
    if missing:
        created = create_levels(product, missing)
        if created is None:  # a row was there after all: read them all, locked
            found = fetch()
        else:
            remember(product.pk, created)
            found.update({(row.location_id, row.lot_id): row for row in created})
    return [found.get((loc.pk, lot.pk if lot else None)) for loc, lot in places]


def _compile_levels(shape: tuple[bool, ...]) -> CompiledModelQuery:
    """The locking read of one product's balance rows in ``len(shape)`` places, each
    without a lot (True) or in a lot (False), with the product's stored position."""
    slots: dict[str, object] = {"product": stand_in(int)}
    condition = Q()
    for n, without_lot in enumerate(shape):
        slots[f"location_{n}"] = stand_in(int, 1 + 2 * n)
        place = Q(product_id=slots["product"], location_id=slots[f"location_{n}"])
        if without_lot:
            place &= Q(lot__isnull=True)
        else:
            slots[f"lot_{n}"] = stand_in(int, 2 + 2 * n)
            place &= Q(lot_id=slots[f"lot_{n}"])
        condition |= place
    levels = with_position(StockLevel.objects.select_for_update().filter(condition))
    return CompiledModelQuery(levels.order_by("pk"), slots)


def create_levels(product: Product, places: list) -> list[StockLevel] | None:
    """Insert the empty balance rows of ``product`` for ``places`` (location, lot) and
    return them, each with the product's position read by the same statement (the
    columns of ``with_position``): a new balance costs one statement after the lookup
    that missed it, not two. The rows are new, so this transaction holds them until it
    ends, as if locked. None when any of them existed after all (inserted meanwhile,
    ``ON CONFLICT DO NOTHING`` returns only the new ones): the caller reads them again.
    """
    quote = connection.ops.quote_name
    level, position = StockLevel._meta, ProductPosition._meta
    fields = [level.get_field(name) for name in ("product", "location", "lot", "on_hand")]
    fields += [level.get_field("committed"), level.get_field("updated_at")]
    now = timezone.now()
    rows, params = [], []
    for location, lot in places:
        values = (product.pk, location.pk, lot.pk if lot else None, 0, 0, now)
        rows.append("(" + ", ".join(["%s"] * len(values)) + ")")
        params += [f.get_db_prep_save(v, connection) for f, v in zip(fields, values, strict=True)]
    columns = [position.get_field(column) for column in POSITION_COLUMNS.values()]
    current = [
        f"(SELECT {quote(c.column)} FROM {quote(position.db_table)} "
        f"WHERE {quote(position.pk.column)} = %s)"
        for c in columns
    ]
    returning = [quote(f.column) for f in (level.pk, fields[1], fields[2])] + current
    sql = (
        f"INSERT INTO {quote(level.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES {', '.join(rows)} ON CONFLICT DO NOTHING RETURNING {', '.join(returning)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *[product.pk] * len(current)])
        returned = cursor.fetchall()
    if len(returned) != len(places):
        return None
    names = [f.attname for f in level.concrete_fields]
    # The row's copy of its lot's expiry is the database's (a trigger): the same value.
    expiries = {lot.pk: lot.expires_on for _, lot in places if lot is not None}
    created = []
    for pk, location_id, lot_id, *read in returned:
        read_row = {"id": pk, "product_id": product.pk, "location_id": location_id}
        read_row.update(lot_id=lot_id, on_hand=0, committed=0, updated_at=now)
        read_row["lot_expires_on"] = expiries.get(lot_id)
        row = StockLevel.from_db(connection.alias, names, [read_row[name] for name in names])
        for name, column, value in zip(POSITION_COLUMNS, columns, read, strict=True):
            setattr(row, name, as_read(column, value))
        created.append(row)
    return created


def as_read(field, value):
    """Convert a raw column value as the ORM does when it reads ``field``."""
    expression = field.cached_col
    for convert in connection.ops.get_db_converters(expression) + field.get_db_converters(
        connection
    ):
        value = convert(value, expression, connection)
    return value


def change_level(level: StockLevel, *, on_hand: int = 0, committed: int = 0, at: datetime):
    """Add to a locked balance row in the database (relative: ``x = x + n``) and in memory.

    One statement written once (the ORM's ``update(F(...) + n)`` built it anew for every
    move); the database still checks the row's constraints.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            change_level_sql(),
            [on_hand, committed, UPDATED_AT.get_db_prep_save(at, connection), level.pk],
        )
    level.on_hand += on_hand
    level.committed += committed
    level.updated_at = at


UPDATED_AT = StockLevel._meta.get_field("updated_at")


def change_level_sql() -> str:
    """``UPDATE`` of one balance row's on hand and committed by amounts, and its time."""
    quote = connection.ops.quote_name
    meta = StockLevel._meta
    on_hand, committed = (quote(meta.get_field(name).column) for name in ("on_hand", "committed"))
    return (
        f"UPDATE {quote(meta.db_table)} SET {on_hand} = {on_hand} + %s, "
        f"{committed} = {committed} + %s, {quote(UPDATED_AT.column)} = %s "
        f"WHERE {quote(meta.pk.column)} = %s"
    )
