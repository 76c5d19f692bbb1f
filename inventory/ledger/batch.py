"""One operation on many balance rows under one set of locks, in a fixed number of statements.

``reserve_many`` commits units of several balance rows to one document (a sales order
of many lines) with one insert of reservation journal entries and one update of the
balances, whatever the number of rows; the signal that tells the channel outbox goes
out once for the whole batch. The checks, refusals and journal rows are exactly those
of calling ``inventory.ledger.reserve`` row by row; when it raises nothing is written.

The lock order is the ledger's: the caller holds the products' row locks
(``holding_products``) and has locked the balance rows with ``lock_balances``
(primary-key order) in this transaction, so the in-memory rows it passes are current.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from common import together
from common.inserts import insert_later
from inventory import errors, signals
from inventory.ledger.checks import (
    check_active,
    check_lot,
    check_not_expired,
    check_quantity,
    check_sellable,
    check_stocked,
)
from inventory.ledger.locks import UPDATED_AT, lock_products
from inventory.ledger.refusals import document_fields, require_free
from inventory.models import Product, ReservationEntry, StockLevel

__all__ = ["reserve_many"]


class _Seen(NamedTuple):
    """A balance row's counts as the batch has them so far (no model instance needed)."""

    on_hand: int
    committed: int


def _check_reservations(reservations, today) -> None:
    """Refuse the batch as ``reserve`` would refuse its first bad row (``index`` set)."""
    pending: dict[int, int] = {}
    for index, (product, level, quantity) in enumerate(reservations):
        try:
            if level.product_id != product.pk:
                raise errors.LedgerError(
                    f"The balance row given for {product.sku} belongs to another product.",
                    field="location",
                )
            location, lot = level.location, level.lot
            check_quantity(quantity, product)
            check_stocked(product)
            check_lot(product, lot)
            check_active(product, location)
            check_sellable(product, location)
            check_not_expired(product, lot, today)
            # A row reserved twice in one batch: the second sees the first's units.
            taken = pending.get(level.pk, 0)
            seen = _Seen(level.on_hand, level.committed + taken)
            require_free(product, seen, quantity, location, lot)
        except errors.LedgerError as exc:
            exc.index = index
            raise
        pending[level.pk] = taken + quantity


def add_committed(changes: dict[int, int], at: datetime) -> None:
    """Add ``changes`` (balance row key → units) to committed, in one UPDATE.

    Written as SQL (``committed + CASE id WHEN … END``): the ORM built the same statement
    anew for every order, which cost more than running it; PostgreSQL prepares it, and
    inside ``common.together.writes_together()`` sends it with the block's other writes.
    """
    if not changes:
        return
    quote = connection.ops.quote_name
    meta = StockLevel._meta
    committed, key = quote(meta.get_field("committed").column), quote(meta.pk.column)
    cases = " ".join(["WHEN %s THEN %s"] * len(changes))
    keys = ", ".join(["%s"] * len(changes))
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {committed} = {committed} + CASE {key} {cases} "
        f"ELSE 0 END, {quote(UPDATED_AT.column)} = %s WHERE {key} IN ({keys})"
    )
    params = [value for change in changes.items() for value in change]
    params += [UPDATED_AT.get_db_prep_save(at, connection), *changes]
    together.write(sql, params, table=meta.db_table)


def announce_many(places, *, increased: bool = False) -> None:
    """Send ``stock_changed_many`` for ``places`` (product, location) that are sellable."""
    by_product: dict[int, tuple[Product, set[int]]] = {}
    for product, location in places:
        if location.is_sellable:
            by_product.setdefault(product.pk, (product, set()))[1].add(location.warehouse_id)
    if by_product:
        signals.stock_changed_many.send(
            sender=Product,
            changes=[(product, ids, increased) for product, ids in by_product.values()],
        )


def reserve_many(
    *,
    reservations: Sequence[tuple[Product, StockLevel, int]],
    user=None,
    document=None,
    at: datetime | None = None,
) -> None:
    """Commit units of several balance rows: ``(product, locked row, quantity)`` each.

    The rows come from ``lock_balances`` with their location and lot loaded; they are
    updated in memory as in the database. A refusal is the ``LedgerError`` that
    ``reserve`` raises for the first bad row, with ``index`` naming that row.

    It runs inside the transaction that locked the rows, and refuses before it opens
    a block of its own: a batch costs no savepoint. Its writes share one block without
    a savepoint, so a database error in them rolls back the enclosing transaction.
    """
    if not connection.in_atomic_block:
        raise TransactionManagementError(
            "reserve_many() needs the atomic block that locked the rows."
        )
    reservations = list(reservations)
    if not reservations:
        return
    at = at or timezone.now()
    _check_reservations(reservations, timezone.localdate(at))
    with transaction.atomic(savepoint=False):
        lock_products(product for product, _, _ in reservations)  # none if held
        _write_reservations(reservations, user, document, at)


def _write_reservations(reservations, user, document, at: datetime) -> None:
    # Journal rows built from keys: nothing reads their related objects, and setting
    # those through the relations was most of building them.
    fields = document_fields(document)
    if fields:
        fields["document_type_id"] = fields.pop("document_type").pk
    insert_later(
        [
            ReservationEntry(
                product_id=product.pk,
                location_id=level.location_id,
                lot_id=level.lot_id,
                quantity=quantity,
                kind=ReservationEntry.Kind.RESERVE,
                user_id=user.pk if user is not None else None,
                created_at=at,
                **fields,
            )
            for product, level, quantity in reservations
        ]
    )
    changes: dict[int, int] = {}
    for _, level, quantity in reservations:
        changes[level.pk] = changes.get(level.pk, 0) + quantity
        level.committed += quantity
        level.updated_at = at
    add_committed(changes, at)
    announce_many((product, level.location) for product, level, _ in reservations)
