"""Reads the stock pages share: balances with available quantity, totals, recent moves.

Every function returns a queryset or a small dict built from a fixed number of
queries, so a page's query count does not grow with its rows.
"""

from collections.abc import Callable, Iterable
from datetime import date, timedelta

from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from common.pagination import keys_first
from inventory.models import Lot, Product, StockLevel, StockMove, usable_level_q
from warehouses.models import Location

EXPIRY_WARNING_DAYS = 30

# Units on open purchase orders ("incoming") are known to purchasing, which sits above
# inventory; the orders app hands its reader in when it starts (OrdersConfig.ready).
_incoming_reader: Callable[[Iterable[int]], dict[int, int]] | None = None


def set_incoming_reader(reader: Callable[[Iterable[int]], dict[int, int]]) -> None:
    """Say which function counts the units ordered and not yet received, per product."""
    global _incoming_reader
    _incoming_reader = reader


def incoming_by_product(product_ids: Iterable[int]) -> dict[int, int]:
    """Return ``{product_id: units incoming}`` for ``product_ids`` (one query, none missing)."""
    if _incoming_reader is None:
        raise ImproperlyConfigured("No incoming reader: is the orders app installed?")
    return _incoming_reader(product_ids)


LOT_EXPIRED = "expired"
LOT_EXPIRING = "expiring"


def _product_total(expression, condition: Q | None = None) -> Coalesce:
    totals = (
        StockLevel.objects.filter(condition or Q(), product=OuterRef("pk"))
        .order_by()
        .values("product")
        .annotate(total=Sum(expression))
        .values("total")
    )
    return Coalesce(Subquery(totals, output_field=IntegerField()), Value(0))


def products_with_totals(today: date | None = None) -> QuerySet:
    """Return products annotated with ``on_hand``, ``committed`` and ``available`` totals."""
    today = today or timezone.localdate()
    return Product.objects.annotate(
        on_hand=_product_total(F("on_hand")),
        committed_qty=_product_total(F("committed")),
        available=_product_total(F("on_hand") - F("committed"), usable_level_q(today)),
    )


def stock_rows(today: date | None = None) -> QuerySet:
    """Return balance rows that hold stock, with product, location and lot joined."""
    return (
        StockLevel.objects.filter(Q(on_hand__gt=0) | Q(committed__gt=0))
        .with_available(today or timezone.localdate())
        .select_related("product", "location", "location__warehouse", "lot")
        # Walk order: location path first, so a list of one zone reads like the
        # shelves and the database can stream rows in location-path order.
        .order_by("location__path", "product__sku", "lot__expires_on", "lot__code", "pk")
    )


def product_stock(product: Product, today: date | None = None) -> dict:
    """Return the product's balance rows (by location and lot) and their totals."""
    rows = list(stock_rows(today).filter(product=product).order_by("location__path", "lot__code"))
    return {
        "rows": rows,
        "on_hand": sum(row.on_hand for row in rows),
        "committed": sum(row.committed for row in rows),
        "available": sum(row.available_qty for row in rows),
    }


def recent_moves(limit: int = 50) -> list[StockMove]:
    """Return the newest moves with everything a move row shows already joined."""
    moves = StockMove.objects.select_related(
        "product", "lot", "from_location", "to_location", "user"
    ).order_by("-created_at", "-id")
    return keys_first(moves, 0, limit)


def product_moves(product: Product, limit: int = 50) -> list[StockMove]:
    """Return the product's newest moves."""
    moves = (
        StockMove.objects.select_related("lot", "from_location", "to_location", "user")
        .filter(product=product)
        .order_by("-created_at", "-id")
    )
    return keys_first(moves, 0, limit)


def location_moves(locations: QuerySet, limit: int = 50) -> list[StockMove]:
    """Return the newest moves into or out of ``locations``."""
    moves = (
        StockMove.objects.select_related("product", "lot", "from_location", "to_location", "user")
        .filter(Q(from_location__in=locations) | Q(to_location__in=locations))
        .order_by("-created_at", "-id")
    )
    return keys_first(moves, 0, limit)


def expiring_lots(today: date | None = None, days: int = EXPIRY_WARNING_DAYS) -> QuerySet:
    """Return lots with stock on hand that expire within ``days`` from today (not yet expired)."""
    today = today or timezone.localdate()
    with_stock = StockLevel.objects.filter(lot=OuterRef("pk"), on_hand__gt=0)
    return (
        Lot.objects.filter(
            Exists(with_stock),
            expires_on__gte=today,
            expires_on__lte=today + timedelta(days=days),
        )
        .annotate(on_hand=_lot_on_hand())
        .select_related("product")
        .order_by("expires_on", "code")
    )


