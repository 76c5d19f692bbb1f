"""The health check a load balancer polls."""

import shutil
import time
from pathlib import Path

from django.db import DatabaseError, connection, transaction
from django.http import HttpResponse
from django.views.decorators.cache import never_cache

# Below this much free space next to the SQLite file, writes are about to fail.
MIN_FREE_BYTES = 1024 * 1024
# How long a successful write check stands for this process. A write takes SQLite's
# write lock (it queues behind order intake) and makes PostgreSQL write a row version,
# so a load balancer polling every worker would otherwise measure the queue, not the
# server; the read-only check below still runs on every call.
WRITE_CHECK_SECONDS = 1.0


class WriteCheck:
    """When this process last saw the database take a write (monotonic seconds)."""

    passed_at: float | None = None

    @classmethod
    def fresh(cls) -> bool:
        return cls.passed_at is not None and time.monotonic() - cls.passed_at < WRITE_CHECK_SECONDS

    @classmethod
    def forget(cls) -> None:
        cls.passed_at = None


@never_cache
def healthz(request):
    """Answer 200 when the database answers and takes writes, else 503."""
    try:
        writable = database_writable()
    except Exception:  # any database failure means unhealthy
        writable = False
    if not writable:
        WriteCheck.forget()
        return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")


def database_writable() -> bool:
    """Tell whether the database takes writes: one cheap read on every call, a real
    (rolled back) write at most once per ``WRITE_CHECK_SECONDS``."""
    if not accepts_writes() or not disk_has_room():
        return False
    if WriteCheck.fresh():
        return True
    if not write_rolled_back():
        return False
    WriteCheck.passed_at = time.monotonic()
    return True


def accepts_writes() -> bool:
    """One read that sees a database switched to read-only (no lock, no row written).

    SQLite: ``PRAGMA query_only``; PostgreSQL: a read-only default transaction or a
    standby in recovery.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA query_only")
            return not cursor.fetchone()[0]
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT current_setting('default_transaction_read_only') = 'off' "
                "AND NOT pg_is_in_recovery()"
            )
            return bool(cursor.fetchone()[0])
        cursor.execute("SELECT 1")
    return True


def disk_has_room() -> bool:
    """On SQLite, room on the disk next to the file (a rolled-back write never reaches it)."""
    if connection.vendor != "sqlite":
        return True
    folder = Path(connection.settings_dict["NAME"]).parent
    return not folder.is_dir() or shutil.disk_usage(folder).free >= MIN_FREE_BYTES


def write_rolled_back() -> bool:
    """Write one row in a transaction that is rolled back: a read-only database refuses.

    One primary-key update of the migrations table, never committed.
    """
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE django_migrations SET app = app "
                    "WHERE id = (SELECT MIN(id) FROM django_migrations)"
                )
            transaction.set_rollback(True)
    except DatabaseError:
        return False
    return True
