"""CSV imports of products and opening stock: validate every row, then write all or nothing.

Both imports read the whole file, check every row (reporting each bad row with its
line in the file, the header being line 1), and write nothing unless every row is
good. The writes run in one transaction, so a failure half-way leaves no trace.
Opening stock is posted as receipts through ``inventory.ledger``.
"""

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Q

from inventory import ledger
from inventory.errors import LedgerError
from inventory.models import (
    Lot,
    Product,
    ProductBarcode,
    StockLevel,
    normalize_gtin,
    sku_validator,
)
from warehouses.models import Location

PRODUCT_COLUMNS = ("sku", "name", "gtin", "sell_price", "tracking", "fulfilment")
PRODUCT_REQUIRED = ("sku", "name")
STOCK_COLUMNS = ("sku", "location", "lot", "expires_on", "quantity", "unit_cost")
STOCK_REQUIRED = ("sku", "location", "quantity", "unit_cost")

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_WHOLE_NUMBER = re.compile(r"^\d+$")
_CHUNK = 500


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
class StockImportResult:
    receipts: int = 0
    units: int = 0
    products: set[int] = field(default_factory=set)

    def __str__(self):
        return (
            f"Opening stock: {self.receipts} receipts, {self.units} units "
            f"of {len(self.products)} products."
        )


# --- reading files ------------------------------------------------------------------


