"""Label PDFs of locations, products and lots, one or many, at a chosen label size.

Every view takes ``?size=`` (one of ``labels.SIZES``) and answers with an inline PDF,
or with a page that says in words why it cannot (unknown size or object, too many
labels, a barcode that does not fit the size).
"""

import functools
import re

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import F
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header

from common.pages import filtered_rows
from inventory import selectors
from inventory.filters import ProductFilter
from inventory.models import Lot, Product
from scanning import labels
from warehouses.models import Location, Warehouse

# One print job at most; a longer list is refused so that nobody waits on a huge PDF.
MAX_LABELS = 500
SINGLE = "50x25"
LOT_SINGLE = "100x50"  # a GS1-128 lot code rarely fits 50 mm
SHEET = "a4"


class Refusal(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message, self.status = message, status


def refusal_page(request, refusal: Refusal) -> HttpResponse:
    return render(
        request, "scanning/label_error.html", {"message": refusal.message}, status=refusal.status
    )


def chosen_size(request, default: str) -> labels.LabelSize:
    try:
        return labels.label_size(request.GET.get("size") or default)
    except labels.LabelError as exc:
        raise Refusal(str(exc)) from exc


def capped(queryset, what: str) -> list:
    """Return the rows of ``queryset``, or refuse when there are more than MAX_LABELS."""
    rows = list(queryset[: MAX_LABELS + 1])
    if len(rows) > MAX_LABELS:
        raise Refusal(
            f"That is more than {MAX_LABELS} {what}: labels print at most {MAX_LABELS} at a "
            "time. Narrow the list and print it in parts."
        )
    if not rows:
        raise Refusal(f"There are no {what} to print labels for.", status=404)
    return rows


def found(queryset, message: str, **lookup):
    obj = queryset.filter(**lookup).first()
    if obj is None:
        raise Refusal(message, status=404)
    return obj


def safe_name(name: str) -> str:
    """Return ``name`` fit for a file name: a SKU may hold a slash."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "labels"


def pdf_view(default_size: str):
    """Turn ``view(request, size, **kwargs) -> (labels, filename)`` into a PDF response."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, **kwargs):
            try:
                size = chosen_size(request, default_size)
                items, name = view(request, **kwargs)
                pdf = labels.render_pdf(items, size, title=name)
            except labels.LabelError as exc:
                return refusal_page(request, Refusal(str(exc)))
            except Refusal as refusal:
                return refusal_page(request, refusal)
            response = HttpResponse(pdf, content_type="application/pdf")
            response["Content-Disposition"] = content_disposition_header(
                False, f"labels-{safe_name(name)}-{size.name}.pdf"
            )
            return response

        return wrapper

    return decorator


def product_labels_of(products) -> list[labels.Label]:
    currency = settings.STOCKROOM_CURRENCY
    return [labels.product_label(product, currency=currency) for product in products]


@login_required
@permission_required("warehouses.view_location", raise_exception=True)
@pdf_view(SINGLE)
def location_labels(request, barcode):
    """The label of one location."""
    location = found(
        Location.objects.all(), f"No location has the barcode “{barcode}”.", barcode=barcode
    )
    return [labels.location_label(location)], location.barcode


@login_required
@permission_required(
    ["warehouses.view_warehouse", "warehouses.view_location"], raise_exception=True
)
@pdf_view(SHEET)
def warehouse_labels(request, code):
    """The labels of every location of a warehouse, in path order."""
    warehouse = found(Warehouse.objects.all(), f"No warehouse has the code “{code}”.", code=code)
    locations = capped(warehouse.locations.order_by("path"), f"locations in {warehouse.code}")
    return [labels.location_label(location) for location in locations], warehouse.code


@login_required
@permission_required("inventory.view_product", raise_exception=True)
@pdf_view(SINGLE)
def product_labels(request, sku):
    """The label of one product."""
    product = found(Product.objects.all(), f"No product has the SKU “{sku}”.", sku=sku)
    return product_labels_of([product]), product.sku


@login_required
@permission_required("inventory.view_product", raise_exception=True)
@pdf_view(SHEET)
def product_list_labels(request):
    """The labels of the products the product list shows with the same filters and order."""
    filterset = ProductFilter(request.GET or None, queryset=selectors.products_with_totals())
    if filterset.is_bound and not filterset.is_valid():
        raise Refusal("The product filters are not valid: fix them on the product list first.")
    products = capped(filtered_rows(filterset), "products in this list")
    return product_labels_of(products), "products"


@login_required
@permission_required(["inventory.view_product", "inventory.view_lot"], raise_exception=True)
@pdf_view(LOT_SINGLE)
def lot_labels(request, lot_id):
    """The GS1-128 label of one lot."""
    lot = found(Lot.objects.select_related("product"), f"No lot has the id {lot_id}.", pk=lot_id)
    return [labels.lot_label(lot)], f"{lot.product.sku}-{lot.code}"


@login_required
@permission_required(["inventory.view_product", "inventory.view_lot"], raise_exception=True)
@pdf_view(SHEET)
def product_lot_labels(request, tracked_sku):
    """The labels of every lot of a product, earliest expiry first."""
    sku = tracked_sku
    product = found(Product.objects.all(), f"No product has the SKU “{sku}”.", sku=sku)
    lots = capped(
        product.lots.order_by(F("expires_on").asc(nulls_last=True), "code"),
        f"lots of {product.sku}",
    )
    for lot in lots:
        lot.product = product  # one product for all: no query per lot
    return [labels.lot_label(lot) for lot in lots], f"{product.sku}-lots"
