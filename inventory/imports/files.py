"""Reading an import file: CSV rows with their line numbers, refusals, and the command."""

import csv
import io
from collections.abc import Iterable, Iterator
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


def _text_lines(source: bytes | str | Path) -> Iterator[str]:
    """Yield ``source``'s lines (file contents, or the path of a file) as text, BOM dropped.

    A path is read as it is iterated, so a large file is never held in memory whole;
    each line is decoded on its own, so a byte that is not UTF-8 is reported on its line.
    """
    if isinstance(source, str):
        yield from io.StringIO(source.removeprefix("\ufeff"), newline="")
        return
    with source.open("rb") if isinstance(source, Path) else io.BytesIO(source) as stream:
        for number, raw in enumerate(stream, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise _not_utf8(number) from None
            yield line.removeprefix("\ufeff") if number == 1 else line


def _not_utf8(line: int) -> ImportRefused:
    return _refused(
        line,
        "The file is not UTF-8 text (this line cannot be read); "
        "save it as “CSV UTF-8” and try again",
    )


def _read_header(cells: list[str], required: Iterable[str]) -> list[str]:
    """Return the lower-case column names; refuse a missing required or a repeated column."""
    header = [name.strip().lower() for name in cells]
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


def _next_cells(reader, what: str = "row") -> list[str] | None:
    """Return the next record's cells, None at the end; refuse one that cannot be read."""
    try:
        return next(reader)
    except StopIteration:
        return None
    except csv.Error as exc:
        raise _refused(reader.line_num, f"The {what} cannot be read: {exc}") from None


def iter_csv(
    source: bytes | str | Path, *, required: Iterable[str]
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line, row)`` with lower-case headers and stripped values, or refuse the file.

    ``line`` is the file line where the row ends (the header is line 1). Rows with
    every cell empty are skipped. The file is read as the rows are taken, so a refusal
    of a late row comes only when the caller reaches it.
    """
    lines = _text_lines(source)
    try:
        reader = csv.reader(lines)
        first = _next_cells(reader, "header")
        while first is not None and not any(cell.strip() for cell in first):
            first = _next_cells(reader, "header")
        if first is None:
            raise _refused(0, "The file is empty")
        header = _read_header(first, required)
        names = [name for name in header if name]
        count = 0
        while (cells := _next_cells(reader)) is not None:
            if not any(cell.strip() for cell in cells):
                continue
            row = dict.fromkeys(names, "")
            for name, cell in zip(header, cells, strict=False):
                if name:
                    row[name] = cell.strip()
            count += 1
            yield reader.line_num, row
    finally:
        lines.close()
    if not count:
        raise _refused(0, "The file has a header but no rows")


def read_csv(data: bytes | str, *, required: Iterable[str]) -> list[tuple[int, dict[str, str]]]:
    """Return every ``(line, row)`` of ``iter_csv``, or refuse the file."""
    return list(iter_csv(data, required=required))


class CsvImportCommand(BaseCommand):
    """A ``manage.py`` command that imports one CSV file through ``run``.

    A refused file prints every bad row on stderr and fails with the refusal's summary;
    a file that cannot be read fails before anything is checked.
    """

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="CSV file (UTF-8)")

    # True: ``run`` gets the file's path and reads it as it goes (large files).
    streams = False

    def handle(self, *args, file: Path, **options):
        try:
            if self.streams:
                file.open("rb").close()
                data = file
            else:
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

    def run(self, data: bytes | Path):
        """Import ``data`` or raise ``ImportRefused``; return what ``summary`` reports."""
        raise NotImplementedError

    def summary(self, result) -> str:
        return str(result)
