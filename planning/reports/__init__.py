"""The reports under /reports/: one module per report family, one shared page and CSV.

Each report is a :class:`planning.reports.base.Report`: the rule it applies (a sentence
with its thresholds, shown at the top of the page), a django-filter form, the rows (a
queryset aggregated in the database, paginated on the page and streamed whole as CSV)
and its columns, which the page and the CSV both read so they hold the same rows.
"""
