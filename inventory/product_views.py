"""Product pages of the back office: create, edit, suggest; CSV exports of the lists."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from common.csvfiles import streaming_csv
from common.pages import filtered_rows
from inventory import catalog, selectors
from inventory.filters import ProductFilter, StockFilter
from inventory.models import Product
from inventory.product_forms import BarcodeFormSet, ProductForm

SUGGESTIONS = 10
EXPORT_CHUNK = 2000


@login_required
@permission_required("inventory.view_product", raise_exception=True)
def product_suggestions(request):
    """Return ``<option>``s for a product input's datalist: every word in the SKU or name."""
    # The input sends its own name (product, form-0-product…), so take the one value sent.
    term = request.GET.get("q") or next(iter(request.GET.values()), "")
    products = selectors.product_suggestions(term[:100], limit=SUGGESTIONS)
    return render(request, "inventory/includes/product_options.html", {"products": products})


def _product_page(request, product: Product | None):
    data = request.POST if request.method == "POST" else None
    form = ProductForm(data, instance=product)
    barcodes = BarcodeFormSet(data, instance=product or Product(), prefix="barcodes")
    if data is not None and form.is_valid() and barcodes.is_valid():
        saved = catalog.save_product(form=form, barcodes=barcodes)
        if product is None:
            messages.success(request, _("Created %(product)s.") % {"product": saved})
        else:
            messages.success(request, _("Saved %(product)s.") % {"product": saved})
        return redirect(saved)
    return render(
        request,
        "inventory/product_form.html",
        {"form": form, "barcodes": barcodes, "product": product},
    )


@login_required
@permission_required("inventory.add_product", raise_exception=True)
def product_create(request):
    return _product_page(request, None)


@login_required
@permission_required("inventory.change_product", raise_exception=True)
def product_edit(request, sku):
    return _product_page(request, get_object_or_404(Product, sku=sku))


PRODUCT_HEADER = [
    "sku",
    "name",
    "gtin",
    "sell_price",
    "tracking",
    "fulfilment",
    "active",
    "on_hand",
    "available",
]


@login_required
@permission_required("inventory.view_product", raise_exception=True)
def product_export(request):
    """Download the product list as CSV, filtered and sorted as the list is."""
    filterset = ProductFilter(request.GET or None, queryset=selectors.products_with_totals())
    products = filtered_rows(filterset).iterator(chunk_size=EXPORT_CHUNK)
    rows = (
        [
            product.sku,
            product.name,
            product.gtin or "",
            product.sell_price,
            product.tracking,
            product.fulfilment,
            "yes" if product.active else "no",
            product.on_hand,
            product.available,
        ]
        for product in products
    )
    return streaming_csv("products.csv", PRODUCT_HEADER, rows)


STOCK_HEADER = [
    "sku",
    "name",
    "location",
    "on_hand",
    "available",
    "lot",
    "expires_on",
    "committed",
    "warehouse",
]


@login_required
@permission_required("inventory.view_stocklevel", raise_exception=True)
def stock_export(request):
    """Download the stock list as CSV, filtered as the list is."""
    filterset = StockFilter(request.GET or None, queryset=selectors.stock_rows())
    levels = filtered_rows(filterset).iterator(chunk_size=EXPORT_CHUNK)
    rows = (
        [
            level.product.sku,
            level.product.name,
            level.location.barcode,
            level.on_hand,
            level.available_qty,
            level.lot.code if level.lot else "",
            level.lot.expires_on.isoformat() if level.lot and level.lot.expires_on else "",
            level.committed,
            level.location.warehouse.code,
        ]
        for level in levels
    )
    return streaming_csv("stock.csv", STOCK_HEADER, rows)
