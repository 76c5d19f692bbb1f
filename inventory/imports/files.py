"""Reading an import file: CSV rows with their line numbers, refusals, and the command."""

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self):
        return f"line {self.line}: {self.message}" if self.line else self.message


class ImportRefused(Exception):
    """The file cannot be imported; ``errors`` says why, row by row. Nothing was written."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        super().__init__(self.summary)

    @property
    def summary(self) -> str:
        rows = [error for error in self.errors if error.line]
        if not rows:
            return f"{self.errors[0]}. Nothing was imported."
        bad_lines = len({error.line for error in rows})
        noun = "row" if bad_lines == 1 else "rows"
        return f"{bad_lines} bad {noun}; nothing was imported."


def _refused(line: int, message: str) -> ImportRefused:
    return ImportRefused([RowError(line, message)])


def _decode(data: bytes | str) -> str:
    """Return the file's text without a byte-order mark, or refuse bytes that are not UTF-8."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _refused(
            0,
            f"The file is not UTF-8 text (byte {exc.start + 1} cannot be read); "
            "save it as “CSV UTF-8” and try again",
        ) from None


def _read_header(reader, required: Iterable[str]) -> list[str]:
    """Return the lower-case column names; refuse a missing required or a repeated column."""
    try:
        header = [name.strip().lower() for name in next(reader)]
    except csv.Error as exc:
        raise _refused(1, f"The header cannot be read: {exc}") from None
    missing = [name for name in required if name not in header]
    if missing:
        raise _refused(
            0,
            f"Required column(s) missing: {', '.join(missing)} "
            f"(the header has: {', '.join(h for h in header if h) or 'nothing'})",
        )
    duplicates = sorted({name for name in header if name and header.count(name) > 1})
    if duplicates:
        raise _refused(1, f"Column(s) appear twice: {', '.join(duplicates)}")
    return header


def _read_rows(reader, header: list[str]) -> list[tuple[int, dict[str, str]]]:
    """Return ``[(line, row)]`` for the rows after the header, skipping empty ones."""
    rows = []
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise _refused(reader.line_num, f"The row cannot be read: {exc}") from None
        if not any(cell.strip() for cell in cells):
            continue
        row = {name: "" for name in header if name}
        for name, cell in zip(header, cells, strict=False):
            if name:
                row[name] = cell.strip()
        rows.append((reader.line_num, row))
    return rows


def read_csv(data: bytes | str, *, required: Iterable[str]) -> list[tuple[int, dict[str, str]]]:
    """Return ``[(line, row)]`` with lower-case headers and stripped values, or refuse the file.

    ``line`` is the file line where the row ends (the header is line 1). Rows with
    every cell empty are skipped.
    """
    text = _decode(data)
    if not text.strip():
        raise _refused(0, "The file is empty")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = _read_header(reader, required)
    rows = _read_rows(reader, header)
    if not rows:
        raise _refused(0, "The file has a header but no rows")
    return rows


class CsvImportCommand(BaseCommand):
    """A ``manage.py`` command that imports one CSV file through ``run``.

    A refused file prints every bad row on stderr and fails with the refusal's summary;
    a file that cannot be read fails before anything is checked.
    """

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="CSV file (UTF-8)")

    def handle(self, *args, file: Path, **options):
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}") from None
        try:
            result = self.run(data)
        except ImportRefused as refused:
            for error in refused.errors:
                self.stderr.write(str(error))
            raise CommandError(refused.summary) from None
        self.stdout.write(self.style.SUCCESS(self.summary(result)))

    def run(self, data: bytes):
        """Import ``data`` or raise ``ImportRefused``; return what ``summary`` reports."""
        raise NotImplementedError

    def summary(self, result) -> str:
        return str(result)
