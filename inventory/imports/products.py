"""Product import: create or update products by SKU from CSV rows."""

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Upper

from inventory.imports.files import ImportRefused, RowError, read_csv
from inventory.imports.rows import (
    check_rows,
    parse_decimal,
    parsed,
    required,
    storable_rows,
    where_in,
)
from inventory.models import Product, ProductBarcode, StockLevel, normalize_gtin, sku_validator

PRODUCT_COLUMNS = ("sku", "name", "gtin", "sell_price", "tracking", "fulfilment")
PRODUCT_REQUIRED = ("sku", "name")


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
                gtins[line] = normalize_gtin(text)
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
    product: Product, tracking: str | None, fulfilment: str | None, problems: list[str]
) -> None:
    """Refuse what a product holding stock cannot become."""
    if tracking and tracking != product.tracking:
        problems.append(
            f"{product.sku} has stock: its tracking cannot change from {product.tracking} "
            f"to {tracking} (move the stock out first)"
        )
    if fulfilment == Product.Fulfilment.DROPSHIP and product.is_stocked:
        problems.append(f"{product.sku} has stock: it cannot become a dropship product")


class _ProductFile:
    """A product file's rows checked one by one against the database and the rows before."""

    def __init__(self, rows: list[tuple[int, dict[str, str]]]):
        self.gtins, self.gtin_errors = _normalized_gtins(rows)
        keys = {row.get("sku", "").upper() for _, row in rows} - {""}
        # SKUs ignore case: find the products whose SKU matches in any case.
        by_key = Product.objects.annotate(sku_key=Upper("sku"))
        found = list(where_in(by_key, "sku_key", keys))
        self.existing = {p.sku: p for p in found}
        self.existing_keys = {p.sku.upper(): p.sku for p in found}
        codes = set(self.gtins.values())
        self.gtin_owners = dict(
            where_in(Product.objects.values_list("gtin", "sku"), "gtin", codes)
        )
        self.barcode_owners = dict(
            where_in(ProductBarcode.objects.values_list("code", "product__sku"), "code", codes)
        )
        holding = StockLevel.objects.filter(Q(on_hand__gt=0) | Q(committed__gt=0))
        self.with_stock = set(
            where_in(
                holding.values_list("product_id", flat=True),
                "product_id",
                [p.pk for p in self.existing.values()],
            )
        )
        self.sku_lines: dict[str, int] = {}
        self.key_lines: dict[str, tuple[str, int]] = {}
        self.gtin_lines: dict[str, int] = {}

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
            _check_change_with_stock(product, tracking, fulfilment, problems)
        return ProductRow(
            line=line,
            sku=sku,
            name=name,
            gtin=gtin,
            sell_price=price,
            tracking=tracking,
            fulfilment=fulfilment,
            existing=product,
        )

    def _check_sku(self, line: int, sku: str, problems: list[str]) -> None:
        try:
            sku_validator(sku)
            if len(sku) > Product._meta.get_field("sku").max_length:
                raise ValidationError("SKU is longer than 64 characters")
        except ValidationError as exc:
            problems.append(f"SKU “{sku}”: {exc.messages[0]}")
        key = sku.upper()
        if sku in self.sku_lines:
            problems.append(f"SKU {sku} appears again (first on line {self.sku_lines[sku]})")
        elif key in self.key_lines:
            first, first_line = self.key_lines[key]
            problems.append(
                f"SKU {sku} differs only in case from {first} on line {first_line} "
                "(SKUs ignore case)"
            )
        else:
            self.sku_lines[sku] = line
            self.key_lines[key] = (sku, line)
        owner = self.existing_keys.get(key)
        if owner is not None and owner != sku:
            problems.append(
                f"SKU {sku} differs only in case from the existing product {owner} "
                "(SKUs ignore case)"
            )

    def _check_gtin(self, line: int, sku: str, gtin: str, problems: list[str]) -> None:
        if gtin in self.gtin_lines:
            problems.append(f"GTIN {gtin} appears again (first on line {self.gtin_lines[gtin]})")
        else:
            self.gtin_lines[gtin] = line
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
    good, errors = check_rows(rows, _ProductFile(rows).check)
    errors += refused
    # By line, whatever order the caller gave the rows in.
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
    """Create or update the checked rows' products; count what changed."""
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
