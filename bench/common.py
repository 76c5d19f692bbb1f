"""Start Django for a benchmark process against a chosen database."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def default_database_url(size: str) -> str:
    return f"sqlite:///{ROOT / 'var' / f'bench-{size}.sqlite3'}"


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def analyze() -> None:
    """Collect planner statistics after a bulk load (SQLite plans badly without them)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def database_description() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("select sqlite_version()")
            return f"SQLite {cursor.fetchone()[0]}"
        cursor.execute("show server_version")
        return f"PostgreSQL {cursor.fetchone()[0]}"
