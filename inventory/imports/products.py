"""Product import: create or update products by SKU from CSV rows."""

from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from itertools import batched
from pathlib import Path
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from common.statistics import analyze_after
from inventory.imports.files import ImportRefused, RowError, iter_csv
from inventory.imports.product_writes import insert_products, update_products
from inventory.imports.rows import (
    check_rows,
    parse_decimal,
    parsed,
    required,
    select_in,
    storable_rows,
)
from inventory.models import Product, ProductBarcode, StockLevel, normalize_gtin, sku_validator

PRODUCT_COLUMNS = ("sku", "name", "gtin", "sell_price", "tracking", "fulfilment")
PRODUCT_REQUIRED = ("sku", "name")

# Rows looked up, checked and written together: few enough queries, little memory.
BATCH = 5_000
IMPORT_CACHE_KB = 8_000  # SQLite's page cache while importing (see _small_page_cache)
_FILE_CHANGED = [RowError(0, "The file changed while it was being checked; run the import again")]
# Checked without a lock, written under one: another writer took a SKU or GTIN between.
_CHANGED_MEANWHILE = [
    RowError(
        0,
        "Products changed while the file was being checked (a SKU or GTIN in it was "
        "taken meanwhile); run the import again",
    )
]


@dataclass
class ProductImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __str__(self):
        return (
            f"Products: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged."
        )


@dataclass
class ProductRow:
    line: int
    sku: str
    name: str
    gtin: str | None  # 14-digit form; None: leave as is (new products: none)
    sell_price: Decimal | None  # None: leave as is (new products: 0.00)
    tracking: str | None
    fulfilment: str | None
    existing: "Existing | None"

    def values(self) -> dict:
        """Return the field values the product will have after the import."""
        current = self.existing
        return {
            "sku": self.sku,
            "name": self.name,
            "gtin": self.gtin if self.gtin is not None else (current.gtin if current else None),
            "sell_price": self.sell_price
            if self.sell_price is not None
            else (current.sell_price if current else Decimal("0.00")),
            "tracking": self.tracking or (current.tracking if current else Product.Tracking.NONE),
            "fulfilment": self.fulfilment
            or (current.fulfilment if current else Product.Fulfilment.STOCKED),
        }


@cache
def _values(choices) -> frozenset[str]:
    # Django builds ``choices.values`` anew on every access: too slow for every row.
    return frozenset(choices.values)


def _choice(text: str, choices, *, what: str) -> str | None:
    if not text:
        return None
    value = text.lower()
    if value not in _values(choices):
        raise ValueError(f"{what} “{text}” is not one of: {', '.join(choices.values)}")
    return value


def _gtin14(text: str) -> str:
    """Return ``normalize_gtin(text)``, computing the common case (plain digits) here.

    stdnum's check is most of the time of checking a large file's GTINs; the digits it
    accepts are checked the same way here, and everything else goes to it for its message.
    """
    if text.isascii() and text.isdigit() and len(text) in (8, 12, 13, 14):
        digits = text.zfill(14)
        total = 3 * sum(map(int, digits[0:13:2])) + sum(map(int, digits[1:13:2]))
        if (10 - total % 10) % 10 == int(digits[13]):
            return digits
    return normalize_gtin(text)


def _normalized_gtins(
    rows: list[tuple[int, dict[str, str]]],
) -> tuple[dict[int, str], dict[int, str]]:
    """Return the 14-digit GTIN of each row that gives a valid one, and the error of the others."""
    gtins: dict[int, str] = {}
    errors: dict[int, str] = {}
    for line, row in rows:
        text = row.get("gtin", "")
        if text:
            try:
                gtins[line] = _gtin14(text)
            except ValidationError as exc:
                errors[line] = exc.messages[0]
    return gtins, errors


def _parse_price(text: str) -> Decimal | None:
    if not text:
        return None
    price = parse_decimal(text, what="sell price", places=2)
    if price >= Decimal("1e10"):
        raise ValueError(f"sell price {text} is too large")
    return price


def _check_name(name: str, problems: list[str]) -> None:
    if name and len(name) > Product._meta.get_field("name").max_length:
        problems.append("name is longer than 200 characters")


def _check_change_with_stock(
    sku: str, current: tuple[str, str], new: tuple[str | None, str | None], problems: list[str]
) -> None:
    """Refuse what a product holding stock cannot become.

    ``current`` and ``new`` are (tracking, fulfilment); None in ``new`` keeps the current.
    """
    (tracking_was, fulfilment_was), (tracking, fulfilment) = current, new
    if tracking and tracking != tracking_was:
        problems.append(
            f"{sku} has stock: its tracking cannot change from {tracking_was} "
            f"to {tracking} (move the stock out first)"
        )
    if fulfilment == Product.Fulfilment.DROPSHIP and fulfilment_was == Product.Fulfilment.STOCKED:
        problems.append(f"{sku} has stock: it cannot become a dropship product")


