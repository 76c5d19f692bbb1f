"""Checking a sales order before anything is written: text fields, lines, idempotency.

``orders.sales.create_order`` calls these first; each raises an
``orders.sales.errors.SalesError`` subclass naming the field (``lines[2].sku``).
"""

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DEFAULT_DB_ALIAS, connections

from common.compiled import CompiledCache, CompiledModelQuery, stand_in
from inventory.models import Product
from orders.models import Channel, SalesOrder, SupplierProduct
from orders.purchasing.selectors import dropship_sources
from orders.sales import errors

MAX_LINES = 500
MAX_LINE_QUANTITY = 1_000_000
MAX_PRICE = Decimal(10) ** 10
MAX_ADDRESS = 2000
MAX_CARRIER = 64  # SalesOrder.carrier
MAX_TRACKING_NUMBER = 100  # SalesOrder.tracking_number
CENT = Decimal("0.01")


@dataclass
class Line:
    product: Product
    quantity: int
    unit_price: Decimal
    source: SupplierProduct | None = None  # the dropship supplier product

    @property
    def dropship(self) -> bool:
        return self.source is not None


# --- validation ---------------------------------------------------------------------


def check_text(value, *, field: str, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise errors.InvalidOrder(f"The order needs {what}.", field=field)
    value = value.strip()
    if len(value) > limit:
        raise errors.InvalidOrder(
            f"The {what.removeprefix('a ').removeprefix('an ')} is too long: at most {limit} "
            f"characters (got {len(value)}).",
            field=field,
        )
    return value


def optional_text(value, *, field: str, what: str, limit: int) -> str:
    """Strip an optional text; None is empty; refuse what is not text or is too long."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise errors.InvalidOrder(f"The {what} must be text.", field=field)
    value = value.strip()
    if len(value) > limit:
        raise errors.InvalidOrder(
            f"The {what} is too long: at most {limit} characters (got {len(value)}).",
            field=field,
        )
    return value


def check_email(value) -> str:
    """Return the stripped email address, or "" if none was given; refuse one that is not."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise errors.InvalidOrder(f"“{value}” is not an email address.", field="customer_email")
    value = value.strip()
    if value:
        try:
            validate_email(value)
            if len(value) > 254:
                raise ValidationError("too long")
        except ValidationError:
            raise errors.InvalidOrder(
                f"“{value[:100]}” is not an email address.", field="customer_email"
            ) from None
    return value


def check_quantity(value, sku: str, field: str) -> int:
    if isinstance(value, bool) or value is None:
        quantity = None
    elif isinstance(value, int):
        quantity = value
    elif isinstance(value, (Decimal, float)):
        quantity = None
        # Compare the magnitude before int(): int(Decimal("1e999999999")) never ends.
        if isinstance(value, Decimal):
            finite, size = value.is_finite(), value.copy_abs()  # abs() rounds, and overflows
        else:
            finite, size = math.isfinite(value), abs(value)
        if finite and size > MAX_LINE_QUANTITY:
            raise errors.InvalidOrderQuantity(
                f"{value} units of {sku} is more than one line may order ({MAX_LINE_QUANTITY:,}).",
                field=field,
            )
        if finite and value == int(value):
            quantity = int(value)
    else:
        quantity = None
    if quantity is None:
        raise errors.InvalidOrderQuantity(
            f"The quantity of {sku} must be a whole number, not “{value}”.", field=field
        )
    if quantity < 1:
        raise errors.InvalidOrderQuantity(
            f"The quantity of {sku} must be at least 1 (got {quantity}).", field=field
        )
    if quantity > MAX_LINE_QUANTITY:
        raise errors.InvalidOrderQuantity(
            f"{quantity} units of {sku} is more than one line may order ({MAX_LINE_QUANTITY:,}).",
            field=field,
        )
    return quantity


def check_price(value, sku: str, field: str) -> Decimal:
    try:
        if isinstance(value, bool) or value is None:
            raise InvalidOperation
        price = value if isinstance(value, Decimal) else Decimal(str(value).strip())
        if not price.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError, TypeError):
        raise errors.InvalidPrice(
            f"“{value}” is not a unit price for {sku}: give an amount like 9.90.", field=field
        ) from None
    if price < 0:
        raise errors.InvalidPrice(
            f"The unit price of {sku} cannot be negative (got {price}).", field=field
        )
    # The magnitude first: quantizing Decimal("1e30") overflows the context's precision.
    if price >= MAX_PRICE:
        raise errors.InvalidPrice(f"A unit price of {price} for {sku} is too large.", field=field)
    if price != price.quantize(CENT, rounding="ROUND_DOWN"):
        raise errors.InvalidPrice(
            f"The unit price of {sku} has more than 2 decimal places ({price}).", field=field
        )
    return price.quantize(CENT)


