"""Querysets compiled once per process, run many times with other values.

Building and compiling a queryset with a dozen subqueries costs milliseconds of
Python on every request, more than the database takes to answer it. A
``CompiledQuery`` builds the queryset once with stand-in values, keeps its SQL, and
on each call swaps the stand-ins in the parameter list for the real values: the SQL
and the row converters stay Django's own, so the query means exactly what the
queryset says.
"""

import functools
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import date, datetime

from django.conf import settings
from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.fetch_modes import FETCH_ONE
from django.db.models.query import get_related_populators

# Stand-ins no real value takes: each one must be found in the compiled parameters.
STAND_IN_INT = -7_301_000_000
STAND_IN_DATE = date(1234, 5, 6)


def stand_in(kind: type, n: int = 0):
    """The ``n``-th stand-in value of ``kind`` (int, str or date); an int stand-in is
    for a 64-bit column (keys): PostgreSQL drops a lookup past a 32-bit column's range."""
    if kind is int:
        return STAND_IN_INT - n
    if kind is str:
        return f"\x01stand-in-{n}\x01"
    if kind is date:
        return date(STAND_IN_DATE.year + n, STAND_IN_DATE.month, STAND_IN_DATE.day)
    raise TypeError(f"no stand-in for {kind.__name__}")


class CompiledQuery:
    """A queryset's SQL with named slots for the values that change from call to call."""

    def __init__(self, queryset: QuerySet, slots: dict[str, object]):
        self.using = queryset.db
        ops = connections[self.using].ops
        self.compiler = queryset.query.get_compiler(self.using)
        self.sql, params = self.compiler.as_sql()
        raw = {(type(value), value): name for name, value in slots.items()}
        # A backend may hand dates to its driver as text (SQLite): match that form too.
        adapted = {
            ops.adapt_datefield_value(value): name
            for name, value in slots.items()
            if isinstance(value, date)
        }
        self.params = list(params)
        self.slots: list[tuple[int, str, bool]] = []
        for index, param in enumerate(params):
            # A list (PostgreSQL's JSON key path) is never a stand-in.
            name = None if isinstance(param, list) else raw.get((type(param), param))
            if name is not None:
                self.slots.append((index, name, False))
            elif isinstance(param, str) and param in adapted:
                self.slots.append((index, adapted[param], True))
        missing = set(slots) - {name for _, name, _ in self.slots}
        if missing:
            raise ValueError(f"stand-ins not in the compiled query: {sorted(missing)}")
        fields = [column[0] for column in self.compiler.select[: self.compiler.col_count]]
        self.converters = [
            (index, [_faster(convert) for convert in converters], expression)
            for index, (converters, expression) in self.compiler.get_converters(fields).items()
        ]

    def rows(self, **values) -> list[tuple]:
        """Run the query with ``values`` in the slots; the rows as ``values_list`` gives them."""
        connection = connections[self.using]
        params = list(self.params)
        for index, name, adapt in self.slots:
            value = values[name]
            params[index] = connection.ops.adapt_datefield_value(value) if adapt else value
        with preparing_cursor(connection) as cursor:
            cursor.execute(self.sql, params)
            fetched = cursor.fetchall()
        if not self.converters:
            return [tuple(row) for row in fetched]
        rows = []
        for fetched_row in fetched:
            row = list(fetched_row)
            for index, converters, expression in self.converters:
                value = row[index]
                for convert in converters:
                    value = convert(value, expression, connection)
                row[index] = value
            rows.append(tuple(row))
        return rows


