from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.decorators.cache import cache_control
from django.views.static import serve

from common.health import healthz
from orders.channels import api
from planning.dashboard import dashboard

# An unwritable database answers 503 also when a middleware hits it (common.unavailable).
handler500 = "common.unavailable.server_error"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page links (print pages, the admin).
    path(
        "favicon.ico",
        cache_control(max_age=86400)(serve),
        {"path": "favicon.ico", "document_root": settings.BASE_DIR / "static"},
        name="favicon",
    ),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls()),
    path("reports/", include("inventory.report_urls")),
    path("reports/", include("planning.report_urls")),
    path("planning/", include("planning.urls")),
    # The dashboard reads the plan and its snapshots, so planning serves it (layers).
    path("", dashboard, name="dashboard"),
    path("", include("scanning.urls")),
    path("", include("orders.urls")),
    path("", include("inventory.urls")),
]
