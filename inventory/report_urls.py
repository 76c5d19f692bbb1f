"""Reports under /reports/ (valuation; more come with later issues)."""

urlpatterns: list = []
