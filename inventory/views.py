from django.contrib.auth.decorators import login_required, permission_required
from django.db import connection
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from inventory.models import Product, StockLevel


@never_cache
def healthz(request):
    """Answer 200 when the database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any database failure means unhealthy
        return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")


@login_required
@permission_required("inventory.view_product", raise_exception=True)
def dashboard(request):
    return render(
        request,
        "inventory/dashboard.html",
        {"products": Product.objects.count(), "stock_levels": StockLevel.objects.count()},
    )
