from django.urls import path

from warehouses import views

urlpatterns = [
    path("warehouses/", views.warehouse_list, name="warehouse_list"),
    path("warehouses/<str:code>/", views.warehouse_detail, name="warehouse_detail"),
    path("locations/<str:barcode>/", views.location_detail, name="location_detail"),
]
