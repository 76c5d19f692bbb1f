"""Lead time per supplier × product: measured from receipts, or the stated one.

One aggregated query over every ``ReceiptLine`` (lead time = received − ordered, in
days, as ``orders.purchasing.selectors.lead_time_stats`` measures it for one product):
count, mean, *sample* standard deviation (n − 1) and the share received after the
expected date. With fewer than ``MIN_RECEIPTS`` receipts the stated lead time is used
(``SupplierProduct.lead_time_days``, else ``Supplier.default_lead_time_days``) with
σL = 0, and the explanation says "stated".
"""

import math
from dataclasses import dataclass

from django.db.models import Case, Count, F, FloatField, IntegerField, Q, Sum, Value, When

from orders.models import ReceiptLine, SupplierProduct

MIN_RECEIPTS = 3


@dataclass(frozen=True)
class LeadTime:
    mean: float
    sd: float
    receipts: int
    late_share: float
    stated: bool


def measured(product_ids=None) -> dict[tuple[int, int], LeadTime]:
    """Receipt statistics per (supplier id, product id), one query."""
    receipts = ReceiptLine.objects.all()
    if product_ids is not None:
        receipts = receipts.filter(line__product_id__in=product_ids)
    late = Case(
        When(Q(expected_on__isnull=False, received_on__gt=F("expected_on")), then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )
    rows = (
        receipts.order_by()
        .values_list("line__order__supplier_id", "line__product_id")
        .annotate(
            n=Count("id"),
            total=Sum("lead_time_days"),
            squares=Sum(F("lead_time_days") * F("lead_time_days"), output_field=FloatField()),
            late=Sum(late),
        )
        .iterator(chunk_size=10_000)
    )
    stats = {}
    for supplier_id, product_id, n, total, squares, late_count in rows:
        mean = total / n
        variance = (squares - n * mean * mean) / (n - 1) if n > 1 else 0.0
        sd = math.sqrt(max(variance, 0.0))
        stats[supplier_id, product_id] = LeadTime(mean, sd, n, late_count / n, False)
    return stats


def lead_time(
    supplier_product: SupplierProduct | None,
    stated_days: int | None,
    stats: dict[tuple[int, int], LeadTime],
) -> LeadTime:
    """The lead time to plan with for one supplier product (``stated_days`` its stated one)."""
    if supplier_product is None:
        return LeadTime(0.0, 0.0, 0, 0.0, True)
    found = stats.get((supplier_product.supplier_id, supplier_product.product_id))
    if found is not None and found.receipts >= MIN_RECEIPTS:
        return found
    receipts = found.receipts if found else 0
    late = found.late_share if found else 0.0
    return LeadTime(float(stated_days or 0), 0.0, receipts, late, True)


def offers(product_ids=None) -> dict[int, tuple[SupplierProduct, int]]:
    """The supplier product each product is ordered from, with its stated lead time.

    The preferred active offer of an active supplier; without one, the cheapest active
    offer (then the oldest). One query.
    """
    rows = SupplierProduct.objects.filter(active=True, supplier__active=True)
    if product_ids is not None:
        rows = rows.filter(product_id__in=product_ids)
    rows = (
        rows.annotate(
            stated=Case(
                When(lead_time_days__isnull=False, then=F("lead_time_days")),
                default=F("supplier__default_lead_time_days"),
            ),
            supplier_code=F("supplier__code"),
        )
        .select_related(None)
        .only(
            "id",
            "supplier_id",
            "product_id",
            "unit_cost",
            "pack_size",
            "minimum_order_quantity",
            "preferred",
        )
        .order_by("product_id", "-preferred", "unit_cost", "id")
    )
    chosen: dict[int, tuple[SupplierProduct, int]] = {}
    for offer in rows.iterator(chunk_size=5_000):
        chosen.setdefault(offer.product_id, (offer, offer.stated))
    return chosen
