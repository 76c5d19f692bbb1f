"""``manage.py import_supplier_stock FILE.csv``: the stock levels suppliers report.

Columns ``supplier,supplier_sku,quantity`` (header required, any order, extra columns
ignored). Every row is checked first and every bad row reported with its line; if
any is bad nothing is written. Otherwise each supplier product's ``supplier_stock``
and ``supplier_stock_updated_at`` are set in one transaction, and channels with a
webhook get an outbox row for each dropship product whose reported stock changed.
"""

import re

from django.db import transaction
from django.db.models.functions import Upper
from django.utils import timezone

from inventory.imports import (
    CsvImportCommand,
    ImportRefused,
    RowError,
    read_csv,
    storable_rows,
)
from inventory.models import Product
from orders.channels import outbox
from orders.models import Supplier, SupplierProduct

COLUMNS = ("supplier", "supplier_sku", "quantity")
MAX_REPORTED = 1_000_000_000
_WHOLE = re.compile(r"^\+?\d+$")


def validate_rows(
    rows: list[tuple[int, dict[str, str]]],
) -> list[tuple[int, SupplierProduct, int]]:
    """Return ``[(line, supplier product, quantity)]`` or refuse with every bad row."""
    rows, problems = storable_rows(rows)
    codes = {row["supplier"].upper() for _, row in rows if row["supplier"]}
    suppliers = {
        s.code.upper(): s
        for s in Supplier.objects.annotate(upper_code=Upper("code")).filter(upper_code__in=codes)
    }
    skus = {row["supplier_sku"] for _, row in rows if row["supplier_sku"]}
    known = {
        (item.supplier_id, item.supplier_sku): item
        for item in SupplierProduct.objects.filter(
            supplier__in=list(suppliers.values()), supplier_sku__in=skus
        ).select_related("product")
    }
    seen: dict[int, int] = {}
    good = []
    for line, row in rows:
        code, sku, text = row["supplier"], row["supplier_sku"], row["quantity"]
        errors = []
        supplier = suppliers.get(code.upper()) if code else None
        if not code:
            errors.append("the supplier is missing")
        elif supplier is None:
            errors.append(f"unknown supplier “{code}”")
        item = None
        if not sku:
            errors.append("the supplier SKU is missing")
        elif supplier is not None:
            item = known.get((supplier.pk, sku))
            if item is None:
                errors.append(f"{supplier.code} has no product with supplier SKU “{sku}”")
        quantity = None
        cleaned = text.replace(" ", "")
        if not cleaned:
            errors.append("the quantity is missing")
        elif not _WHOLE.match(cleaned):
            errors.append(f"the quantity “{text}” is not a whole number of 0 or more")
        elif int(cleaned) > MAX_REPORTED:
            errors.append(f"the quantity {text} is not plausible")
        else:
            quantity = int(cleaned)
        if not errors and item.pk in seen:
            errors.append(f"{supplier.code} {sku} is already on line {seen[item.pk]}")
        elif not errors:
            seen[item.pk] = line
        problems.extend(RowError(line, message) for message in errors)
        if not errors:
            good.append((line, item, quantity))
    if problems:
        raise ImportRefused(sorted(problems, key=lambda problem: problem.line))
    return good


def import_supplier_stock(data: bytes | str) -> dict[str, int]:
    """Validate then apply a supplier stock report; return counts for the summary."""
    rows = validate_rows(read_csv(data, required=COLUMNS))
    now = timezone.now()
    with transaction.atomic():
        changed = []
        for _, item, quantity in rows:
            if item.supplier_stock != quantity:
                changed.append(item)
            SupplierProduct.objects.filter(pk=item.pk).update(
                supplier_stock=quantity, supplier_stock_updated_at=now
            )
        dropship_ids = {
            item.product_id
            for item in changed
            if item.product.fulfilment == Product.Fulfilment.DROPSHIP
        }
        notices = outbox.record(outbox.webhook_channel_ids(), dropship_ids) if dropship_ids else 0
    return {
        "rows": len(rows),
        "changed": len(changed),
        "unchanged": len(rows) - len(changed),
        "products": len(dropship_ids),
        "notices": notices,
    }


class Command(CsvImportCommand):
    help = (
        "Set the stock suppliers report (dropship availability) from a CSV file with the "
        "columns supplier,supplier_sku,quantity. Every row is checked first; if any is bad "
        "nothing is imported."
    )

    def run(self, data: bytes) -> dict[str, int]:
        return import_supplier_stock(data)

    def summary(self, result: dict[str, int]) -> str:
        return (
            f"Supplier stock: {result['rows']} rows, {result['changed']} changed, "
            f"{result['unchanged']} unchanged; {result['products']} dropship products "
            f"announced to channels ({result['notices']} outbox rows)."
        )
