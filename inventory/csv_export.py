"""CSV files people open in a spreadsheet: formula cells defused, long lists streamed."""

import csv
from collections.abc import Iterable

from django.http import StreamingHttpResponse


def safe_cell(value: str) -> str:
    """Return ``value`` so a spreadsheet shows it as text instead of running it as a formula."""
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value


class _Echo:
    """A file whose write returns the line, so csv.writer yields rather than buffers."""

    def write(self, value: str) -> str:
        return value


def streaming_csv(filename: str, header: list[str], rows: Iterable[list]) -> StreamingHttpResponse:
    """Stream ``header`` and ``rows`` as a CSV attachment, one row in memory at a time."""
    writer = csv.writer(_Echo(), lineterminator="\r\n")

    def lines():
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