def lot_expiry_q(state: str, today: date, prefix: str = "lot__") -> Q:
    """Match rows whose lot has expired (``expired``) or expires within the warning days."""
    if state == LOT_EXPIRED:
        return Q(**{f"{prefix}expires_on__lt": today})
    return Q(
        **{
            f"{prefix}expires_on__gte": today,
            f"{prefix}expires_on__lte": today + timedelta(days=EXPIRY_WARNING_DAYS),
        }
    )


def expired_stock(today: date | None = None) -> QuerySet:
    """Return balance rows holding units of expired lots, the oldest expiry first."""
    today = today or timezone.localdate()
    return (
        stock_rows(today)
        .filter(lot_expiry_q(LOT_EXPIRED, today), on_hand__gt=0)
        .order_by("lot__expires_on", "location__path", "product__sku", "pk")
    )


def quarantine_by_warehouse() -> dict[int, Location]:
    """Return the first active quarantine location of each warehouse (one query)."""
    quarantine = {}
    for location in Location.objects.filter(kind=Location.Kind.QUARANTINE, active=True).order_by(
        "path"
    ):
        quarantine.setdefault(location.warehouse_id, location)
    return quarantine


def stock_summary(rows: QuerySet) -> dict:
    """Return the rows, distinct lots and units on hand of a stock list (one query)."""
    return rows.order_by().aggregate(
        rows=Count("pk"),
        lots=Count("lot", distinct=True),
        units=Coalesce(Sum("on_hand"), 0),
    )


def _lot_on_hand() -> Coalesce:
    totals = (
        StockLevel.objects.filter(lot=OuterRef("pk"))
        .order_by()
        .values("lot")
        .annotate(total=Sum("on_hand"))
        .values("total")
    )
    return Coalesce(Subquery(totals, output_field=IntegerField()), Value(0))


STOCK_COUNTS_SECONDS = 60


def dashboard_counts(today: date | None = None) -> dict:
    """Return the dashboard's headline numbers: products (live), stock (``stock_counts``)."""
    today = today or timezone.localdate()
    counts = Product.objects.aggregate(
        products=Count("pk"), active_products=Count("pk", filter=Q(active=True))
    )
    counts.update(stock_counts(today))
    return counts


def ledger_version() -> str:
    """The ledger's last move (id and time; one index step): on hand changes only with a
    move, so figures of on-hand stock kept under it stay exact until the next move."""
    last = StockMove.objects.order_by("-id").values_list("id", "created_at").first()
    return f"{last[0]}@{last[1].isoformat()}" if last else "0"


def stock_counts(today: date) -> dict:
    """Balance rows with stock, units on hand, expired and expiring lots still held.

    On hand changes only with a move, so the figures are kept (Django's cache) under the
    ledger's last move and the day: any move or a new day computes them again, and a page
    never shows figures older than the last move it can see. The minute's limit bounds
    what no move announces (a lot's expiry date edited; on PostgreSQL a move committed
    after a later one). Computing them scans every balance row and probes the lots that
    expire (~100 ms at 270k balances); reading the last move is one index step.
    """
    key = f"stock-counts:{today.isoformat()}:{ledger_version()}"
    found = cache.get(key)
    if found is None:
        found = StockLevel.objects.aggregate(
            levels_with_stock=Count("pk", filter=Q(on_hand__gt=0)),
            units_on_hand=Coalesce(Sum("on_hand"), 0),
        )
        found.update(held_lot_counts(today))
        cache.set(key, found, STOCK_COUNTS_SECONDS)
    return found


def held_lot_counts(today: date) -> dict:
    """Expired lots and lots expiring within the warning days that still hold units.

    Counted as the stock list filtered by lot expiry counts them (the cards link there),
    from the lots' expiry index with EXISTS(a held balance of the lot).
    """
    held = StockLevel.objects.filter(lot=OuterRef("pk"), on_hand__gt=0)
    return Lot.objects.filter(
        Exists(held), expires_on__lte=today + timedelta(days=EXPIRY_WARNING_DAYS)
    ).aggregate(
        expired_lots=Count("pk", filter=lot_expiry_q(LOT_EXPIRED, today, prefix="")),
        expiring_lots=Count("pk", filter=lot_expiry_q(LOT_EXPIRING, today, prefix="")),
    )


def product_suggestions(term: str, limit: int = 10) -> list[Product]:
    """Return up to ``limit`` products whose SKU or name holds every word of ``term``."""
    words = term.split()
    if not words:
        return []
    condition = Q()
    for word in words:
        condition &= Q(sku__icontains=word) | Q(name__icontains=word)
    return list(Product.objects.filter(condition).order_by("-active", "sku")[:limit])
