"""Stock pages: parse the request, read through selectors, write through the ledger."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from common.pages import filtered_rows, paginate, paginate_uncounted, render_list
from common.pagination import estimated_rows
from inventory import ledger, selectors
from inventory.errors import LedgerError
from inventory.filters import ProductFilter, StockFilter
from inventory.forms import AdjustmentForm, TransferForm
from inventory.models import Product, StockLevel


@login_required
@permission_required("inventory.view_product", raise_exception=True)
def product_list(request):
    filterset = ProductFilter(request.GET or None, queryset=selectors.products_with_totals())
    products = filtered_rows(filterset)
    return render_list(
        request,
        "inventory/product_list.html",
        {"filter": filterset, "page_obj": paginate(request, products)},
    )


@login_required
@permission_required("inventory.view_product", raise_exception=True)
def product_detail(request, sku):
    product = get_object_or_404(Product, sku=sku)
    return render(
        request,
        "inventory/product_detail.html",
        {
            "product": product,
            "stock": selectors.product_stock(product),
            "incoming": selectors.incoming_by_product([product.pk]).get(product.pk, 0),
            "moves": selectors.product_moves(product),
        },
    )


@login_required
@permission_required("inventory.view_stocklevel", raise_exception=True)
def stock_list(request):
    filterset = StockFilter(request.GET or None, queryset=selectors.stock_rows())
    rows = filtered_rows(filterset)
    # Unfiltered, counting every balance row was most of the request: Previous/Next
    # without a count, and the table's estimated size, labelled as an estimate, unless
    # the rows are filtered or a count is asked for (``count=1``: the dashboard's cards).
    filtered = request.GET.get("count") == "1" or (
        filterset.is_bound and any(filterset.form.data.get(name) for name in filterset.filters)
    )
    page_obj = paginate(request, rows) if filtered else paginate_uncounted(request, rows)
    # Units on open purchase orders, per product of the page: one query, not one per row.
    incoming = (
        selectors.incoming_by_product({row.product_id for row in page_obj}) if page_obj else {}
    )
    for row in page_obj:
        row.incoming = incoming.get(row.product_id, 0)
    context = {"filter": filterset, "page_obj": page_obj, "summary": None, "estimate": None}
    if filtered:
        context["summary"] = selectors.stock_summary(rows)
    else:
        context["estimate"] = estimated_rows(StockLevel)
    return render_list(request, "inventory/stock_list.html", context)


def add_ledger_error(form, err: LedgerError) -> None:
    """Show a ledger refusal next to the field it is about, or above the form."""
    form.add_error(err.field if err.field in form.fields else None, err.message)


@login_required
@permission_required("inventory.adjust_stock", raise_exception=True)
def adjust_stock(request):
    data = request.POST if request.method == "POST" else None
    form = AdjustmentForm(data, initial=request.GET.dict())
    if form.is_valid():
        cleaned = form.cleaned_data
        try:
            ledger.adjust(
                product=cleaned["product"],
                location=cleaned["location"],
                lot=cleaned["lot"],
                quantity=cleaned["quantity"],
                reason=cleaned["reason"],
                user=request.user,
            )
        except LedgerError as err:
            add_ledger_error(form, err)
        else:
            messages.success(
                request,
                _("Adjusted %(sku)s in %(location)s by %(quantity)s.")
                % {
                    "sku": cleaned["product"].sku,
                    "location": cleaned["location"],
                    "quantity": f"{cleaned['quantity']:+d}",
                },
            )
            return redirect(cleaned["product"])
    return render(request, "inventory/adjust_form.html", {"form": form})


@login_required
@permission_required("inventory.transfer_stock", raise_exception=True)
def transfer_stock(request):
    data = request.POST if request.method == "POST" else None
    form = TransferForm(data, initial=request.GET.dict())
    if form.is_valid():
        cleaned = form.cleaned_data
        try:
            ledger.transfer(
                product=cleaned["product"],
                from_location=cleaned["location"],
                to_location=cleaned["to_location"],
                lot=cleaned["lot"],
                quantity=cleaned["quantity"],
                user=request.user,
            )
        except LedgerError as err:
            add_ledger_error(form, err)
        else:
            messages.success(
                request,
                _("Moved %(quantity)s × %(sku)s from %(source)s to %(target)s.")
                % {
                    "quantity": cleaned["quantity"],
                    "sku": cleaned["product"].sku,
                    "source": cleaned["location"],
                    "target": cleaned["to_location"],
                },
            )
            return redirect(cleaned["product"])
    return render(request, "inventory/transfer_form.html", {"form": form})
