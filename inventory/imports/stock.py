"""Opening stock import: post CSV rows as receipts through the ledger."""

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import transaction

from common.dates import out_of_range
from inventory import ledger
from inventory.errors import LedgerError
from inventory.imports.files import ImportRefused, RowError, read_csv
from inventory.imports.rows import (
    as_problem,
    check_rows,
    parse_decimal,
    parsed,
    required,
    storable_rows,
    where_in,
)
from inventory.ledger.checks import (
    COST_PLACES,
    check_cost,
    check_lot,
    check_quantity,
    check_stocked,
)
from inventory.models import Lot, Product
from warehouses.models import Location

STOCK_COLUMNS = ("sku", "location", "lot", "expires_on", "quantity", "unit_cost")
STOCK_REQUIRED = ("sku", "location", "quantity", "unit_cost")

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_WHOLE_NUMBER = re.compile(r"^\d+$")
_COST_DECIMALS = -COST_PLACES.as_tuple().exponent


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
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"expiry “{text}” is not a real date") from None
    problem = out_of_range(day, what="expiry")
    if problem:
        raise ValueError(problem)
    return day


def _parse_quantity(text: str) -> int:
    if not _WHOLE_NUMBER.match(text) or int(text) <= 0:
        raise ValueError(f"quantity “{text}” is not a whole number above zero")
    return int(text)


def _parse_cost(text: str) -> Decimal:
    # More places than the ledger keeps would be rounded away: refuse them instead.
    return parse_decimal(text, what="unit cost", places=_COST_DECIMALS)


def _check_amounts(
    product: Product, quantity: int, unit_cost: Decimal, problems: list[str]
) -> None:
    """Refuse a quantity or a cost the ledger would refuse (implausibly large)."""
    try:
        check_quantity(quantity, product)
        check_cost(unit_cost, product, quantity=quantity)
    except LedgerError as exc:
        problems.append(as_problem(exc))


class _StockFile:
    """An opening-stock file's rows checked one by one against the database and the rows before."""

    def __init__(self, rows: list[tuple[int, dict[str, str]]]):
        skus = {row["sku"] for _, row in rows if row.get("sku")}
        self.products = {p.sku: p for p in where_in(Product.objects.all(), "sku", skus)}
        barcodes = {row["location"] for _, row in rows if row.get("location")}
        self.locations = {
            loc.barcode: loc for loc in where_in(Location.objects.all(), "barcode", barcodes)
        }
        product_ids = {p.pk for p in self.products.values()}
        self.lots = {
            (lot.product_id, lot.code): lot
            for lot in where_in(Lot.objects.all(), "product_id", product_ids)
        }
        # The expiry the file itself gives a new lot first, and on which line.
        self.expiry_in_file: dict[tuple[int, str], tuple[date, int]] = {}

    def check(self, line: int, row: dict[str, str], problems: list[str]) -> StockRow:
        """Note what is wrong with the row in ``problems``; return what it would post."""
        product = self._product(row, problems)
        location = self._location(row, problems)
        lot_code = row.get("lot", "") or None
        expiry = row.get("expires_on", "")
        expires_on = parsed(problems, _parse_date, expiry) if expiry else None
        if lot_code and len(lot_code) > Lot._meta.get_field("code").max_length:
            problems.append("lot code is longer than 64 characters")
        if product is not None and product.is_stocked:
            self._check_lot(line, product, lot_code, expiry, expires_on, problems)
        quantity = parsed(problems, _parse_quantity, row.get("quantity", ""))
        cost_text = required(row, "unit_cost", "unit cost", problems)
        cost = parsed(problems, _parse_cost, cost_text) if cost_text else None
        if product is not None and quantity is not None and cost is not None:
            _check_amounts(product, quantity, cost, problems)
        if expires_on is None and lot_code and product is not None:
            expires_on = self._expiry_from_file(product, lot_code)
        return StockRow(
            line=line,
            product=product,
            location=location,
            lot_code=lot_code,
            expires_on=expires_on,
            quantity=quantity,
            unit_cost=cost,
        )

    def _expiry_from_file(self, product: Product, lot_code: str) -> date | None:
        """Return the expiry an earlier row of the file gave the new lot ``lot_code``."""
        earlier = self.expiry_in_file.get((product.pk, lot_code))
        return earlier[0] if earlier is not None else None

    def _product(self, row: dict[str, str], problems: list[str]) -> Product | None:
        sku = required(row, "sku", "SKU", problems)
        product = self.products.get(sku)
        if sku and product is None:
            problems.append(f"unknown SKU {sku}")
        elif product is not None:
            try:
                check_stocked(product)
            except LedgerError as exc:
                problems.append(as_problem(exc))
        return product

    def _location(self, row: dict[str, str], problems: list[str]) -> Location | None:
        barcode = required(row, "location", "location", problems)
        location = self.locations.get(barcode)
        if barcode and location is None:
            problems.append(f"unknown location {barcode}")
        elif location is not None and not location.active:
            problems.append(f"location {barcode} is inactive")
        return location

    def _check_lot(
        self,
        line: int,
        product: Product,
        lot_code: str | None,
        expiry: str,
        expires_on: date | None,
        problems: list[str],
    ) -> None:
        """Check the lot and expiry cells against how ``product`` is tracked."""
        try:
            check_lot(product, Lot(product=product, code=lot_code) if lot_code else None)
        except LedgerError as exc:
            problems.append(as_problem(exc))
            return
        if not product.is_lot_tracked and expiry:
            problems.append(f"{product.sku} is not tracked by lot: leave the expiry empty")
        elif product.tracking == Product.Tracking.LOT and expiry:
            problems.append(
                f"{product.sku} is tracked by lot without expiry: leave the expiry empty"
            )
        elif product.requires_expiry and lot_code:
            self._check_expiry(line, product, lot_code, expires_on, problems)

    def _check_expiry(
        self,
        line: int,
        product: Product,
        lot_code: str,
        expires_on: date | None,
        problems: list[str],
    ) -> None:
        """Check a lot's expiry against the lot's known one, or the file's first for it."""
        key = (product.pk, lot_code)
        known = self.lots.get(key)
        earlier = self.expiry_in_file.get(key)
        if known is not None and known.expires_on is not None:
            reference, where = known.expires_on, ""
        elif earlier is not None:
            reference, where = earlier[0], f" (line {earlier[1]})"
        else:
            reference, where = None, ""
        if expires_on is None and reference is None:
            problems.append(
                f"{product.sku} is tracked by expiry: give the expiry of lot {lot_code}"
            )
        elif expires_on is not None and reference is not None and expires_on != reference:
            problems.append(
                f"lot {lot_code} of {product.sku} expires on {reference.isoformat()}{where}, "
                f"not {expires_on.isoformat()}"
            )
        elif expires_on is not None and reference is None:
            self.expiry_in_file[key] = (expires_on, line)


def validate_stock_rows(
    rows: list[tuple[int, dict[str, str]]],
) -> tuple[list[StockRow], list[RowError]]:
    """Check every opening-stock row; return (good rows, errors)."""
    rows, refused = storable_rows(rows)
    good, errors = check_rows(rows, _StockFile(rows).check)
    return good, sorted(errors + refused, key=lambda error: error.line)


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
