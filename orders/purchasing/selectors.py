"""Reads about purchasing that pages and other services share."""

import math
from collections.abc import Iterable

from django.db.models import F, Sum

from orders.models import PurchaseOrder, PurchaseOrderLine, ReceiptLine, SupplierProduct


def incoming_lines(product_ids: Iterable[int] | None = None):
    """Purchase order lines still to be received: open warehouse orders, quantity left over.

    Lines of orders in ``PurchaseOrder.INCOMING_STATUSES``; dropship orders never count
    (the supplier ships those to the customer), nor a line received in full or beyond.
    """
    lines = PurchaseOrderLine.objects.filter(
        order__status__in=PurchaseOrder.INCOMING_STATUSES,
        order__dropship=False,
        quantity_ordered__gt=F("quantity_received"),
    )
    if product_ids is not None:
        lines = lines.filter(product_id__in=list(product_ids))
    return lines


def incoming_by_product(
    product_ids: Iterable[int] | None = None, warehouse_ids: Iterable[int] | None = None
) -> dict[int, int]:
    """Return ``{product_id: units ordered and not yet received}`` over open orders (one query).

    Counts ``incoming_lines``, into ``warehouse_ids`` when given; products with nothing
    incoming are left out.
    """
    lines = incoming_lines(product_ids)
    if warehouse_ids is not None:
        lines = lines.filter(order__warehouse_id__in=list(warehouse_ids))
    rows = (
        lines.order_by()
        .values_list("product_id")
        .annotate(incoming=Sum(F("quantity_ordered") - F("quantity_received")))
    )
    return {product_id: incoming for product_id, incoming in rows}


def _stats(rows: list[tuple[int, int | None]]) -> dict:
    lead_times = [lead for lead, _ in rows]
    late = [days for _, days in rows if days is not None]
    n = len(lead_times)
    mean = sum(lead_times) / n if n else None
    stdev = None
    if n >= 2:
        stdev = math.sqrt(sum((x - mean) ** 2 for x in lead_times) / (n - 1))
    return {
        "n": n,
        "mean_days": mean,
        "stdev_days": stdev,
        "mean_days_late": sum(late) / len(late) if late else None,
    }


def lead_time_stats(supplier=None, supplier_product: SupplierProduct | None = None) -> dict:
    """Return ``n``, ``mean_days``, ``stdev_days`` and ``mean_days_late`` of receipts.

    One observation per ``ReceiptLine`` (a delivery of one order line), lead time =
    received_on − ordered_on in days. ``stdev_days`` is the *sample* standard
    deviation (divides by n − 1: the receipts are a sample of the supplier's
    lead-time distribution, which is what safety stock needs); it is ``None`` below
    two receipts. ``mean_days_late`` averages received_on − expected_on over receipts
    with an expected date (negative means early); ``None`` when there are none.
    ``supplier_product`` narrows to its supplier and product; with neither argument
    every receipt counts. One query.
    """
    receipts = ReceiptLine.objects.all()
    if supplier is not None:
        receipts = receipts.filter(line__order__supplier=supplier)
    if supplier_product is not None:
        receipts = receipts.filter(
            line__order__supplier_id=supplier_product.supplier_id,
            line__product_id=supplier_product.product_id,
        )
    rows = [
        (lead, (received - expected).days if expected else None)
        for lead, received, expected in receipts.order_by().values_list(
            "lead_time_days", "received_on", "expected_on"
        )
    ]
    return _stats(rows)


def dropship_sources(product_ids: Iterable[int] | None = None):
    """Supplier products that can dropship, best first per product.

    Preferred supplier first, then the cheapest, then the oldest record.
    """
    rows = SupplierProduct.objects.filter(
        active=True, supplier__active=True, supplier__dropships=True
    ).order_by("product_id", "-preferred", "unit_cost", "id")
    if product_ids is not None:
        rows = rows.filter(product_id__in=list(product_ids))
    return rows
