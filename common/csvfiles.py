"""The one CSV writer: every file the project writes for a spreadsheet goes through it.

A cell that starts with ``= + - @`` (or a tab or carriage return, which some
spreadsheets skip before reading a formula) would run as a formula when the file is
opened, so every text cell is prefixed with ``'`` and shown as typed. Numbers written
as numbers (``int``, ``Decimal``, …) and plain decimal text such as ``-2`` or
``-1.50`` pass through: they cannot hold a formula.
"""

import csv
import re
from collections.abc import Iterable

from django.http import StreamingHttpResponse

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def safe_cell(value):
    """Return ``value`` so a spreadsheet shows it as text instead of running it as a formula."""
    text = isinstance(value, str)
    if text and value.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


class SafeWriter:
    """A ``csv.writer`` whose every row is defused cell by cell."""

    def __init__(self, out, *, lineterminator: str = "\r\n"):
        self._writer = csv.writer(out, lineterminator=lineterminator)

    def writerow(self, row: Iterable):
        return self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable]) -> None:
        for row in rows:
            self.writerow(row)


class _Echo:
    """A file whose write returns the line, so the writer yields rather than buffers."""

    def write(self, value: str) -> str:
        return value


def streaming_csv(filename: str, header: list[str], rows: Iterable[list]) -> StreamingHttpResponse:
    """Stream ``header`` and ``rows`` as a CSV attachment, one row in memory at a time."""
    writer = SafeWriter(_Echo())

    def lines():
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
