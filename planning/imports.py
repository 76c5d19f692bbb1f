"""Historical order lines from CSV files into ``ImportedDemand`` (``manage.py import_sales``).

Rules:

- Columns are found by name through a map (``date=…,sku=…,quantity=…,channel=…``;
  channel is optional). Dates may be dates or datetimes in ISO form
  (``2010-12-01``, ``2010-12-01 08:26:00``, ``2010-12-01T08:26``); the date part is
  the day.
- Negative quantities are returns: they reduce that day's demand (the day's total is
  clipped at 0 when the plan reads it).
- A code that is not a product is **skipped and reported** with file:line, never
  guessed: "non-product code" for codes that name no goods (no digit at all, like
  POST, D, M, DOT, BANK CHARGES, AMAZONFEE; or C2, DCGS…, gift_…), "unknown SKU" for
  the rest. SKUs match exactly, or regardless of case when that finds one product (as
  scans do). Zero quantities are skipped too.
- A malformed row (bad or missing date, quantity not a whole number, a channel over 64
  characters) fails the whole import: nothing is written and every such line is listed.
- All files are checked first, then written in one transaction in bulk, one row per
  product × day × channel × file. Importing a file name that was imported before is
  refused unless ``replace`` (its earlier rows are then deleted in the same transaction).
"""

import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from django.db import transaction
from django.db.models.functions import Upper

from common.columns import unstorable
from inventory.imports.files import ImportRefused, iter_csv
from inventory.models import Product
from planning.models import ImportedDemand
from warehouses.models import Warehouse

DEFAULT_MAP = {"date": "date", "sku": "sku", "quantity": "quantity", "channel": "channel"}
UCI_MAP = "date=InvoiceDate,sku=StockCode,quantity=Quantity,channel=Country"
MAX_ERRORS = 50
EXAMPLES = 5
PROGRESS_EVERY = 10_000
_NON_PRODUCT = re.compile(r"^(\D*|C2|DCGS\w*|gift_\w*)$", re.IGNORECASE)


