"""What a channel may sell: available to sell per SKU, and where it comes from.

Available to sell for a channel and a stocked product is the sum over the channel's
warehouses of on hand − committed in sellable locations and unexpired lots, minus
the channel's buffer, never below 0. For a dropship product it is the quantity the
preferred dropshipping supplier reports, minus the buffer. Every function reads a
fixed number of queries whatever the number of products.
"""

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import (
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.utils import timezone

from common.compiled import CompiledCache, CompiledQuery, stand_in
from inventory.models import Product, StockLevel, usable_level_q
from orders.models import (
    Channel,
    ChannelWarehouse,
    SupplierProduct,
)
from orders.purchasing.selectors import dropship_sources, incoming_lines


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
    rows = levels.order_by().values("product_id").annotate(**_level_aggregates(today))
    return {
        row["product_id"]: {
            "on_hand": row["_on_hand"] or 0,
            "committed": row["_committed"] or 0,
            "available": max(row["_available"] or 0, 0),
            "updated_at": row["_last_change"],
            "expired_on": row["_last_expiry"],
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


Item = tuple[int, str, int, int, int, int, datetime]


def channel_inventory(
    channel: Channel, products: QuerySet[Product], today: date | None = None
) -> list[Item]:
    """``(id, sku, available, on_hand, committed, incoming, updated_at)`` per product.

    ``products`` is a queryset of products, in the order the rows come back.
    ``available`` is what ``available_to_sell`` answers; ``on_hand``, ``committed`` and
    ``incoming`` count the channel's warehouses (0 for dropship products).
    ``updated_at`` is the latest of the product's own change, its balance rows in
    those warehouses, the expiry of a lot it holds there (the start of the day after),
    the channel's last change of selling settings (buffer, warehouses, activation)
    and, for dropship products, the supplier's stock report. One query whatever the
    number of products: each figure is a correlated subquery on an indexed column.
    """
    today = today or timezone.localdate()
    return _items(channel, _with_figures(products, _channel_warehouses(channel), today))


def inventory_page(
    channel: Channel, *, skus: list[str], after: int | None, limit: int, today: date | None = None
) -> list[Item]:
    """``channel_inventory`` of the first ``limit`` active products after ``after`` (by id),
    only ``skus`` when given: one query, compiled once per shape and process.
    """
    skus = sorted(set(skus))
    warehouses = _channel_warehouses(channel)
    connection = connections[DEFAULT_DB_ALIAS]
    shape = (len(skus), len(warehouses), after is not None, limit)
    compiled = PAGES.get((id(connection), *shape), lambda: _compile_page(*shape))
    values = {f"sku{n}": sku for n, sku in enumerate(skus)}
    values.update(_warehouse_values(warehouses))
    rows = compiled.rows(today=today or timezone.localdate(), after=after, **values)
    return _items(channel, rows)


# Compiled page queries: a dozen subqueries take longer to build than to run.
PAGES = CompiledCache()


def _channel_warehouses(channel: Channel) -> list[int]:
    """The channel's warehouse ids; ``[0]`` (no warehouse has id 0) when it has none, so
    that the compiled queries keep an ``IN`` list that matches nothing."""
    return channel.warehouse_ids() or [0]


def _warehouse_values(warehouse_ids: list[int]) -> dict[str, int]:
    return {f"warehouse{n}": warehouse_id for n, warehouse_id in enumerate(warehouse_ids)}


def _warehouse_slots(count: int) -> dict[str, int]:
    """Stand-ins for the channel's warehouse ids, passed as values rather than read by a
    subquery: PostgreSQL estimated ``warehouse_id IN (subquery)`` at 13 of 1,950 locations
    and walked the locations one by one instead of the page's balance rows."""
    return {f"warehouse{n}": stand_in(int, 10 + n) for n in range(count)}


def _compile_page(
    sku_count: int, warehouse_count: int, has_after: bool, limit: int
) -> CompiledQuery:
    slots = {f"sku{n}": stand_in(str, n) for n in range(sku_count)}
    warehouses = _warehouse_slots(warehouse_count)
    slots.update(warehouses, today=stand_in(date))
    if has_after:
        slots["after"] = stand_in(int, 1)
    products = active_products([slots[f"sku{n}"] for n in range(sku_count)], slots.get("after"))
    queryset = _with_figures(products[:limit], list(warehouses.values()), slots["today"])
    return CompiledQuery(queryset, slots)


def active_products(skus: list[str] | None = None, after: int | None = None) -> QuerySet:
    """Active products by id, only ``skus`` when given, after the id ``after`` when given."""
    products = Product.objects.filter(active=True)
    if skus:
        products = products.filter(sku__in=skus)
    if after is not None:
        products = products.filter(pk__gt=after)
    return products.order_by("pk")


def _with_figures(products: QuerySet, warehouse_ids: list[int], today: date):
    return products.annotate(**_figures(warehouse_ids, today)).values_list(
        "pk", "sku", "fulfilment", "updated_at", *FIGURES
    )


def _items(channel: Channel, rows) -> list[Item]:
    """The API's numbers from the rows ``_with_figures`` reads."""
    dropship = Product.Fulfilment.DROPSHIP
    changed = channel.settings_changed_at
    expiries: dict[date, datetime] = {}  # a page holds few distinct expiry dates
    result = []
    for pk, sku, fulfilment, updated_at, *figures in rows:
        on_hand, committed, available, last_change, last_expiry, incoming, reported, at = figures
        latest = updated_at if changed is None or updated_at >= changed else changed
        if fulfilment == dropship:
            numbers = (channel.sellable(reported or 0), 0, 0, 0)
            if at is not None and at > latest:
                latest = at
        else:
            numbers = (
                channel.sellable(max(available or 0, 0)),
                on_hand or 0,
                committed or 0,
                incoming or 0,
            )
            if last_change is not None and last_change > latest:
                latest = last_change
            if last_expiry is not None:
                if last_expiry not in expiries:
                    expiries[last_expiry] = expiry_moment(last_expiry)
                latest = max(latest, expiries[last_expiry])
        result.append((pk, sku, *numbers, latest))
    return result


FIGURES = (
    "_on_hand",
    "_committed",
    "_available",
    "_last_change",
    "_last_expiry",
    "_incoming",
    "_reported",
    "_reported_at",
)


def _level_aggregates(today: date) -> dict:
    """What ``channel_inventory`` sums over a product's balance rows, by ``FIGURES`` name."""
    return {
        "_on_hand": Sum("on_hand"),
        "_committed": Sum("committed"),
        "_available": Sum(
            F("on_hand") - F("committed"),
            filter=usable_level_q(today),
            output_field=IntegerField(),
        ),
        "_last_change": Max("updated_at"),
        "_last_expiry": Max("lot_expires_on", filter=Q(on_hand__gt=0, lot_expires_on__lt=today)),
    }


def _figures(warehouses: list[int], today: date) -> dict:
    """The correlated subqueries ``channel_inventory`` reads, by ``FIGURES`` name."""
    levels = (
        StockLevel.objects.filter(product_id=OuterRef("pk"), location__warehouse_id__in=warehouses)
        .order_by()
        .values("product_id")
    )
    incoming = (
        incoming_lines()
        .filter(product_id=OuterRef("pk"), order__warehouse_id__in=warehouses)
        .order_by()
        .values("product_id")
        .annotate(v=Sum(F("quantity_ordered") - F("quantity_received")))
        .values("v")
    )
    best_source = dropship_sources().filter(product_id=OuterRef("pk"))
    figures = {
        name: Subquery(levels.annotate(v=aggregate).values("v"))
        for name, aggregate in _level_aggregates(today).items()
    }
    return {
        **figures,
        "_incoming": Subquery(incoming, output_field=IntegerField()),
        "_reported": Subquery(best_source.values("supplier_stock")[:1]),
        "_reported_at": Subquery(best_source.values("supplier_stock_updated_at")[:1]),
    }


def inventory_walk(
    channel: Channel, *, after: int | None, limit: int, today: date | None = None
) -> list[Item]:
    """``inventory_page`` without SKUs, for long pages: four grouped queries over the page's
    id range instead of subqueries per product (a page of 1,000 reads each balance row once).
    """
    shape = (id(connections[DEFAULT_DB_ALIAS]), after is not None, limit)
    products = PAGES.get(("walk", *shape), lambda: _compile_walk(after is not None, limit))
    rows = products.rows(after=after)
    if not rows:
        return []
    warehouses = _channel_warehouses(channel)
    key = (id(connections[DEFAULT_DB_ALIAS]), "range", len(warehouses))
    levels, incoming, sources = PAGES.get(key, lambda: _compile_ranges(len(warehouses)))
    span = {"low": rows[0][0], "high": rows[-1][0], **_warehouse_values(warehouses)}
    totals = {row[0]: row[1:] for row in levels.rows(today=today or timezone.localdate(), **span)}
    coming = dict(incoming.rows(**span))
    reports: dict[int, tuple] = {}
    for product_id, *report in sources.rows(**span):
        reports.setdefault(product_id, report)
    nothing, unreported = (None,) * 5, (None, None)
    joined = (
        (*row, *totals.get(pk, nothing), coming.get(pk), *reports.get(pk, unreported))
        for row in rows
        for pk in (row[0],)
    )
    return _items(channel, joined)


def _compile_walk(has_after: bool, limit: int) -> CompiledQuery:
    after = stand_in(int, 1) if has_after else None
    products = active_products(None, after).values_list("pk", "sku", "fulfilment", "updated_at")
    return CompiledQuery(products[:limit], {"after": after} if has_after else {})


def _compile_ranges(
    warehouse_count: int,
) -> tuple[CompiledQuery, CompiledQuery, CompiledQuery]:
    """The balance totals, incoming units and dropship reports of products ``low``–``high``."""
    warehouse_slots = _warehouse_slots(warehouse_count)
    warehouses = list(warehouse_slots.values())
    slots = {"low": stand_in(int, 1), "high": stand_in(int, 2), "today": stand_in(date)}
    slots.update(warehouse_slots)
    span = {"product_id__gte": slots["low"], "product_id__lte": slots["high"]}
    levels = (
        StockLevel.objects.filter(location__warehouse_id__in=warehouses, **span)
        .order_by()
        .values("product_id")
        .annotate(**_level_aggregates(slots["today"]))
        .values_list("product_id", *FIGURES[:5])
    )
    incoming = (
        incoming_lines()
        .filter(order__warehouse_id__in=warehouses, **span)
        .order_by()
        .values("product_id")
        .annotate(v=Sum(F("quantity_ordered") - F("quantity_received")))
        .values_list("product_id", "v")
    )
    sources = dropship_sources().filter(**span)
    sources = sources.values_list("product_id", "supplier_stock", "supplier_stock_updated_at")
    ranged = {name: value for name, value in slots.items() if name != "today"}
    return (
        CompiledQuery(levels, slots),
        CompiledQuery(incoming, ranged),
        CompiledQuery(sources, {"low": slots["low"], "high": slots["high"]}),
    )


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
        lot_expires_on__lt=today,
    )
    first_day = _local_date(since)
    if first_day is not None and first_day > date.min:
        # A lot expiring on D stops counting at the start of D + 1.
        expired = expired.filter(lot_expires_on__gte=first_day - timedelta(days=1))
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
