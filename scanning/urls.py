from django.urls import path

from scanning import label_views, station_views

urlpatterns: list = [
    path("scan/", station_views.station_index, name="scan_index"),
    path("scan/count-list/", station_views.count_list, name="scan_count_list"),
    path("scan/<slug:kind>/", station_views.station_page, name="scan_station"),
    path("labels/locations/<str:barcode>/", label_views.location_labels, name="location_labels"),
    path("labels/warehouses/<str:code>/", label_views.warehouse_labels, name="warehouse_labels"),
    path("labels/products/", label_views.product_list_labels, name="product_list_labels"),
    path("labels/products/<path:sku>/", label_views.product_labels, name="product_labels"),
    path("labels/lots/<int:lot_id>/", label_views.lot_labels, name="lot_labels"),
    path(
        "labels/product-lots/<path:tracked_sku>/",
        label_views.product_lot_labels,
        name="product_lot_labels",
    ),
]