class Existing(NamedTuple):
    """What the import needs of a product already in the database."""

    pk: int
    sku: str
    name: str
    gtin: str | None
    sell_price: Decimal
    tracking: str
    fulfilment: str

    def fields(self) -> tuple:
        """Return the values an update may change, in ``FIELDS`` order."""
        return self[2:]


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _existing_products(keys: set[str]) -> dict[str, Existing]:
    """Return the products whose SKU is one of ``keys`` in any case (SKUs ignore case)."""
    sql = (
        "SELECT id, sku, name, gtin, sell_price, tracking, fulfilment "
        f"FROM {_table(Product)} WHERE UPPER(sku) IN ({{}})"
    )
    found = {}
    for pk, sku, name, gtin, price, tracking, fulfilment in select_in(sql, keys):
        # SQLite hands back a float (exact for 12 digits with 2 decimals), PostgreSQL a Decimal.
        price = price if isinstance(price, Decimal) else Decimal(str(price))
        found[sku] = Existing(pk, sku, name, gtin, price, tracking, fulfilment)
    return found


def _holding_stock(ids: Iterable[int]) -> set[int]:
    """Return the primary keys of the products among ``ids`` that hold or promise stock."""
    sql = (
        f"SELECT DISTINCT product_id FROM {_table(StockLevel)} "
        "WHERE product_id IN ({}) AND (on_hand > 0 OR committed > 0)"
    )
    return {pk for (pk,) in select_in(sql, ids)}


class LineSet:
    """A set of file lines in one byte per line: a file that updates 600,000 products
    keeps 600 kB here instead of 40 MB of ``int`` objects in a ``set``."""

    def __init__(self):
        self.marks = bytearray()

    def add(self, line: int) -> None:
        if line >= len(self.marks):
            self.marks.extend(bytes(line + 4096 - len(self.marks)))
        self.marks[line] = 1

    def __contains__(self, line: int) -> bool:
        return line < len(self.marks) and self.marks[line] == 1


