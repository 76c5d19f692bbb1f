"""Reports under /reports/ (valuation; more come with later issues)."""

from django.urls import path

from inventory import reports

urlpatterns = [
    path("valuation/", reports.valuation_report, name="valuation_report"),
]
