from django.urls import path

from inventory import import_views, location_views, product_views, views

urlpatterns = [
    path("products/", views.product_list, name="product_list"),
    path("products/new/", product_views.product_create, name="product_create"),
    path("products/import/", import_views.product_import, name="product_import"),
    path(
        "products/import/<int:import_id>/",
        import_views.product_import_status,
        name="product_import_status",
    ),
    path("products/<path:sku>/edit/", product_views.product_edit, name="product_edit"),
    path("products/<path:sku>/", views.product_detail, name="product_detail"),
    path("product-suggestions/", product_views.product_suggestions, name="product_suggestions"),
    path("stock/", views.stock_list, name="stock_list"),
    path("stock/adjust/", views.adjust_stock, name="adjust_stock"),
    path("stock/transfer/", views.transfer_stock, name="transfer_stock"),
    path("export/products.csv", product_views.product_export, name="product_export"),
    path("export/stock.csv", product_views.stock_export, name="stock_export"),
    path("warehouses/", location_views.warehouse_list, name="warehouse_list"),
    path("warehouses/<str:code>/", location_views.warehouse_detail, name="warehouse_detail"),
    path("locations/<str:barcode>/", location_views.location_detail, name="location_detail"),
]
