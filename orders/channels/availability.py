"""What a channel may sell: available to sell per SKU, and where it comes from.

Available to sell for a channel and a stocked product is the sum over the channel's
warehouses of on hand − committed in sellable locations and unexpired lots, minus
the channel's buffer, never below 0. For a dropship product it is the quantity the
preferred dropshipping supplier reports, minus the buffer. Every function reads a
fixed number of queries whatever the number of products.
"""

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.db.models import Exists, F, IntegerField, Max, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from inventory.models import Product, StockLevel, usable_stock_q
from orders.models import (
    Channel,
    ChannelWarehouse,
    SupplierProduct,
)
from orders.purchasing.selectors import dropship_sources, incoming_by_product


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
    """By product, in the warehouses: ``{on_hand, committed, available, updated_at, expired_on}``.

    ``available`` counts sellable locations and unexpired lots only; ``on_hand`` and
    ``committed`` count every location of the warehouses. ``expired_on`` is the latest
    expiry date before ``today`` of a lot the warehouses still hold (or None): its
    units stopped counting the day after, without a ledger change. One query.
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
                    filter=usable_stock_q(today),
                    output_field=IntegerField(),
                ),
                Value(0),
            ),
            last_change=Max("updated_at"),
            last_expiry=Max("lot__expires_on", filter=Q(on_hand__gt=0, lot__expires_on__lt=today)),
        )
    )
    return {
        row["product_id"]: {
            "on_hand": row["on_hand_total"],
            "committed": row["committed_total"],
            "available": max(row["available_total"], 0),
            "updated_at": row["last_change"],
            "expired_on": row["last_expiry"],
        }
        for row in rows
    }


def expiry_moment(expires_on: date) -> datetime:
    """When a lot's units stop counting: the start of the day after ``expires_on``."""
    return timezone.make_aware(datetime.combine(expires_on + timedelta(days=1), time.min))


def available_to_sell(
    channel: Channel, products: Iterable[Product], today: date | None = None
) -> dict[int, int]:
    """``{product_id: units the channel may sell}`` for ``products`` (three queries at most)."""
    products = list(products)
    stocked = [p.pk for p in products if p.fulfilment != Product.Fulfilment.DROPSHIP]
    dropship = [p.pk for p in products if p.fulfilment == Product.Fulfilment.DROPSHIP]
    result = {p.pk: 0 for p in products}
    if stocked:
        totals = stock_totals(channel.warehouse_ids(), stocked, today)
        for product_id, row in totals.items():
            result[product_id] = channel.sellable(row["available"])
    if dropship:
        for product_id, (quantity, _) in dropship_stock(dropship).items():
            result[product_id] = channel.sellable(quantity)
    return result


def channel_inventory(
    channel: Channel, products: Iterable[Product], today: date | None = None
) -> dict[int, dict]:
    """``{product_id: {available, on_hand, committed, incoming, updated_at}}`` for a channel.

    ``available`` is what ``available_to_sell`` answers; ``on_hand``, ``committed`` and
    ``incoming`` count the channel's warehouses (0 for dropship products).
    ``updated_at`` is the latest of the product's own change, its balance rows in
    those warehouses, the expiry of a lot it holds there (the start of the day after),
    the channel's last change of selling settings (buffer, warehouses, activation)
    and, for dropship products, the supplier's stock report. Four queries whatever
    the number of products.
    """
    products = list(products)
    warehouse_ids = channel.warehouse_ids()
    stocked = [p.pk for p in products if p.fulfilment != Product.Fulfilment.DROPSHIP]
    dropship = [p.pk for p in products if p.fulfilment == Product.Fulfilment.DROPSHIP]
    totals = stock_totals(warehouse_ids, stocked, today) if stocked and warehouse_ids else {}
    incoming = (
        incoming_by_product(stocked, warehouse_ids=warehouse_ids)
        if stocked and warehouse_ids
        else {}
    )
    supplier = dropship_stock(dropship) if dropship else {}
    result = {}
    for product in products:
        stamps = [product.updated_at, channel.settings_changed_at]
        if product.fulfilment == Product.Fulfilment.DROPSHIP:
            quantity, reported_at = supplier.get(product.pk, (0, None))
            stamps.append(reported_at)
            row = {
                "available": channel.sellable(quantity),
                "on_hand": 0,
                "committed": 0,
                "incoming": 0,
            }
        else:
            level = totals.get(product.pk)
            if level:
                stamps.append(level["updated_at"])
                if level["expired_on"] is not None:
                    stamps.append(expiry_moment(level["expired_on"]))
            row = {
                "available": channel.sellable(level["available"]) if level else 0,
                "on_hand": level["on_hand"] if level else 0,
                "committed": level["committed"] if level else 0,
                "incoming": incoming.get(product.pk, 0),
            }
        row["updated_at"] = max(stamp for stamp in stamps if stamp is not None)
        result[product.pk] = row
    return result


def changed_since_q(channel: Channel, since: datetime, today: date | None = None) -> Q:
    """Products whose ``channel_inventory`` ``updated_at`` may be at or after ``since``.

    The product itself changed, a balance row in one of the channel's warehouses
    changed, a lot it holds there expired since (no ledger call marks that), or
    (dropship) a dropshipping supplier reported stock. After a change of the
    channel's selling settings every product matches. The match is generous (a
    product whose only change is a report from a supplier that is not its best
    source, or a lot that expired just before ``since``); callers compare
    ``updated_at`` to drop those.
    """
    if channel.settings_changed_at is not None and channel.settings_changed_at >= since:
        return Q()
    today = today or timezone.localdate()
    warehouses = ChannelWarehouse.objects.filter(channel=channel).values("warehouse_id")
    levels = StockLevel.objects.filter(
        product_id=OuterRef("pk"), location__warehouse_id__in=warehouses, updated_at__gte=since
    )
    expired = StockLevel.objects.filter(
        product_id=OuterRef("pk"),
        location__warehouse_id__in=warehouses,
        on_hand__gt=0,
        lot__expires_on__lt=today,
    )
    first_day = _local_date(since)
    if first_day is not None and first_day > date.min:
        # A lot expiring on D stops counting at the start of D + 1.
        expired = expired.filter(lot__expires_on__gte=first_day - timedelta(days=1))
    reports = dropship_sources().filter(
        product_id=OuterRef("pk"), supplier_stock_updated_at__gte=since
    )
    return (
        Q(updated_at__gte=since)
        | (~Q(fulfilment=Product.Fulfilment.DROPSHIP) & (Exists(levels) | Exists(expired)))
        | (Q(fulfilment=Product.Fulfilment.DROPSHIP) & Exists(reports))
    )


def _local_date(moment: datetime) -> date | None:
    """``moment``'s date in the server's time zone; None beyond the calendar's ends."""
    try:
        return timezone.localdate(moment)
    except (OverflowError, ValueError):
        return None
