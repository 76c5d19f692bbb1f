from django.urls import path

from inventory import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("products/", views.product_list, name="product_list"),
    path("products/<path:sku>/", views.product_detail, name="product_detail"),
    path("stock/", views.stock_list, name="stock_list"),
    path("stock/adjust/", views.adjust_stock, name="adjust_stock"),
    path("stock/transfer/", views.transfer_stock, name="transfer_stock"),
]
