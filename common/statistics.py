"""Planner statistics after bulk loads.

A bulk load (the bench generator, a large import, seed_demo) changes a table's
size by orders of magnitude. Until ANALYZE runs, the planner works from the old
statistics (often "empty") and may choose plans that are quadratic in the new
rows; in a transaction autovacuum cannot help, since it never sees uncommitted
rows. On PostgreSQL ANALYZE inside the transaction sees the transaction's own
rows; SQLite's ANALYZE works in a transaction too.
"""

from django.db import connection

# Below this many rows written, the old statistics are close enough.
BULK_ROWS = 1000


def analyze(*models) -> None:
    """Refresh the planner statistics of ``models``' tables (every table when none)."""
    with connection.cursor() as cursor:
        if not models:
            cursor.execute("ANALYZE")
            return
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def analyze_after(rows: int, *models) -> None:
    """``analyze(*models)`` when a load wrote at least ``BULK_ROWS`` rows."""
    if rows >= BULK_ROWS:
        analyze(*models)
