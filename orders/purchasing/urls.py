"""URLs of the purchasing pages."""

from django.urls import path

from orders.purchasing import receive_views, send_views, supplier_views, views

urlpatterns = [
    path("suppliers/", supplier_views.supplier_list, name="supplier_list"),
    path("suppliers/new/", supplier_views.supplier_create, name="supplier_create"),
    path("suppliers/<str:supplier_code>/", supplier_views.supplier_detail, name="supplier_detail"),
    path(
        "suppliers/<str:supplier_code>/edit/", supplier_views.supplier_edit, name="supplier_edit"
    ),
    path(
        "suppliers/<str:supplier_code>/products/new/",
        supplier_views.supplier_product_add,
        name="supplier_product_add",
    ),
    path(
        "suppliers/<str:supplier_code>/products/<int:supplier_product_id>/",
        supplier_views.supplier_product_edit,
        name="supplier_product_edit",
    ),
    path("purchase-orders/", views.purchase_order_list, name="purchase_order_list"),
    path("purchase-orders/new/", views.purchase_order_create, name="purchase_order_create"),
    path(
        "purchase-orders/<str:number>/", views.purchase_order_detail, name="purchase_order_detail"
    ),
    path(
        "purchase-orders/<str:number>/lines/new/",
        views.purchase_order_line_add,
        name="purchase_order_line_add",
    ),
    path(
        "purchase-orders/<str:number>/lines/<int:line_id>/",
        views.purchase_order_line_edit,
        name="purchase_order_line_edit",
    ),
    path(
        "purchase-orders/<str:number>/lines/<int:line_id>/remove/",
        views.purchase_order_line_remove,
        name="purchase_order_line_remove",
    ),
    path(
        "purchase-orders/<str:number>/send/",
        send_views.purchase_order_send,
        name="purchase_order_send",
    ),
    path(
        "purchase-orders/<str:number>/mark-sent/",
        send_views.purchase_order_mark_sent,
        name="purchase_order_mark_sent",
    ),
    path(
        "purchase-orders/<str:number>/send-again/",
        send_views.purchase_order_resend,
        name="purchase_order_resend",
    ),
    path(
        "purchase-orders/<str:number>/cancel/",
        views.purchase_order_cancel,
        name="purchase_order_cancel",
    ),
    path(
        "purchase-orders/<str:number>/close/",
        views.purchase_order_close,
        name="purchase_order_close",
    ),
    path(
        "purchase-orders/<str:number>/receive/",
        receive_views.purchase_order_receive,
        name="purchase_order_receive",
    ),
    path(
        "purchase-orders/<str:number>/print/",
        views.purchase_order_print,
        name="purchase_order_print",
    ),
    path("purchase-orders/<str:number>/pdf/", views.purchase_order_pdf, name="purchase_order_pdf"),
    path("purchase-orders/<str:number>/csv/", views.purchase_order_csv, name="purchase_order_csv"),
]