def check_lines(lines, *, lock: bool = False) -> list[Line]:
    """Check the order's lines; with ``lock`` the products are read and locked in one
    statement (primary-key order, inside the caller's transaction)."""
    if not isinstance(lines, (list, tuple)) or not lines:
        raise errors.InvalidOrder("The order needs at least one line.", field="lines")
    if len(lines) > MAX_LINES:
        raise errors.InvalidOrder(
            f"An order may have at most {MAX_LINES} lines (got {len(lines)}).", field="lines"
        )
    for index, spec in enumerate(lines):
        if not isinstance(spec, Mapping) or not {"sku", "quantity", "unit_price"} <= set(spec):
            raise errors.InvalidOrder(
                f"Line {index + 1} needs a sku, a quantity and a unit price.",
                field=f"lines[{index}]",
            )
        sku = spec["sku"]
        if not isinstance(sku, str) or not sku.strip():
            raise errors.UnknownSku(f"Line {index + 1} has no SKU.", field=f"lines[{index}].sku")
    skus = sorted({spec["sku"].strip() for spec in lines})
    products = {p.sku: p for p in _products(skus, lock)}
    dropship_ids = [p.pk for p in products.values() if not p.is_stocked and p.active]
    sources: dict[int, SupplierProduct] = {}
    if dropship_ids:
        for source in dropship_sources(dropship_ids).select_related("supplier"):
            sources.setdefault(source.product_id, source)
    checked = []
    for index, spec in enumerate(lines):
        sku = spec["sku"].strip()
        product = products.get(sku)
        if product is None:
            raise errors.UnknownSku(
                f"There is no product with SKU {sku[:64]}.", field=f"lines[{index}].sku"
            )
        if not product.active:
            raise errors.ProductNotForSale(
                f"{sku} is no longer sold (the product is inactive).",
                field=f"lines[{index}].sku",
            )
        quantity = check_quantity(spec["quantity"], sku, f"lines[{index}].quantity")
        price = check_price(spec["unit_price"], sku, f"lines[{index}].unit_price")
        source = None
        if not product.is_stocked:
            source = sources.get(product.pk)
            if source is None:
                raise errors.NoDropshipSupplier(
                    f"{sku} is a dropship product, but no active supplier dropships it.",
                    field=f"lines[{index}].sku",
                )
        checked.append(Line(product, quantity, price, source))
    return checked


def request_hash_of(**values) -> str:
    body = json.dumps(values, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def existing_order(channel: Channel, external_ref: str, request_hash: str):
    """Return ``(order, False)`` for a repeated request, raise for a conflicting one."""
    order = SalesOrder.objects.filter(channel=channel, external_ref=external_ref).first()
    if order is None:
        return None
    if order.request_hash != request_hash:
        raise errors.DuplicateReference(
            f"Order reference {external_ref} is already used by {order.number} with other "
            "contents; use a new reference for a new order.",
            field="external_ref",
        )
    return order, False


def _products(skus: list[str], lock: bool) -> list[Product]:
    """The products of ``skus`` by key (locked with ``lock``): one statement compiled once
    per process and number of SKUs; every order starts with it."""
    key = (id(connections[DEFAULT_DB_ALIAS]), len(skus), lock)
    compiled = PRODUCTS.get(key, lambda: _compile_products(len(skus), lock))
    return compiled.objects(**{f"sku{n}": sku for n, sku in enumerate(skus)})


PRODUCTS = CompiledCache(size=64)


def _compile_products(count: int, lock: bool) -> CompiledModelQuery:
    slots = {f"sku{n}": stand_in(str, n) for n in range(count)}
    found = Product.objects.filter(sku__in=list(slots.values())).order_by("pk")
    if lock:
        found = found.select_for_update()
    return CompiledModelQuery(found, slots)
