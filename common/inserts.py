"""New rows of the hot write paths in one cached ``INSERT … RETURNING`` statement.

``bulk_create`` builds its statement anew on every call: for the three to four small
inserts of a sales order that building cost more than the inserts (a quarter of an
order's time in process). ``insert_new`` writes the same rows the way ``bulk_create``
does — every concrete column but the generated key, each value prepared by its field
(``pre_save`` then ``get_db_prep_save``), no ``save()`` and no signals — and sets each
instance's key from ``RETURNING`` in the order the rows were given, as ``bulk_create``
relies on too (SQLite ≥ 3.35 and PostgreSQL). On PostgreSQL the statement is prepared
once per connection (``preparing_cursor``).

``insert_later`` writes the same rows without reading their keys back: inside
``common.together.writes_together()`` the insert joins the block's one statement.
"""

from functools import cache, lru_cache

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model

from common import together
from common.compiled import preparing_cursor


def insert_new(objs: list[Model], using: str = DEFAULT_DB_ALIAS) -> list[Model]:
    """Insert ``objs`` (instances of one model, without keys); return them with their keys."""
    if not objs:
        return objs
    model = type(objs[0])
    params = _params(objs, model, connections[using])
    with preparing_cursor(connections[using]) as cursor:
        cursor.execute(_sql(model, len(objs), using), params)
        keys = cursor.fetchall()
    for obj, (key,) in zip(objs, keys, strict=True):
        obj.pk = key
        obj._state.adding = False
        obj._state.db = using
    return objs


def insert_later(objs: list[Model], using: str = DEFAULT_DB_ALIAS) -> None:
    """Insert ``objs`` as ``insert_new`` does, leaving them without keys (journal rows,
    history: rows whose keys the caller does not need)."""
    if not objs:
        return
    model = type(objs[0])
    params = _params(objs, model, connections[using])
    sql = _sql(model, len(objs), using, returning=False)
    together.write(sql, params, table=model._meta.db_table, using=using)


def _params(objs: list[Model], model: type[Model], connection) -> list:
    fields = _fields(model)
    params = []
    for obj in objs:
        if type(obj) is not model or obj.pk is not None:
            raise ValueError("insert_new() and insert_later() take new instances of one model")
        obj._prepare_related_fields_for_save(operation_name="insert_new")
        params += [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    return params


@cache
def _fields(model: type[Model]) -> tuple:
    meta = model._meta
    return tuple(f for f in meta.concrete_fields if f is not meta.pk and not f.generated)


@lru_cache(maxsize=256)
def _sql(model: type[Model], rows: int, using: str, returning: bool = True) -> str:
    quote = connections[using].ops.quote_name
    meta = model._meta
    fields = _fields(model)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES {', '.join([row] * rows)}"
    )
    return f"{sql} RETURNING {quote(meta.pk.column)}" if returning else sql
