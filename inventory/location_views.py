"""Warehouse and location pages: the stock each place holds."""

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, render

from common.pages import paginate, render_list
from inventory import location_selectors as selectors
from inventory.selectors import location_moves
from warehouses.models import Location, Warehouse


@login_required
@permission_required("warehouses.view_warehouse", raise_exception=True)
def warehouse_list(request):
    return render(
        request,
        "warehouses/warehouse_list.html",
        {"warehouses": selectors.warehouses_with_totals()},
    )


@login_required
@permission_required("warehouses.view_warehouse", raise_exception=True)
def warehouse_detail(request, code):
    warehouse = get_object_or_404(Warehouse, code=code)
    return render(
        request,
        "warehouses/warehouse_detail.html",
        {"warehouse": warehouse, "locations": selectors.location_tree(warehouse)},
    )


@login_required
@permission_required("warehouses.view_location", raise_exception=True)
def location_detail(request, barcode):
    location = get_object_or_404(Location.objects.select_related("warehouse"), barcode=barcode)
    subtree = Location.objects.subtree(location)
    return render_list(
        request,
        "warehouses/location_detail.html",
        {
            "location": location,
            "ancestors": selectors.ancestors(location),
            "children": selectors.subtree_children(location),
            "totals": selectors.subtree_totals(location),
            "page_obj": paginate(request, selectors.subtree_stock(location)),
            "moves": location_moves(subtree, limit=20),
        },
    )
