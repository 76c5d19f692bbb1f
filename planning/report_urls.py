"""The planning reports under /reports/, named ``reports:<slug>``."""

from django.urls import path

from planning.reports import abc, movement, sales, stock, suppliers, turnover
from planning.reports.base import report_view

app_name = "reports"

REPORTS = [
    stock.LOW_STOCK,
    stock.STOCKOUTS,
    stock.OVERSTOCK,
    stock.SLOW_MOVERS,
    movement.EXPIRING,
    abc.ABC_XYZ,
    turnover.TURNOVER,
    sales.CHANNEL_SALES,
    suppliers.SUPPLIER_PERFORMANCE,
]

urlpatterns = [
    path(f"{report.slug.replace('_', '-')}/", report_view(report), name=report.slug)
    for report in REPORTS
]
