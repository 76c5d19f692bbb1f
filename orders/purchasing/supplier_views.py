"""Supplier pages: the list, a supplier and the products it sells."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db import IntegrityError, transaction
from django.db.models import (
    Count,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from common.pages import filtered_rows, paginate, render_list
from orders.models import (
    PurchaseOrder,
    ReceiptLine,
    Supplier,
    SupplierProduct,
)
from orders.purchasing import selectors
from orders.purchasing.filters import SupplierFilter
from orders.purchasing.forms import SupplierForm, SupplierProductForm
from orders.purchasing.views import plain

RECENT_ORDERS = 10


def _count(model, fk: str, condition: Q | None = None) -> Coalesce:
    rows = (
        model.objects.filter(condition or Q(), **{fk: OuterRef("pk")})
        .order_by()
        .values(fk)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


@login_required
@permission_required("orders.view_supplier", raise_exception=True)
def supplier_list(request):
    suppliers = Supplier.objects.annotate(
        product_count=_count(SupplierProduct, "supplier", Q(active=True)),
        open_order_count=_count(
            PurchaseOrder, "supplier", Q(status__in=PurchaseOrder.OPEN_STATUSES)
        ),
    ).order_by("code")
    filterset = SupplierFilter(request.GET or None, queryset=suppliers)
    rows = filtered_rows(filterset)
    return render_list(
        request,
        "orders/supplier_list.html",
        {"filter": filterset, "page_obj": paginate(request, rows)},
    )


@login_required
@permission_required("orders.view_supplier", raise_exception=True)
def supplier_detail(request, supplier_code):
    supplier = get_object_or_404(Supplier, code=supplier_code)
    products = list(
        supplier.products.select_related("product").order_by("-active", "product__sku")
    )
    per_product = {
        row["line__product"]: row
        for row in ReceiptLine.objects.filter(line__order__supplier=supplier)
        .order_by()
        .values("line__product")
        .annotate(receipts=Count("pk"), mean_days=Coalesce(Sum("lead_time_days"), 0))
    }
    for item in products:
        history = per_product.get(item.product_id)
        item.receipts = history["receipts"] if history else 0
        item.mean_lead_days = history["mean_days"] / history["receipts"] if history else None
    orders = list(
        supplier.orders.select_related("warehouse").order_by("-created_at", "-id")[:RECENT_ORDERS]
    )
    return render(
        request,
        "orders/supplier_detail.html",
        {
            "supplier": supplier,
            "stats": selectors.lead_time_stats(supplier=supplier),
            "products": products,
            "orders": orders,
        },
    )


@login_required
@permission_required("orders.add_supplier", raise_exception=True)
def supplier_create(request):
    form = SupplierForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        supplier = form.save()
        messages.success(request, _("Supplier %(code)s created.") % {"code": supplier.code})
        return redirect(supplier)
    return render(request, "orders/supplier_form.html", {"form": form, "supplier": None})


@login_required
@permission_required("orders.change_supplier", raise_exception=True)
def supplier_edit(request, supplier_code):
    supplier = get_object_or_404(Supplier, code=supplier_code)
    form = SupplierForm(request.POST if request.method == "POST" else None, instance=supplier)
    if form.is_valid():
        form.save()
        messages.success(request, _("Supplier %(code)s saved.") % {"code": supplier.code})
        return redirect(supplier)
    return render(request, "orders/supplier_form.html", {"form": form, "supplier": supplier})


def _save_supplier_product(request, supplier, form):
    """Save the row; a unique constraint lost to a concurrent edit becomes a form error."""
    try:
        with transaction.atomic():
            item = form.save()
    except IntegrityError:
        form.add_error(
            None,
            _(
                "Someone saved a conflicting row for this product at the same moment "
                "(same product, supplier SKU or preferred flag): check the supplier page."
            ),
        )
        return None
    return item


def _supplier_product_page(request, supplier, item):
    data = request.POST if request.method == "POST" else None
    form = SupplierProductForm(data, instance=item, supplier=supplier)
    if form.is_valid():
        saved = _save_supplier_product(request, supplier, form)
        if saved is not None:
            messages.success(
                request,
                _("%(supplier)s sells %(sku)s at %(cost)s.")
                % {
                    "supplier": supplier.code,
                    "sku": saved.product.sku,
                    "cost": plain(saved.unit_cost),
                },
            )
            return redirect(supplier)
    return render(
        request,
        "orders/supplier_product_form.html",
        {"form": form, "supplier": supplier, "item": item},
    )


@login_required
@permission_required("orders.add_supplierproduct", raise_exception=True)
def supplier_product_add(request, supplier_code):
    supplier = get_object_or_404(Supplier, code=supplier_code)
    return _supplier_product_page(request, supplier, None)


@login_required
@permission_required("orders.change_supplierproduct", raise_exception=True)
def supplier_product_edit(request, supplier_code, supplier_product_id):
    supplier = get_object_or_404(Supplier, code=supplier_code)
    item = get_object_or_404(
        SupplierProduct.objects.select_related("product"),
        pk=supplier_product_id,
        supplier=supplier,
    )
    return _supplier_product_page(request, supplier, item)
