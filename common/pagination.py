"""Pages of large tables: primary keys first with the bare ordering, then the rows.

SQLite's planner, given ORDER BY on the main table, LIMIT and an INNER JOIN
(product), will happily scan the joined table and sort a million ledger rows
instead of walking the ordering index (measured: 2 s for the newest 50 moves at
1M moves). Asking for the page's keys alone lets it walk the index; the rows and
their joins then come by primary key. PostgreSQL plans both forms well.
"""

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet


def keys_first(queryset: QuerySet, start: int = 0, stop: int | None = None) -> list:
    """Return ``queryset[start:stop]`` as a list, fetched keys-first."""
    keys = list(queryset.values_list("pk", flat=True)[start:stop])
    if not keys:
        return []
    rows = {row.pk: row for row in queryset.order_by().filter(pk__in=keys)}
    return [rows[key] for key in keys if key in rows]


class KeysFirstPaginator(Paginator):
    """A Paginator whose pages are fetched keys-first (see the module docstring)."""

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        return Page(keys_first(self.object_list, bottom, top), number, self)
