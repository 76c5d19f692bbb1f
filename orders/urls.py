from django.urls import path

from orders import purchase_send_views, sales_entry_views, sales_views, views

urlpatterns = [
    path("suppliers/", views.supplier_list, name="supplier_list"),
    path("suppliers/new/", views.supplier_create, name="supplier_create"),
    path("suppliers/<str:supplier_code>/", views.supplier_detail, name="supplier_detail"),
    path("suppliers/<str:supplier_code>/edit/", views.supplier_edit, name="supplier_edit"),
    path(
        "suppliers/<str:supplier_code>/products/new/",
        views.supplier_product_add,
        name="supplier_product_add",
    ),
    path(
        "suppliers/<str:supplier_code>/products/<int:supplier_product_id>/",
        views.supplier_product_edit,
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
        purchase_send_views.purchase_order_send,
        name="purchase_order_send",
    ),
    path(
        "purchase-orders/<str:number>/mark-sent/",
        purchase_send_views.purchase_order_mark_sent,
        name="purchase_order_mark_sent",
    ),
    path(
        "purchase-orders/<str:number>/send-again/",
        purchase_send_views.purchase_order_resend,
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
        views.purchase_order_receive,
        name="purchase_order_receive",
    ),
    path(
        "purchase-orders/<str:number>/print/",
        views.purchase_order_print,
        name="purchase_order_print",
    ),
    path("purchase-orders/<str:number>/pdf/", views.purchase_order_pdf, name="purchase_order_pdf"),
    path("purchase-orders/<str:number>/csv/", views.purchase_order_csv, name="purchase_order_csv"),
    path(
        "purchase-orders/<str:number>/confirm-shipment/",
        views.purchase_order_confirm_shipment,
        name="purchase_order_confirm_shipment",
    ),
    path("channels/", sales_views.channel_list, name="channel_list"),
    path("channels/new/", sales_views.channel_create, name="channel_create"),
    path("channels/<str:channel_code>/", sales_views.channel_detail, name="channel_detail"),
    path("channels/<str:channel_code>/edit/", sales_views.channel_edit, name="channel_edit"),
    path("channels/<str:channel_code>/token/", sales_views.channel_token, name="channel_token"),
    path(
        "channels/<str:channel_code>/webhook-secret/",
        sales_views.channel_webhook_secret,
        name="channel_webhook_secret",
    ),
    path("sales-orders/", sales_views.sales_order_list, name="sales_order_list"),
    path("sales-orders/new/", sales_entry_views.sales_order_create, name="sales_order_create"),
    path(
        "sales-orders/<str:so_number>/",
        sales_views.sales_order_detail,
        name="sales_order_detail",
    ),
    path(
        "sales-orders/<str:so_number>/allocate/",
        sales_views.sales_order_allocate,
        name="sales_order_allocate",
    ),
    path(
        "sales-orders/<str:so_number>/pick/",
        sales_views.sales_order_pick,
        name="sales_order_pick",
    ),
    path(
        "sales-orders/<str:so_number>/ship/",
        sales_views.sales_order_ship,
        name="sales_order_ship",
    ),
    path(
        "sales-orders/<str:so_number>/cancel/",
        sales_views.sales_order_cancel,
        name="sales_order_cancel",
    ),
    path(
        "sales-orders/<str:so_number>/pick-list/",
        sales_views.pick_list,
        name="sales_order_pick_list",
    ),
    path(
        "sales-orders/<str:so_number>/packing-slip/",
        sales_views.packing_slip,
        name="sales_order_packing_slip",
    ),
]