class CompiledModelQuery(CompiledQuery):
    """A model queryset compiled once: ``objects()`` gives the instances iterating the
    queryset gives — its fields, its ``select_related`` objects and its annotations —
    built the way Django's own model iterable builds them from the same row."""

    def __init__(self, queryset: QuerySet, slots: dict[str, object]):
        super().__init__(queryset, slots)
        select, klass_info = self.compiler.select, self.compiler.klass_info
        self.model = klass_info["model"]
        fields = klass_info["select_fields"]
        self.model_columns = slice(fields[0], fields[-1] + 1)
        self.init_list = [column[0].target.attname for column in select[self.model_columns]]
        # The default fetch mode (a deferred field fetched for its instance alone).
        self.populators = get_related_populators(klass_info, select, self.using, FETCH_ONE)
        self.annotations = list(self.compiler.annotation_col_map.items())

    def objects(self, *, related: bool = True, **values) -> list[Model]:
        """Run the query with ``values`` in the slots; the rows as model instances.

        With ``related=False`` the ``select_related`` objects are built only when
        ``with_related`` asks for them (the rows a caller ends up using): most rows of a
        wide read are looked at, not used, and building them was most of its Python.
        """
        found = []
        for row in self.rows(**values):
            instance = self.model.from_db(
                self.using, self.init_list, row[self.model_columns], fetch_mode=FETCH_ONE
            )
            if related:
                for populator in self.populators:
                    populator.populate(row, instance)
            else:
                instance._compiled_row = (self, row)
            for name, position in self.annotations:
                setattr(instance, name, row[position])
            found.append(instance)
        return found


def with_related(instance: Model) -> Model:
    """Build the ``select_related`` objects an instance from ``objects(related=False)``
    left out, from the row it was read with (no query); other instances are left alone."""
    held = instance.__dict__.pop("_compiled_row", None)
    if held is not None:
        compiled, row = held
        for populator in compiled.populators:
            populator.populate(row, instance)
    return instance


def preparing_cursor(connection):
    """Django's cursor; on PostgreSQL one that prepares its statements on the server
    (planning the one-SKU inventory query took 1.9 ms, running it 0.5 ms). For the
    statements of the hot paths, written with the same text on every call: each is
    parsed and planned once per connection."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    driver = connection.connection
    if driver.prepare_threshold is None:
        # Django turns psycopg's preparing off; its own (client-side binding) cursors
        # never prepare, and this threshold is never reached: only ours asks.
        driver.prepare_threshold = 2**31 - 1
    with connection.wrap_database_errors:
        cursor = preparing_cursor_class()(driver)
    if connection.queries_logged:
        return connection.make_debug_cursor(cursor)
    return connection.make_cursor(cursor)


@functools.cache
def preparing_cursor_class():
    """A psycopg cursor binding values on the server that prepares every statement;
    psycopg keeps the prepared statements per connection (and forgets them when the
    connection goes)."""
    import psycopg  # the optional backend's driver

    class PreparingCursor(psycopg.Cursor):
        def execute(self, query, params=None, **options):
            return super().execute(query, params, prepare=True, **options)

    return PreparingCursor


def _faster(convert):
    """``convert``, or a quicker equal for SQLite's datetimes (text in UTC, read per row)."""
    if getattr(convert, "__name__", "") != "convert_datetimefield_value":
        return convert
    if not settings.USE_TZ or getattr(convert.__self__.connection, "vendor", "") != "sqlite":
        return convert
    zone = convert.__self__.connection.timezone

    def convert_datetime(value, expression, connection):
        if value is None:
            return None
        # Columns arrive parsed (naive), aggregates as text.
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        return moment if moment.tzinfo else moment.replace(tzinfo=zone)

    return convert_datetime


class CompiledCache:
    """``CompiledQuery`` objects by shape (database, lengths of lists, …), the last 64."""

    def __init__(self, size: int = 64):
        self.size = size
        self.entries: OrderedDict[Hashable, CompiledQuery] = OrderedDict()

    def get(self, key: Hashable, build: Callable[[], CompiledQuery]) -> CompiledQuery:
        """The compiled query for ``key``, building it on first use."""
        entry = self.entries.get(key)
        if entry is None:
            entry = self.entries[key] = build()
            if len(self.entries) > self.size:
                self.entries.popitem(last=False)
        else:
            self.entries.move_to_end(key)
        return entry