class ImportFailed(Exception):
    """The files cannot be imported; ``errors`` lists each problem as file:line: text."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__(f"{len(errors)} problem(s); nothing was imported.")


def parse_map(text: str | None) -> dict[str, str]:
    """Return the column map from ``date=InvoiceDate,sku=StockCode,…`` over the defaults."""
    mapping = dict(DEFAULT_MAP)
    if not text:
        return mapping
    for part in text.split(","):
        name, sep, column = part.partition("=")
        name, column = name.strip(), column.strip()
        if not sep or name not in DEFAULT_MAP or not column:
            raise ImportFailed(
                [f"--map: {part.strip()!r} is not one of date=…, sku=…, quantity=…, channel=…"]
            )
        mapping[name] = column
    return mapping


def parse_day(text: str) -> date:
    """Return the day of a date or datetime value; raise ValueError otherwise."""
    text = text.strip()
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        return date.fromisoformat(text)


@dataclass
class Report:
    """What an import read, wrote and skipped (with the first few lines per reason)."""

    rows_read: int = 0
    rows_used: int = 0
    rows_written: int = 0
    units: int = 0
    returned_units: int = 0
    skipped: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    days: set = field(default_factory=set)

    def skip(self, reason: str, where: str, code: str) -> None:
        self.skipped[reason] += 1
        if len(self.examples[reason]) < EXAMPLES:
            self.examples[reason].append(f"{where} {code!r}")


class _Catalogue:
    """SKU → product id: exact, else regardless of case when one product matches."""

    def __init__(self):
        self.exact: dict[str, int] = {}
        folded: dict[str, list[int]] = defaultdict(list)
        for product_id, sku, upper in Product.objects.annotate(up=Upper("sku")).values_list(
            "id", "sku", "up"
        ):
            self.exact[sku] = product_id
            folded[upper].append(product_id)
        self.folded = {key: ids[0] for key, ids in folded.items() if len(ids) == 1}

    def find(self, code: str) -> int | None:
        return self.exact.get(code) or self.folded.get(code.upper())


def _read_file(path: Path, mapping, catalogue, report, totals, errors, progress) -> None:
    """Check every row of one file, adding good rows to ``totals`` and problems to errors.

    The file is read through the imports' shared streaming reader, so a file that is not
    UTF-8, a record the csv module cannot read and a missing column are refused on their
    line like every other import, never a traceback.
    """
    columns = {name: column.strip().lower() for name, column in mapping.items()}
    needed = [columns["date"], columns["sku"], columns["quantity"]]
    try:
        for line, row in iter_csv(path, required=needed):
            report.rows_read += 1
            if progress and report.rows_read % PROGRESS_EVERY == 0:
                progress(f"{path.name}: {report.rows_read} rows read")
            _read_row(row, f"{path.name}:{line}", path.name, columns, catalogue, report,
                      totals, errors)  # fmt: skip
    except ImportRefused as refused:
        errors.extend(
            f"{path.name}:{error.line}: {error.message}" if error.line else f"{path.name}: {error}"
            for error in refused.errors
        )


def _read_row(row, where, source, columns, catalogue, report, totals, errors):
    raw_day, code, raw_quantity = (
        row[columns["date"]],
        row[columns["sku"]],
        row[columns["quantity"]],
    )
    channel = row.get(columns["channel"], "")
    problems = [
        f"{name} {reason[0].lower()}{reason[1:]}"
        for name, text in (("the SKU:", code), ("the channel:", channel))
        if (reason := unstorable(text))
    ]
    try:
        day = parse_day(raw_day)
    except ValueError:
        problems.append(f"date {raw_day!r} is not a date (YYYY-MM-DD[ HH:MM[:SS]])")
    if not re.fullmatch(r"[+-]?\d+", raw_quantity):
        problems.append(f"quantity {raw_quantity!r} is not a whole number")
    if len(channel) > 64:
        problems.append("channel is longer than 64 characters")
    if not code:
        problems.append("the SKU is empty")
    if problems:
        if len(errors) < MAX_ERRORS:
            errors.append(f"{where}: {'; '.join(problems)}")
        return
    quantity = int(raw_quantity)
    product_id = catalogue.find(code)
    if product_id is None:
        reason = "non-product code" if _NON_PRODUCT.match(code) else "unknown SKU"
        report.skip(reason, where, code)
        return
    if quantity == 0:
        report.skip("zero quantity", where, code)
        return
    report.rows_used += 1
    report.units += max(quantity, 0)
    report.returned_units += max(-quantity, 0)
    report.days.add(day)
    totals[product_id, day, channel, source] += quantity


def import_sales(
    paths: list[Path],
    *,
    warehouse: Warehouse,
    mapping: dict[str, str] | None = None,
    replace: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Check every file, then write them all in one transaction; raise ImportFailed."""
    mapping = mapping or dict(DEFAULT_MAP)
    report = Report()
    totals: dict[tuple, int] = defaultdict(int)
    errors: list[str] = []
    catalogue = _Catalogue()
    for path in paths:
        if not path.is_file():
            errors.append(f"{path}: no such file")
            continue
        _read_file(path, mapping, catalogue, report, totals, errors, progress)
    sources = sorted({path.name for path in paths})
    already = set(
        ImportedDemand.objects.filter(source__in=sources).values_list("source", flat=True)
    )
    if already and not replace:
        errors.append(
            f"already imported: {', '.join(sorted(already))} (use --replace to import again)"
        )
    if errors:
        raise ImportFailed(errors)
    with transaction.atomic():
        if replace:
            ImportedDemand.objects.filter(source__in=sources).delete()
        rows = [
            ImportedDemand(
                product_id=product_id,
                warehouse=warehouse,
                day=day,
                channel=channel,
                quantity=quantity,
                source=source,
            )
            for (product_id, day, channel, source), quantity in totals.items()
        ]
        ImportedDemand.objects.bulk_create(rows, batch_size=5_000)
    report.rows_written = len(rows)
    return report