def read_csv(data: bytes | str, *, required: Iterable[str]) -> list[tuple[int, dict[str, str]]]:
    """Return ``[(line, row)]`` with lower-case headers and stripped values, or refuse the file.

    ``line`` is the file line where the row ends (the header is line 1). Rows with
    every cell empty are skipped.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportRefused(
                [
                    RowError(
                        0,
                        f"The file is not UTF-8 text (byte {exc.start + 1} cannot be read); "
                        "save it as “CSV UTF-8” and try again",
                    )
                ]
            ) from None
    else:
        text = data.removeprefix("\ufeff")
    if not text.strip():
        raise ImportRefused([RowError(0, "The file is empty")])
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except csv.Error as exc:
        raise ImportRefused([RowError(1, f"The header cannot be read: {exc}")]) from None
    missing = [name for name in required if name not in header]
    if missing:
        raise ImportRefused(
            [
                RowError(
                    0,
                    f"Required column(s) missing: {', '.join(missing)} "
                    f"(the header has: {', '.join(h for h in header if h) or 'nothing'})",
                )
            ]
        )
    duplicates = sorted({name for name in header if name and header.count(name) > 1})
    if duplicates:
        raise ImportRefused([RowError(1, f"Column(s) appear twice: {', '.join(duplicates)}")])
    rows = []
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ImportRefused(
                [RowError(reader.line_num, f"The row cannot be read: {exc}")]
            ) from None
        if not any(cell.strip() for cell in cells):
            continue
        row = {name: "" for name in header if name}
        for name, cell in zip(header, cells, strict=False):
            if name:
                row[name] = cell.strip()
        rows.append((reader.line_num, row))
    if not rows:
        raise ImportRefused([RowError(0, "The file has a header but no rows")])
    return rows


def _chunks(values: list) -> Iterable[list]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _parse_decimal(text: str, *, what: str, places: int | None = None) -> Decimal:
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


# --- products -----------------------------------------------------------------------


@dataclass
class ProductRow:
    line: int
    sku: str
    name: str
    gtin: str | None  # 14-digit form; None: leave as is (new products: none)
    sell_price: Decimal | None  # None: leave as is (new products: 0.00)
    tracking: str | None
    fulfilment: str | None
    existing: Product | None

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


def _choice(text: str, choices, *, what: str) -> str | None:
    if not text:
        return None
    value = text.lower()
    if value not in choices.values:
        raise ValueError(f"{what} “{text}” is not one of: {', '.join(choices.values)}")
    return value


def validate_product_rows(
    rows: list[tuple[int, dict[str, str]]],
) -> tuple[list[ProductRow], list[RowError]]:
    """Check every product row against the file and the database; return (good rows, errors).

    Empty optional cells mean "the default" for a new product and "unchanged" for
    an existing one.
    """
    skus = [row.get("sku", "") for _, row in rows]
    existing: dict[str, Product] = {}
    for chunk in _chunks([sku for sku in set(skus) if sku]):
        existing.update({p.sku: p for p in Product.objects.filter(sku__in=chunk)})
    gtins: dict[int, str] = {}
    errors: list[RowError] = []
    for line, row in rows:
        text = row.get("gtin", "")
        if text:
            try:
                gtins[line] = normalize_gtin(text)
            except ValidationError as exc:
                errors.append(RowError(line, exc.messages[0]))
    gtin_owners: dict[str, str] = {}
    barcode_owners: dict[str, str] = {}
    for chunk in _chunks(sorted(set(gtins.values()))):
        gtin_owners.update(Product.objects.filter(gtin__in=chunk).values_list("gtin", "sku"))
        barcode_owners.update(
            ProductBarcode.objects.filter(code__in=chunk).values_list("code", "product__sku")
        )
    with_stock: set[int] = set()
    existing_ids = [p.pk for p in existing.values()]
    for chunk in _chunks(existing_ids):
        with_stock.update(
            StockLevel.objects.filter(product_id__in=chunk)
            .filter(Q(on_hand__gt=0) | Q(committed__gt=0))
            .values_list("product_id", flat=True)
        )

    sku_lines: dict[str, int] = {}
    gtin_lines: dict[str, int] = {}
    good: list[ProductRow] = []
    bad_lines = {error.line for error in errors}
    for line, row in rows:
        problems = []
        sku = row.get("sku", "")
        if not sku:
            problems.append("SKU is required")
        else:
            try:
                sku_validator(sku)
                if len(sku) > Product._meta.get_field("sku").max_length:
                    raise ValidationError("SKU is longer than 64 characters")
            except ValidationError as exc:
                problems.append(f"SKU “{sku}”: {exc.messages[0]}")
            if sku in sku_lines:
                problems.append(f"SKU {sku} appears again (first on line {sku_lines[sku]})")
            else:
                sku_lines[sku] = line
        name = row.get("name", "")
        if not name:
            problems.append("name is required")
        elif len(name) > Product._meta.get_field("name").max_length:
            problems.append("name is longer than 200 characters")
        product = existing.get(sku)
        gtin = gtins.get(line)
        if gtin:
            if gtin in gtin_lines:
                problems.append(f"GTIN {gtin} appears again (first on line {gtin_lines[gtin]})")
            else:
                gtin_lines[gtin] = line
            owner = gtin_owners.get(gtin)
            if owner is not None and owner != sku:
                problems.append(f"GTIN {gtin} already belongs to product {owner}")
            owner = barcode_owners.get(gtin)
            if owner is not None and owner != sku:
                problems.append(f"GTIN {gtin} is already a barcode of product {owner}")
        price = None
        if row.get("sell_price", ""):
            try:
                price = _parse_decimal(row["sell_price"], what="sell price", places=2)
                if price >= Decimal("1e10"):
                    raise ValueError(f"sell price {row['sell_price']} is too large")
            except ValueError as exc:
                problems.append(str(exc))
        tracking = fulfilment = None
        try:
            tracking = _choice(row.get("tracking", ""), Product.Tracking, what="tracking")
        except ValueError as exc:
            problems.append(str(exc))
        try:
            fulfilment = _choice(row.get("fulfilment", ""), Product.Fulfilment, what="fulfilment")
        except ValueError as exc:
            problems.append(str(exc))
        if product is not None and product.pk in with_stock:
            if tracking and tracking != product.tracking:
                problems.append(
                    f"{sku} has stock: its tracking cannot change from {product.tracking} "
                    f"to {tracking} (move the stock out first)"
                )
            if fulfilment == Product.Fulfilment.DROPSHIP and product.is_stocked:
                problems.append(f"{sku} has stock: it cannot become a dropship product")
        errors.extend(RowError(line, problem) for problem in problems)
        if problems or line in bad_lines:
            continue
        good.append(
            ProductRow(
                line=line,
                sku=sku,
                name=name,
                gtin=gtin,
                sell_price=price,
                tracking=tracking,
                fulfilment=fulfilment,
                existing=product,
            )
        )
    errors.sort(key=lambda error: error.line)
    return good, errors


def import_products(data: bytes | str) -> ProductImportResult:
    """Create or update products by SKU from CSV ``data``; refuse the file if any row is bad."""
    rows = read_csv(data, required=PRODUCT_REQUIRED)
    with transaction.atomic():
        good, errors = validate_product_rows(rows)
        if errors:
            raise ImportRefused(errors)
        return save_products(good)


def save_products(rows: list[ProductRow]) -> ProductImportResult:
    result = ProductImportResult()
    for row in rows:
        values = row.values()
        product = row.existing
        if product is None:
            Product(**values).save()
            result.created += 1
            continue
        changed = [name for name, value in values.items() if getattr(product, name) != value]
        if not changed:
            result.unchanged += 1
            continue
        for name in changed:
            setattr(product, name, values[name])
        product.save()
        result.updated += 1
    return result


# --- opening stock ------------------------------------------------------------------


@dataclass
class StockRow:
    line: int
    product: Product
    location: Location
    lot_code: str | None
    expires_on: date | None
    quantity: int
    unit_cost: Decimal


def _parse_date(text: str) -> date:
    if not _ISO_DATE.match(text):
        raise ValueError(f"expiry “{text}” is not a date in the form YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"expiry “{text}” is not a real date") from None


def validate_stock_rows(
    rows: list[tuple[int, dict[str, str]]],
) -> tuple[list[StockRow], list[RowError]]:
    """Check every opening-stock row; return (good rows, errors)."""
    products: dict[str, Product] = {}
    for chunk in _chunks(sorted({row["sku"] for _, row in rows if row.get("sku")})):
        products.update({p.sku: p for p in Product.objects.filter(sku__in=chunk)})
    locations: dict[str, Location] = {}
    for chunk in _chunks(sorted({row["location"] for _, row in rows if row.get("location")})):
        locations.update({loc.barcode: loc for loc in Location.objects.filter(barcode__in=chunk)})
    lots: dict[tuple[int, str], Lot] = {}
    for chunk in _chunks(sorted({p.pk for p in products.values()})):
        for lot in Lot.objects.filter(product_id__in=chunk):
            lots[(lot.product_id, lot.code)] = lot
    expiry_in_file: dict[tuple[int, str], tuple[date | None, int]] = {}

    good: list[StockRow] = []
    errors: list[RowError] = []
    for line, row in rows:
        problems = []
        sku = row.get("sku", "")
        product = products.get(sku)
        if not sku:
            problems.append("SKU is required")
        elif product is None:
            problems.append(f"unknown SKU {sku}")
        elif not product.is_stocked:
            problems.append(f"{sku} is a dropship product: it is never held in stock")
        barcode = row.get("location", "")
        location = locations.get(barcode)
        if not barcode:
            problems.append("location is required")
        elif location is None:
            problems.append(f"unknown location {barcode}")
        elif not location.active:
            problems.append(f"location {barcode} is inactive")

        lot_code = row.get("lot", "") or None
        expires_on = None
        if row.get("expires_on", ""):
            try:
                expires_on = _parse_date(row["expires_on"])
            except ValueError as exc:
                problems.append(str(exc))
        if lot_code and len(lot_code) > Lot._meta.get_field("code").max_length:
            problems.append("lot code is longer than 64 characters")
        if product is not None and product.is_stocked:
            if product.is_lot_tracked and not lot_code:
                problems.append(f"{sku} is tracked by lot: give the lot")
            elif not product.is_lot_tracked and lot_code:
                problems.append(f"{sku} is not tracked by lot, but lot {lot_code} was given")
            elif not product.is_lot_tracked and row.get("expires_on", ""):
                problems.append(f"{sku} is not tracked by lot: leave the expiry empty")
            elif product.tracking == Product.Tracking.LOT and row.get("expires_on", ""):
                problems.append(f"{sku} is tracked by lot without expiry: leave the expiry empty")
            elif product.requires_expiry and lot_code:
                known = lots.get((product.pk, lot_code))
                earlier = expiry_in_file.get((product.pk, lot_code))
                if known is not None and known.expires_on is not None:
                    reference, where = known.expires_on, ""
                elif earlier is not None:
                    reference, where = earlier[0], f" (line {earlier[1]})"
                else:
                    reference, where = None, ""
                if expires_on is None and reference is None:
                    problems.append(
                        f"{sku} is tracked by expiry: give the expiry of lot {lot_code}"
                    )
                elif expires_on is not None and reference is not None and expires_on != reference:
                    problems.append(
                        f"lot {lot_code} of {sku} expires on {reference.isoformat()}{where}, "
                        f"not {expires_on.isoformat()}"
                    )
                elif expires_on is not None and reference is None:
                    expiry_in_file[(product.pk, lot_code)] = (expires_on, line)

        quantity = 0
        text = row.get("quantity", "")
        if not _WHOLE_NUMBER.match(text) or int(text) <= 0:
            problems.append(f"quantity “{text}” is not a whole number above zero")
        else:
            quantity = int(text)
        cost = Decimal("0")
        text = row.get("unit_cost", "")
        if not text:
            problems.append("unit cost is required")
        else:
            try:
                cost = _parse_decimal(text, what="unit cost", places=6)
            except ValueError as exc:
                problems.append(str(exc))

        errors.extend(RowError(line, problem) for problem in problems)
        if not problems:
            if expires_on is None and lot_code and (product.pk, lot_code) in expiry_in_file:
                expires_on = expiry_in_file[(product.pk, lot_code)][0]
            good.append(
                StockRow(
                    line=line,
                    product=product,
                    location=location,
                    lot_code=lot_code,
                    expires_on=expires_on,
                    quantity=quantity,
                    unit_cost=cost,
                )
            )
    return good, errors


def import_stock(data: bytes | str, *, user=None) -> StockImportResult:
    """Post opening stock from CSV ``data`` through the ledger; refuse the file if a row is bad."""
    rows = read_csv(data, required=STOCK_REQUIRED)
    result = StockImportResult()
    with transaction.atomic():
        good, errors = validate_stock_rows(rows)
        if errors:
            raise ImportRefused(errors)
        # The ledger asks callers that post several products in one transaction to
        # post them in product primary-key order.
        for row in sorted(good, key=lambda r: (r.product.pk, r.line)):
            try:
                ledger.receive(
                    product=row.product,
                    location=row.location,
                    quantity=row.quantity,
                    unit_cost=row.unit_cost,
                    lot_code=row.lot_code,
                    expires_on=row.expires_on,
                    user=user,
                    reference="Opening stock",
                    reason="Opening stock import",
                )
            except LedgerError as exc:
                raise ImportRefused([RowError(row.line, exc.message)]) from exc
            result.receipts += 1
            result.units += row.quantity
            result.products.add(row.product.pk)
    return result


# --- management commands ------------------------------------------------------------


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
