"""Reads the stock pages share: balances with available quantity, totals, recent moves.

Every function returns a queryset or a small dict built from a fixed number of
queries, so a page's query count does not grow with its rows.
"""

from datetime import date, timedelta

from django.db.models import (
    Case,
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
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from inventory.models import Lot, Product, StockLevel, StockMove
from inventory.pagination import keys_first
from warehouses.models import Location

EXPIRY_WARNING_DAYS = 30


def usable_level_q(today: date, prefix: str = "") -> Q:
    """Match balance rows whose stock can be promised: sellable location, lot not expired."""
    return (
        Q(**{f"{prefix}location__kind__in": Location.SELLABLE_KINDS})
        & Q(**{f"{prefix}location__active": True})
        & (
            Q(**{f"{prefix}lot__isnull": True})
            | Q(**{f"{prefix}lot__expires_on__isnull": True})
            | Q(**{f"{prefix}lot__expires_on__gte": today})
        )
    )


def with_available(levels: QuerySet, today: date | None = None) -> QuerySet:
    """Annotate balance rows with ``available_qty`` (0 where the stock cannot be sold)."""
    today = today or timezone.localdate()
    return levels.annotate(
        available_qty=Case(
            When(usable_level_q(today), then=F("on_hand") - F("committed")),
            default=Value(0),
            output_field=IntegerField(),
        )
    )


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
        with_available(StockLevel.objects.filter(Q(on_hand__gt=0) | Q(committed__gt=0)), today)
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
    """Return lots with stock on hand that expire within ``days`` (expired ones included)."""
    today = today or timezone.localdate()
    with_stock = StockLevel.objects.filter(lot=OuterRef("pk"), on_hand__gt=0)
    return (
        Lot.objects.filter(Exists(with_stock), expires_on__lte=today + timedelta(days=days))
        .annotate(
            on_hand=_lot_on_hand(),
        )
        .select_related("product")
        .order_by("expires_on", "code")
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


def dashboard_counts(today: date | None = None) -> dict:
    """Return the dashboard's headline numbers in three aggregate queries."""
    today = today or timezone.localdate()
    counts = Product.objects.aggregate(
        products=Count("pk"), active_products=Count("pk", filter=Q(active=True))
    )
    counts.update(
        StockLevel.objects.aggregate(
            levels_with_stock=Count("pk", filter=Q(on_hand__gt=0)),
            units_on_hand=Coalesce(Sum("on_hand"), 0),
        )
    )
    counts["expiring_lots"] = expiring_lots(today).filter(expires_on__gte=today).count()
    return counts


def product_suggestions(term: str, limit: int = 10) -> list[Product]:
    """Return up to ``limit`` products whose SKU or name holds every word of ``term``."""
    words = term.split()
    if not words:
        return []
    condition = Q()
    for word in words:
        condition &= Q(sku__icontains=word) | Q(name__icontains=word)
    return list(Product.objects.filter(condition).order_by("-active", "sku")[:limit])
