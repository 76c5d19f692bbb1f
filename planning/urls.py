from django.urls import path

from planning import advisor_views, views

app_name = "planning"

urlpatterns = [
    path("replenishment/", views.replenishment, name="replenishment"),
    path("replenishment/order/", views.create_drafts, name="create_drafts"),
    path("replenishment/ordered/", views.drafts_created, name="drafts_created"),
    path("products/<str:sku>/", views.product_planning, name="product"),
    path("products/<str:sku>/policy/", views.edit_policy, name="policy"),
]

urlpatterns += [
    path("advisor/", advisor_views.advisor, name="advisor"),
    path("advisor/apply/", advisor_views.apply_advice, name="apply_advice"),
]
