"""The demand-vs-stock chart of one product as a page, and as the fragment the product page
loads with htmx (the product page is inventory's, below planning: it only links here)."""

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404

from common.pages import render_list
from inventory.models import Product
from planning import demand_chart
from planning.selectors import latest_run


@login_required
@permission_required("planning.view_planline", raise_exception=True)
def product_demand_chart(request, sku):
    product = get_object_or_404(Product, sku=sku)
    context = {"product": product, "demand": demand_chart.chart(product, latest_run())}
    return render_list(request, "planning/demand_chart.html", context)
