"""One resolver for every station: what a scanned code is, or why it cannot be right."""

from django.conf import settings

from inventory.models import Lot, Product

from .gs1 import Reading, read_code, shown
from .lookup import Candidate, Rank, candidates, load
from .scan import Kind, Scan

PRODUCT_RANKS = (Rank.GTIN, Rank.BARCODE, Rank.SKU, Rank.SKU_ANY_CASE)
KIND_OF_RANK = {
    Rank.LOCATION: Kind.LOCATION,
    Rank.LOT: Kind.LOT,
    Rank.PURCHASE_ORDER: Kind.PURCHASE_ORDER,
    Rank.SALES_ORDER: Kind.SALES_ORDER,
    Rank.SALES_ORDER_REF: Kind.SALES_ORDER,
}


def resolve(code: str, *, separator: str | None = None) -> Scan:
    """Say what ``code`` is: a product, location, lot, purchase or sales order; never raise.

    In this order: a GS1 element string (GTIN with lot, dates, serial, count), a GTIN
    or extra product barcode, a SKU (any case), a location barcode, a lot code, a
    purchase order number, a sales order number or external reference. ``separator``
    is the character a scanner sends for the GS1 group separator (default: the
    setting ``STOCKROOM_GS1_SEPARATOR``).

    Queries: none for a code refused on its own (check digit, impossible date,
    leftover data) or with nothing to look up, one UNION over every key for an
    unknown or ambiguous code, one more to load what it names: at most two.
    """
    if separator is None:
        separator = getattr(settings, "STOCKROOM_GS1_SEPARATOR", "|")
    reading = read_code(code, separator=separator)
    given = code if isinstance(code, str) else ""
    if reading.error and not reading.tentative:
        return Scan(kind=Kind.INVALID, code=given, message=reading.error)
    found = candidates(reading) if has_keys(reading) else []
    best = best_candidates(found)
    if not best:
        if reading.error:
            return Scan(kind=Kind.INVALID, code=given, message=reading.error)
        return unknown(given, reading)
    if len(best) > 1:
        return Scan(kind=Kind.UNKNOWN, code=given, message=ambiguous(reading.text, best))
    candidate = best[0]
    product_lot = next(
        (row for row in found if row.rank == Rank.PRODUCT_LOT and row.owner == candidate.target),
        None,
    )
    if reading.error:
        # A code that only looked like GS1 named something by its text: the parse was wrong.
        reading = Reading(text=reading.text)
    row = load(candidate, product_lot)
    if candidate.rank in PRODUCT_RANKS:
        return product_scan(given, reading, row, units=candidate.units)
    return other_scan(given, reading, row, KIND_OF_RANK[candidate.rank])


def has_keys(reading: Reading) -> bool:
    """Say whether a GS1 reading holds anything to look up (an SSCC alone does not)."""
    return not reading.gs1 or bool(reading.error or reading.gtin or reading.lot_code)


def best_candidates(found: list[Candidate]) -> list[Candidate]:
    """Return the rows of the best rank, one per row they name."""
    ranked = [row for row in found if row.rank != Rank.PRODUCT_LOT]
    if not ranked:
        return []
    rank = min(row.rank for row in ranked)
    by_target = {row.target: row for row in ranked if row.rank == rank}
    return [by_target[target] for target in sorted(by_target)]


def ambiguous(text: str, rows: list[Candidate]) -> str:
    count = len(rows)
    labels = ", ".join(sorted(row.label for row in rows if row.label))
    match rows[0].rank:
        case Rank.LOT:
            return f"The lot {text} is on {count} products ({labels}): scan the product label."
        case Rank.SALES_ORDER_REF:
            return (
                f"{count} orders have the external reference {text} ({labels}): "
                "scan the order number."
            )
        case Rank.SKU_ANY_CASE:
            return (
                f"{count} products have the SKU {text} in another case ({labels}): "
                "type it exactly."
            )
    return f"{count} records have the code {text} in different cases: type it exactly."


def unknown(given: str, reading: Reading) -> Scan:
    """Report a code nothing has, keeping what a GS1 string said."""
    if reading.gtin and reading.gs1:
        message = f"No product has the GTIN {reading.gtin}."
    elif reading.lot_code and reading.gs1:
        message = f"No product has the lot {reading.lot_code}."
    elif reading.sscc:
        message = f"SSCC {reading.sscc} names a shipping unit, which Stockroom does not track."
    elif reading.gs1:
        message = f"“{shown(reading.text)}” holds no GTIN, lot or SSCC to look up."
    else:
        message = f"No product, location, lot or order has the code {reading.text}."
    return Scan(kind=Kind.UNKNOWN, code=given, message=message, **gs1_values(reading))


def gs1_values(reading: Reading, units: int = 1) -> dict:
    """Return the Scan fields a reading fills by itself."""
    return {
        "gtin": reading.gtin,
        "lot_code": reading.lot_code,
        "expires_on": reading.expires_on or reading.best_before,
        "produced_on": reading.produced_on,
        "serial": reading.serial,
        "sscc": reading.sscc,
        "quantity": (reading.count or 1) * units,
        "units_per_scan": units,
    }


def product_scan(given: str, reading: Reading, row: Product | Lot, *, units: int) -> Scan:
    """Build the answer for a product, with the lot a GS1 string named on it."""
    lot = row if isinstance(row, Lot) else None
    product = lot.product if lot else row
    values = gs1_values(reading, units)
    values["gtin"] = reading.gtin or product.gtin
    parts = [f"{product.sku} · {product.name}"]
    if values["quantity"] > 1:
        parts.append(f"{values['quantity']} units")
    if reading.lot_code:
        parts.append(f"lot {reading.lot_code}" + ("" if lot else " (not yet received)"))
    message = ", ".join(parts) + "."
    if reading.warning:
        message = f"{message} {reading.warning}"
    return Scan(
        kind=Kind.PRODUCT,
        code=given,
        message=message,
        product=product,
        lot=lot,
        sku=product.sku,
        **values,
    )


def other_scan(given: str, reading: Reading, row, kind: Kind) -> Scan:
    """Build the answer for a location, a lot or an order."""
    if kind == Kind.LOCATION:
        name = f" · {row.name}" if row.name else ""
        message = f"Location {row.barcode}{name} ({row.get_kind_display()}, {row.warehouse.code})."
        return Scan(kind=kind, code=given, message=message, location=row)
    if kind == Kind.LOT:
        values = gs1_values(reading)
        values["gtin"] = row.product.gtin
        values["lot_code"] = row.code
        values["expires_on"] = values["expires_on"] or row.expires_on
        expiry = f", expires {row.expires_on.isoformat()}" if row.expires_on else ""
        message = f"Lot {row.code} of {row.product.sku} · {row.product.name}{expiry}."
        return Scan(
            kind=kind,
            code=given,
            message=message,
            product=row.product,
            lot=row,
            sku=row.product.sku,
            **values,
        )
    if kind == Kind.PURCHASE_ORDER:
        message = (
            f"Purchase order {row.number} from {row.supplier.name}: {row.get_status_display()}."
        )
    else:
        message = (
            f"Sales order {row.number} ({row.channel.code} {row.external_ref}): "
            f"{row.get_status_display()}."
        )
    return Scan(kind=kind, code=given, message=message, order=row)