class _ProductFile:
    """A product file's rows checked one by one against the database and the rows before.

    ``prefetch`` looks up what the next chunk of rows needs from the database; only the
    first line of each SKU and GTIN is kept for the whole file (to refuse repeats), so a
    file of any size is checked in bounded memory apart from those two maps.
    """

    def __init__(self):
        self.first_sku_line: dict[str, int] = {}  # SKU in upper case -> its first line
        self.first_sku_case: dict[str, str] = {}  # ... and its spelling, where not upper case
        self.first_gtin_line: dict[int, int] = {}
        self.known_lines = LineSet()  # rows that name an existing product
        self.same_lines = LineSet()  # ... and would leave it as it is
        self.counts = {"new": 0, "known": 0, "same": 0}

    def prefetch(self, rows: list[tuple[int, dict[str, str]]]) -> None:
        """Look up the products, GTINs and stock that ``rows`` name."""
        self.gtins, self.gtin_errors = _normalized_gtins(rows)
        keys = {row.get("sku", "").upper() for _, row in rows} - {""}
        self.existing = _existing_products(keys)
        self.existing_keys = {p.sku.upper(): p.sku for p in self.existing.values()}
        codes = set(self.gtins.values())
        self.gtin_owners = dict(
            select_in(f"SELECT gtin, sku FROM {_table(Product)} WHERE gtin IN ({{}})", codes)
        )
        self.barcode_owners = dict(
            select_in(
                f"SELECT b.code, p.sku FROM {_table(ProductBarcode)} b "
                f"JOIN {_table(Product)} p ON p.id = b.product_id WHERE b.code IN ({{}})",
                codes,
            )
        )
        self.with_stock = _holding_stock(p.pk for p in self.existing.values())

    def check(self, line: int, row: dict[str, str], problems: list[str]) -> ProductRow:
        """Note what is wrong with the row in ``problems``; return what it would import."""
        if line in self.gtin_errors:
            problems.append(self.gtin_errors[line])
        sku = required(row, "sku", "SKU", problems)
        if sku:
            self._check_sku(line, sku, problems)
        name = required(row, "name", "name", problems)
        _check_name(name, problems)
        gtin = self.gtins.get(line)
        if gtin:
            self._check_gtin(line, sku, gtin, problems)
        price = parsed(problems, _parse_price, row.get("sell_price", ""))
        tracking = parsed(
            problems, _choice, row.get("tracking", ""), Product.Tracking, what="tracking"
        )
        fulfilment = parsed(
            problems, _choice, row.get("fulfilment", ""), Product.Fulfilment, what="fulfilment"
        )
        product = self.existing.get(sku)
        if product is not None and product.pk in self.with_stock:
            was = (product.tracking, product.fulfilment)
            _check_change_with_stock(product.sku, was, (tracking, fulfilment), problems)
        checked = ProductRow(
            line=line,
            sku=sku,
            name=name,
            gtin=gtin,
            sell_price=price,
            tracking=tracking,
            fulfilment=fulfilment,
            existing=product,
        )
        self._note(checked)
        return checked

    def _note(self, row: ProductRow) -> None:
        """Remember whether ``row`` creates, changes or leaves alone its product."""
        product = row.existing
        if product is None:
            self.counts["new"] += 1
            return
        self.known_lines.add(row.line)
        self.counts["known"] += 1
        if tuple(row.values().values())[1:] == product.fields():
            self.same_lines.add(row.line)
            self.counts["same"] += 1

    def _check_sku(self, line: int, sku: str, problems: list[str]) -> None:
        try:
            sku_validator(sku)
            if len(sku) > Product._meta.get_field("sku").max_length:
                raise ValidationError("SKU is longer than 64 characters")
        except ValidationError as exc:
            problems.append(f"SKU “{sku}”: {exc.messages[0]}")
        key = sku.upper()
        first_line = self.first_sku_line.get(key)
        first = self.first_sku_case.get(key, key)
        if first_line is not None and first == sku:
            problems.append(f"SKU {sku} appears again (first on line {first_line})")
        elif first_line is not None:
            problems.append(
                f"SKU {sku} differs only in case from {first} on line {first_line} "
                "(SKUs ignore case)"
            )
        else:
            self.first_sku_line[key] = line
            if sku != key:
                self.first_sku_case[key] = sku
        owner = self.existing_keys.get(key)
        if owner is not None and owner != sku:
            problems.append(
                f"SKU {sku} differs only in case from the existing product {owner} "
                "(SKUs ignore case)"
            )

    def _check_gtin(self, line: int, sku: str, gtin: str, problems: list[str]) -> None:
        first_line = self.first_gtin_line.get(int(gtin))
        if first_line is not None:
            problems.append(f"GTIN {gtin} appears again (first on line {first_line})")
        else:
            self.first_gtin_line[int(gtin)] = line
        owner = self.gtin_owners.get(gtin)
        if owner is not None and owner != sku:
            problems.append(f"GTIN {gtin} already belongs to product {owner}")
        owner = self.barcode_owners.get(gtin)
        if owner is not None and owner != sku:
            problems.append(f"GTIN {gtin} is already a barcode of product {owner}")


def validate_product_rows(
    rows: list[tuple[int, dict[str, str]]],
) -> tuple[list[ProductRow], list[RowError]]:
    """Check every product row against the file and the database; return (good rows, errors).

    Empty optional cells mean "the default" for a new product and "unchanged" for
    an existing one.
    """
    rows, refused = storable_rows(rows)
    checker = _ProductFile()
    checker.prefetch(rows)
    good, errors = check_rows(rows, checker.check)
    errors += refused
    # By line, whatever order the caller gave the rows in.
    errors.sort(key=lambda error: error.line)
    return good, errors


# ``progress(stage, rows)`` hears how far an import is: "checking" with the rows checked
# so far (outside any transaction), "writing" with the rows written (0 before the write
# transaction begins, then inside it after each batch).
Progress = Callable[[str, int], None]


def _no_progress(stage: str, rows: int) -> None:
    pass


def _refusals(source: bytes | str | Path, progress: Progress) -> tuple[list[RowError], LineSet]:
    """Check the whole file chunk by chunk; write nothing.

    Return what is wrong, and the lines that update existing products.
    """
    checker = _ProductFile()
    errors: list[RowError] = []
    checked = 0
    for chunk in batched(iter_csv(source, required=PRODUCT_REQUIRED), BATCH):
        rows, refused = storable_rows(list(chunk))
        checker.prefetch(rows)
        _, bad = check_rows(rows, checker.check)
        errors += bad + refused
        checked += len(chunk)
        progress("checking", checked)
    errors.sort(key=lambda error: error.line)
    return errors, checker


def import_products(
    source: bytes | str | Path, *, progress: Progress = _no_progress
) -> ProductImportResult:
    """Create or update products by SKU from a CSV file; refuse the file if any row is bad.

    ``source`` is the file's contents or its path (read as it goes, twice). The file is
    checked first without a transaction, so other writers go on meanwhile; then every
    row is written in bulk in one transaction (all or nothing), the only time other
    writers wait.
    """
    with _small_page_cache():
        return _import(source, progress)


