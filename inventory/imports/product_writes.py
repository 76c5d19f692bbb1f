"""The product import's writes: new and changed products and their history rows, in bulk.

Plain SQL with values the import checked and normalised already: the ORM spent most of
a large import's time preparing each field of each object (twice: product and history).
"""

from itertools import batched

from django.db import connection
from django.utils import timezone

from inventory.models import Product

# Statements a chunk of history rows is copied in (an IN list of this many keys).
HISTORY_BATCH = 5_000
# What an update may change, in the order the import gives the values.
FIELDS = ("name", "gtin", "sell_price", "tracking", "fulfilment")
NEW_COLUMNS = ("sku", "name", "gtin", "sell_price", "tracking", "fulfilment", "active")
HISTORY_COLUMNS = (*NEW_COLUMNS, "created_at", "updated_at")


def insert_products(rows: list[tuple]) -> None:
    """Insert new products, and their "created" history rows, with one statement each.

    Most of a large import's time went into the ORM preparing each field of each object
    (twice: product and history row); these values are checked and normalised already.
    """
    if not rows:
        return
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(timezone.now())
    price = Product._meta.get_field("sell_price")
    places = price.decimal_places
    columns = [*NEW_COLUMNS, "created_at", "updated_at"]
    stamps = (stamp, stamp)
    names = ", ".join(ops.quote_name(column) for column in columns)
    params = [
        (*row[:3], ops.adapt_decimalfield_value(row[3], price.max_digits, places), *row[4:])
        for row in rows
    ]
    table = ops.quote_name(Product._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY streams the rows (measured: a statement a row left the 663,656-row
            # import at 169 s on PostgreSQL). A unique violation still raises Django's
            # IntegrityError, which refuses the file.
            sql = f"COPY {table} ({names}) FROM STDIN"
            with connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
                for values in params:
                    copy.write_row(values + stamps)
        else:
            cursor.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})",
                [values + stamps for values in params],
            )
        write_history(cursor, "+", stamp, "sku", [row[0] for row in rows])


def update_products(rows: list[tuple[int, tuple, tuple]]) -> None:
    """Update ``(id, new values, current values)`` products, and add their history rows.

    One short UPDATE a product, setting only the fields that changed (rows that change
    the same fields share one statement): Django's ``bulk_update`` builds a CASE of every
    row for every field, which SQLite evaluates row by row (3,000 updates took 13 s), and
    setting an unchanged name or GTIN would still rewrite its index entries.
    """
    if not rows:
        return
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(timezone.now())
    price = Product._meta.get_field("sell_price")
    price_at = FIELDS.index("sell_price")
    table = ops.quote_name(Product._meta.db_table)
    groups: dict[tuple[int, ...], list[tuple]] = {}
    for pk, values, current in rows:
        pairs = enumerate(zip(values, current, strict=True))
        fields = tuple(i for i, (new, old) in pairs if new != old)
        if price_at in fields:
            values = list(values)
            values[price_at] = ops.adapt_decimalfield_value(
                values[price_at], price.max_digits, price.decimal_places
            )
        groups.setdefault(fields, []).append((*(values[i] for i in fields), stamp, pk))
    with connection.cursor() as cursor:
        for fields, params in groups.items():
            if connection.vendor == "postgresql":
                _update_from_arrays(cursor, table, fields, params)
                continue
            sets = "".join(f"{ops.quote_name(FIELDS[i])} = %s, " for i in fields)
            cursor.executemany(f"UPDATE {table} SET {sets}updated_at = %s WHERE id = %s", params)
        write_history(cursor, "~", stamp, "id", [pk for pk, _, _ in rows])


_ARRAY_TYPES = {"sell_price": "numeric[]"}  # the others are text


def _update_from_arrays(cursor, table: str, fields: tuple[int, ...], params: list) -> None:
    """Update one group's rows (``(*values, stamp, id)``) with a statement a chunk.

    PostgreSQL joins the rows given as arrays: a statement a row took minutes there for
    the 663,656-row file.
    """
    quote = connection.ops.quote_name
    names = [FIELDS[i] for i in fields]
    sets = "".join(f"{quote(name)} = v.{quote(name)}, " for name in names)
    arrays = "".join(f"%s::{_ARRAY_TYPES.get(name, 'text[]')}, " for name in names)
    columns = "".join(f"{quote(name)}, " for name in names)
    for chunk in batched(params, HISTORY_BATCH):
        *values, stamps, ids = (list(column) for column in zip(*chunk, strict=True))
        cursor.execute(
            f"UPDATE {table} AS t SET {sets}updated_at = %s "
            f"FROM unnest({arrays}%s::bigint[]) AS v({columns}id) WHERE t.id = v.id",
            [stamps[0], *values, ids],
        )


def write_history(cursor, kind: str, stamp, key: str, keys: list) -> None:
    """Copy the products whose ``key`` is one of ``keys`` into history rows of ``kind``."""
    ops = connection.ops
    names = ", ".join(ops.quote_name(column) for column in HISTORY_COLUMNS)
    table = ops.quote_name(Product._meta.db_table)
    history = ops.quote_name(Product.history.model._meta.db_table)
    insert = (
        f"INSERT INTO {history} (id, {names}, history_date, history_change_reason, "
        f"history_type, history_user_id) SELECT id, {names}, %s, NULL, %s, NULL "
        f"FROM {table} WHERE {ops.quote_name(key)} "
    )
    for chunk in batched(keys, HISTORY_BATCH):
        if connection.vendor == "postgresql":
            # One array parameter: PostgreSQL parses and plans 5,000 parameters slowly.
            cursor.execute(insert + "= ANY(%s)", [stamp, kind, list(chunk)])
        else:
            cursor.execute(
                insert + f"IN ({', '.join(['%s'] * len(chunk))})", [stamp, kind, *chunk]
            )
