"""A new sales order's number, and its lines, written with the order in one statement.

The number is ``SO-`` and the order's key (six digits at least), so the insert that
creates the key also writes the number: no second statement, and no number ever taken
by another order. On PostgreSQL ``insert_with_lines`` also inserts the order's lines in
that statement (a data-modifying ``WITH`` part reading the new key); SQLite and other
databases take a statement for the lines.
"""

import functools
import re
import uuid

from django.db import IntegrityError, connection, connections, transaction

from common.compiled import preparing_cursor
from common.inserts import insert_new
from orders.models import SalesOrder, SalesOrderLine


def insert_with_lines(order: SalesOrder, lines: list[SalesOrderLine]) -> list | None:
    """Insert ``order`` numbered and its ``lines`` (built for it, without keys); return
    the lines with their keys, in the order given, or None, inserting nothing, when the
    channel's reference is already taken."""
    if connection.vendor != "postgresql" or not lines:
        return insert_new(lines) if insert_numbered(order) else None
    sql, before, fields = _numbered_insert(connection.vendor, connection.alias)[:3]
    line_fields, line_sql = _lines_part(connection.alias, len(lines))
    params = [
        *before,
        *(f.get_db_prep_save(getattr(order, f.attname), connection) for f in fields),
    ]
    for position, line in enumerate(lines):
        params.append(position)
        params += [f.get_db_prep_save(f.pre_save(line, True), connection) for f in line_fields]
    with preparing_cursor(connection) as cursor:
        cursor.execute(_with_lines(sql, line_sql), params)
        rows = cursor.fetchall()
    if not rows:
        return None
    ((order.pk, order.number),) = [row for row in rows if row[1] is not None]
    order._state.adding, order._state.db = False, connection.alias
    # Keys come from the sequence as the rows go in, in the order of their positions.
    keys = sorted(key for key, number in rows if number is None)
    for line, key in zip(lines, keys, strict=True):
        line.pk, line.order = key, order  # through the relation: the order stays cached
        line._state.adding, line._state.db = False, connection.alias
    return lines


@functools.cache
def _with_lines(order_sql: str, line_sql: str) -> str:
    """The numbering insert (``WITH n AS (…) INSERT …``) as the part ``o`` of a
    statement that also inserts the lines."""
    numbering, insert = order_sql.split(" INSERT INTO ", 1)
    return (
        f"{numbering}, o AS (INSERT INTO {insert}), {line_sql} "
        "SELECT o.id, o.number FROM o UNION ALL SELECT l.id, NULL FROM l"
    )


@functools.cache
def _lines_part(alias: str, count: int) -> tuple[list, str]:
    """The lines' fields (all but the key and the order) and the ``l`` part inserting
    ``count`` lines of the order ``o`` in their positions' order."""
    ops = connections[alias].ops
    meta = SalesOrderLine._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key and f.name != "order"]
    order_column = ops.quote_name(meta.get_field("order").column)
    columns = ", ".join(ops.quote_name(f.column) for f in fields)
    names = [f"c{index}" for index in range(len(fields))]
    row = (
        "(%s::integer, "
        + ", ".join(f"%s::{_base_type(f, connections[alias])}" for f in fields)
        + ")"
    )
    return fields, (
        f"l AS (INSERT INTO {ops.quote_name(meta.db_table)} ({order_column}, {columns}) "
        f"SELECT o.id, {', '.join(f'v.{name}' for name in names)} FROM o CROSS JOIN "
        f"(VALUES {', '.join([row] * count)}) AS v(position, {', '.join(names)}) "
        f"ORDER BY v.position RETURNING {ops.quote_name(meta.pk.column)} AS id)"
    )


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
            f"{typed} FROM n ON CONFLICT DO NOTHING RETURNING {key} AS id, number"
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
