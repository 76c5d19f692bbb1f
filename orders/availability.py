"""What a channel may sell: available to sell per SKU, and where it comes from.

Available to sell for a channel and a stocked product is the sum over the channel's
warehouses of on hand − committed in sellable locations and unexpired lots, minus
the channel's buffer, never below 0. For a dropship product it is the quantity the
preferred dropshipping supplier reports, minus the buffer. Every function reads a
fixed number of queries whatever the number of products.
"""

from collections.abc import Iterable
from datetime import date

from django.db.models import F, IntegerField, Max, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from inventory.models import Product, StockLevel
from inventory.selectors import usable_level_q
from orders.models import Channel, SupplierProduct


def channel_warehouse_ids(channel: Channel) -> list[int]:
    """The channel's warehouses, highest priority first."""
    return list(
        channel.channel_warehouses.order_by("priority", "id").values_list(
            "warehouse_id", flat=True
        )
    )


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


def dropship_source(product: Product) -> SupplierProduct | None:
    """The supplier product a dropship line of ``product`` is ordered from, or None."""
    return dropship_sources([product.pk]).select_related("supplier").first()


def dropship_stock(product_ids: Iterable[int] | None = None) -> dict[int, tuple[int, object]]:
    """``{product_id: (supplier_stock, updated_at)}`` from each product's best dropship source.

    A supplier that never reported stock counts as 0 units.
    """
    found: dict[int, tuple[int, object]] = {}
    rows = dropship_sources(product_ids).values_list(
        "product_id", "supplier_stock", "supplier_stock_updated_at"
    )
    for product_id, quantity, updated_at in rows:
        found.setdefault(product_id, (quantity or 0, updated_at))
    return found


def stock_totals(
    warehouse_ids: list[int], product_ids: Iterable[int] | None = None, today: date | None = None
) -> dict[int, dict]:
    """``{product_id: {on_hand, committed, available, updated_at}}`` over the warehouses.

    ``available`` counts sellable locations and unexpired lots only; ``on_hand`` and
    ``committed`` count every location of the warehouses. One query.
    """
    today = today or timezone.localdate()
    levels = StockLevel.objects.filter(location__warehouse_id__in=warehouse_ids)
    if product_ids is not None:
        levels = levels.filter(product_id__in=list(product_ids))
    rows = (
        levels.order_by()
        .values("product_id")
        .annotate(
            on_hand_total=Coalesce(Sum("on_hand"), Value(0)),
            committed_total=Coalesce(Sum("committed"), Value(0)),
            available_total=Coalesce(
                Sum(
                    F("on_hand") - F("committed"),
                    filter=usable_level_q(today),
                    output_field=IntegerField(),
                ),
                Value(0),
            ),
            last_change=Max("updated_at"),
        )
    )
    return {
        row["product_id"]: {
            "on_hand": row["on_hand_total"],
            "committed": row["committed_total"],
            "available": max(row["available_total"], 0),
            "updated_at": row["last_change"],
        }
        for row in rows
    }


def available_to_sell(
    channel: Channel, products: Iterable[Product], today: date | None = None
) -> dict[int, int]:
    """``{product_id: units the channel may sell}`` for ``products`` (three queries at most)."""
    products = list(products)
    stocked = [p.pk for p in products if p.fulfilment != Product.Fulfilment.DROPSHIP]
    dropship = [p.pk for p in products if p.fulfilment == Product.Fulfilment.DROPSHIP]
    result = {p.pk: 0 for p in products}
    if stocked:
        totals = stock_totals(channel_warehouse_ids(channel), stocked, today)
        for product_id, row in totals.items():
            result[product_id] = max(row["available"] - channel.buffer, 0)
    if dropship:
        for product_id, (quantity, _) in dropship_stock(dropship).items():
            result[product_id] = max(quantity - channel.buffer, 0)
    return result


def sellable_levels_q(warehouse_ids: list[int], today: date) -> Q:
    """Balance rows a channel's allocation may reserve from."""
    return Q(location__warehouse_id__in=warehouse_ids) & usable_level_q(today)
