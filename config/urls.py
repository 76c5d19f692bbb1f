from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from inventory import views as inventory_views
from orders.channels import api

urlpatterns = [
    path("healthz", inventory_views.healthz, name="healthz"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls()),
    path("reports/", include("inventory.report_urls")),
    path("", include("warehouses.urls")),
    path("", include("orders.urls")),
    path("", include("inventory.urls")),
]
