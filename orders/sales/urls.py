"""URLs of the sales pages."""

from django.urls import path

from orders.sales import dropship_views, entry_views, views

urlpatterns = [
    path(
        "purchase-orders/<str:number>/confirm-shipment/",
        dropship_views.purchase_order_confirm_shipment,
        name="purchase_order_confirm_shipment",
    ),
    path("sales-orders/", views.sales_order_list, name="sales_order_list"),
    path("sales-orders/new/", entry_views.sales_order_create, name="sales_order_create"),
    path(
        "sales-orders/<str:so_number>/",
        views.sales_order_detail,
        name="sales_order_detail",
    ),
    path(
        "sales-orders/<str:so_number>/allocate/",
        views.sales_order_allocate,
        name="sales_order_allocate",
    ),
    path(
        "sales-orders/<str:so_number>/pick/",
        views.sales_order_pick,
        name="sales_order_pick",
    ),
    path(
        "sales-orders/<str:so_number>/ship/",
        views.sales_order_ship,
        name="sales_order_ship",
    ),
    path(
        "sales-orders/<str:so_number>/cancel/",
        views.sales_order_cancel,
        name="sales_order_cancel",
    ),
    path(
        "sales-orders/<str:so_number>/pick-list/",
        views.pick_list,
        name="sales_order_pick_list",
    ),
    path(
        "sales-orders/<str:so_number>/packing-slip/",
        views.packing_slip,
        name="sales_order_packing_slip",
    ),
]