def _import(source: bytes | str | Path, progress: Progress) -> ProductImportResult:
    checked = _file_stamp(source)
    errors, plan = _refusals(source, progress)
    if errors:
        raise ImportRefused(errors)
    counts = plan.counts
    if not counts["new"] and counts["known"] == counts["same"]:
        # Nothing to write: no write transaction, so other writers never wait for it.
        return ProductImportResult(unchanged=counts["same"])
    progress("writing", 0)
    try:
        with transaction.atomic():
            if _file_stamp(source) != checked:
                raise ImportRefused(_FILE_CHANGED)
            result = ProductImportResult()
            written = 0
            for chunk in batched(iter_csv(source, required=PRODUCT_REQUIRED), BATCH):
                _write_chunk(list(chunk), plan, result)
                written += len(chunk)
                progress("writing", written)
            analyze_after(result.created, Product, Product.history.model)
    except IntegrityError:
        raise ImportRefused(_CHANGED_MEANWHILE) from None
    return result


@contextmanager
def _small_page_cache():
    """On SQLite, import with an 8 MB page cache instead of the connection's 64 MB.

    The import reads and writes each page about once, so a big cache only raised its
    peak memory (a re-import of 663,656 products filled it while checking: 311 MB).
    """
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        (before,) = cursor.execute("PRAGMA cache_size").fetchone()
        cursor.execute(f"PRAGMA cache_size = {-IMPORT_CACHE_KB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")


def _file_stamp(source: bytes | str | Path) -> tuple | None:
    """Return what shows a file was rewritten between its two readings (size, time)."""
    if not isinstance(source, Path):
        return None
    status = source.stat()
    return status.st_size, status.st_mtime_ns


# The write phase parses rows the check found good: no need to check them again in
# the write lock (the GTIN's check digit, the price's range and places, the choices).
def _checked_gtin(text: str) -> str | None:
    if not text:
        return None
    return text.zfill(14) if text.isascii() and text.isdigit() else _gtin14(text)


def _checked_price(text: str) -> Decimal | None:
    return Decimal(text) if text else None


def _updated_values(row: dict[str, str], current: Existing) -> tuple:
    """Return a checked row's ``FIELDS`` values; an empty optional cell keeps the current one."""
    gtin, price = _checked_gtin(row.get("gtin", "")), _checked_price(row.get("sell_price", ""))
    return (
        row["name"],
        current.gtin if gtin is None else gtin,
        current.sell_price if price is None else price,
        row.get("tracking", "").lower() or current.tracking,
        row.get("fulfilment", "").lower() or current.fulfilment,
    )


def _new_product(row: dict[str, str]) -> tuple:
    """Return a checked new product row's values in ``NEW_COLUMNS`` order (defaults filled)."""
    price = _checked_price(row.get("sell_price", ""))
    return (
        row["sku"],
        row["name"],
        _checked_gtin(row.get("gtin", "")),
        Decimal("0.00") if price is None else price,
        row.get("tracking", "").lower() or Product.Tracking.NONE,
        row.get("fulfilment", "").lower() or Product.Fulfilment.STOCKED,
        True,
    )


def _write_chunk(
    chunk: list[tuple[int, dict[str, str]]], plan: "_ProductFile", result: ProductImportResult
) -> None:
    """Create and update one chunk's products in bulk, with their history rows.

    Only the rows the check found changing existing products are looked up again (rows
    that matched their product then are left alone); a SKU or GTIN another writer took
    meanwhile fails the unique constraints, refusing the file.
    """
    same = [line for line, _ in chunk if line in plan.same_lines]
    result.unchanged += len(same)
    chunk = [(line, row) for line, row in chunk if line not in plan.same_lines]
    known = [(line, row) for line, row in chunk if line in plan.known_lines]
    existing = _existing_products({row["sku"].upper() for _, row in known}) if known else {}
    with_stock = _holding_stock(current.pk for current in existing.values())
    changed = []
    for line, row in known:
        current = existing.get(row["sku"])
        if current is None:
            continue  # deleted meanwhile: created again below
        values = _updated_values(row, current)
        if current.pk in with_stock:
            problems: list[str] = []
            was = (current.tracking, current.fulfilment)
            _check_change_with_stock(row["sku"], was, values[3:], problems)
            if problems:
                raise ImportRefused([RowError(line, problem) for problem in problems])
        if values == current.fields():
            result.unchanged += 1
        else:
            changed.append((current.pk, values, current.fields()))
    new = [_new_product(row) for _, row in chunk if row["sku"] not in existing]
    insert_products(new)
    update_products(changed)
    result.created += len(new)
    result.updated += len(changed)
