"""Reads of the warehouse and location pages."""

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from inventory.models import StockLevel
from inventory.selectors import stock_rows
from warehouses.models import PATH_SEPARATOR, Location, Warehouse, in_subtree


def _units(condition_field: str) -> Coalesce:
    totals = (
        StockLevel.objects.filter(**{condition_field: OuterRef("pk")})
        .order_by()
        .values(condition_field)
        .annotate(total=Sum("on_hand"))
        .values("total")
    )
    return Coalesce(Subquery(totals, output_field=IntegerField()), Value(0))


def warehouses_with_totals() -> QuerySet:
    """Return warehouses with their number of locations and units on hand."""
    return Warehouse.objects.annotate(
        location_count=Count("locations"),
        on_hand=_units("location__warehouse"),
    ).order_by("code")


def location_tree(warehouse: Warehouse) -> QuerySet:
    """Return the warehouse's locations in tree order with the units held in each one."""
    return warehouse.locations.annotate(on_hand=_units("location")).order_by("path")


def ancestors(location: Location) -> QuerySet:
    """Return the locations above ``location``, outermost first (one query)."""
    parts = location.path.split(PATH_SEPARATOR)
    paths = [PATH_SEPARATOR.join(parts[:i]) for i in range(2, len(parts))]
    return Location.objects.filter(warehouse_id=location.warehouse_id, path__in=paths).order_by(
        "path"
    )


def subtree_children(location: Location) -> QuerySet:
    """Return the locations directly below ``location`` with the units held in each one."""
    return location.children.annotate(on_hand=_units("location")).order_by("path")


def subtree_stock(location: Location) -> QuerySet:
    """Return the balance rows holding stock in the location or anywhere below it."""
    return stock_rows().filter(in_subtree(location, prefix="location__"))


def subtree_totals(location: Location) -> dict:
    return StockLevel.objects.filter(location__in=Location.objects.subtree(location)).aggregate(
        units_on_hand=Coalesce(Sum("on_hand"), 0),
        units_committed=Coalesce(Sum("committed"), 0),
        products=Count("product", distinct=True, filter=Q(on_hand__gt=0)),
    )
