"""Checking an import's rows: the row loop and the checks its cells share."""

from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation

from django.db import connection

from common.columns import unstorable
from inventory.errors import LedgerError
from inventory.imports.files import RowError

_CHUNK = 500
BATCH_IN = 5_000  # values in one raw IN (...) list (SQLite allows 32,766 parameters)


def check_rows[Row](
    rows: list[tuple[int, dict[str, str]]],
    check_row: Callable[[int, dict[str, str], list[str]], Row],
) -> tuple[list[Row], list[RowError]]:
    """Check every row with ``check_row``; return (good rows, errors).

    ``check_row(line, row, problems)`` appends what is wrong with the row to
    ``problems`` and returns the row to import, which is kept only if it found nothing.
    """
    good: list[Row] = []
    errors: list[RowError] = []
    for line, row in rows:
        problems: list[str] = []
        checked = check_row(line, row, problems)
        errors.extend(RowError(line, problem) for problem in problems)
        if not problems:
            good.append(checked)
    return good, errors


def storable_rows(
    rows: list[tuple[int, dict[str, str]]],
) -> tuple[list[tuple[int, dict[str, str]]], list[RowError]]:
    """Split off the rows holding text no database can store (NUL, lone surrogates).

    They are refused before anything looks them up, so the file is judged the same
    on SQLite (which would store them) and PostgreSQL (which raises).
    """
    kept: list[tuple[int, dict[str, str]]] = []
    errors: list[RowError] = []
    for line, row in rows:
        problems = [
            f"{column}: {problem.removesuffix('.')}"
            for column, value in row.items()
            if (problem := unstorable(value))
        ]
        errors.extend(RowError(line, problem) for problem in problems)
        if not problems:
            kept.append((line, row))
    return kept, errors


def _chunks(values: list) -> Iterable[list]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def where_in(queryset, field_name: str, values: Iterable) -> Iterable:
    """Yield the results of ``queryset`` whose ``field_name`` is one of ``values``.

    Asks in chunks, so that a large file stays under the database's limit on
    query parameters.
    """
    for chunk in _chunks(sorted(set(values))):
        yield from queryset.filter(**{f"{field_name}__in": chunk})


def select_in(sql: str, values: Iterable) -> Iterable[tuple]:
    """Yield the rows of the raw ``sql`` for ``values``, asked for in large chunks.

    ``sql`` holds one ``IN ({})`` (and no other braces or ``%``). For the lookups of a
    large import: the ORM took most of the time of checking a file that updates existing
    products preparing each value of its ``__in`` lookups and building a model instance
    a row.
    """
    size = min(BATCH_IN, connection.features.max_query_params or BATCH_IN)
    ordered = sorted(set(values))
    # PostgreSQL: one array parameter (``= ANY``, still an index lookup); parsing and
    # planning thousands of parameters was slow there.
    as_array = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        for start in range(0, len(ordered), size):
            chunk = ordered[start : start + size]
            if as_array:
                cursor.execute(sql.replace("IN ({})", "= ANY(%s)"), [chunk])
            else:
                cursor.execute(sql.format(", ".join(["%s"] * len(chunk))), chunk)
            yield from cursor.fetchall()


def parsed[T](problems: list[str], parse: Callable[..., T], *args, **kwargs) -> T | None:
    """Return ``parse(*args, **kwargs)``, or None after noting its ValueError in ``problems``."""
    try:
        return parse(*args, **kwargs)
    except ValueError as exc:
        problems.append(str(exc))
        return None


def required(row: dict[str, str], column: str, what: str, problems: list[str]) -> str:
    """Return the row's ``column``, noting that ``what`` is required when it is empty."""
    value = row.get(column, "")
    if not value:
        problems.append(f"{what} is required")
    return value


def as_problem(error: LedgerError) -> str:
    # A row's problems read as clauses after "line N:", without a closing period.
    return error.message.removesuffix(".")


def parse_decimal(text: str, *, what: str, places: int | None = None) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{what} “{text}” is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{what} “{text}” is not a number")
    if value < 0:
        raise ValueError(f"{what} cannot be negative (got {text})")
    if places is not None and -value.as_tuple().exponent > places:
        raise ValueError(f"{what} “{text}” has more than {places} decimal places")
    return value
