from django.urls import path

from planning import advisor_views, chart_views, count_views, views

app_name = "planning"

urlpatterns = [
    path("replenishment/", views.replenishment, name="replenishment"),
    path("replenishment/order/", views.create_drafts, name="create_drafts"),
    path("replenishment/ordered/", views.drafts_created, name="drafts_created"),
    path("products/<str:sku>/", views.product_planning, name="product"),
    path("products/<str:sku>/policy/", views.edit_policy, name="policy"),
    path(
        "products/<str:sku>/demand-chart/",
        chart_views.product_demand_chart,
        name="demand_chart",
    ),
    path("cycle-counts/", count_views.cycle_counts_page, name="cycle_counts"),
]

urlpatterns += [
    path("advisor/", advisor_views.advisor, name="advisor"),
    path("advisor/apply/", advisor_views.apply_advice, name="apply_advice"),
]
