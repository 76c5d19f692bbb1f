"""The orders pages: purchasing, sales and channels (every name and path as before)."""

from django.urls import include, path

urlpatterns = [
    path("", include("orders.purchasing.urls")),
    path("", include("orders.sales.urls")),
    path("", include("orders.channels.urls")),
]
