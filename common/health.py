"""The health check a load balancer polls."""

import shutil
from pathlib import Path

from django.db import DatabaseError, connection, transaction
from django.http import HttpResponse
from django.views.decorators.cache import never_cache

# Below this much free space next to the SQLite file, writes are about to fail.
MIN_FREE_BYTES = 1024 * 1024


@never_cache
def healthz(request):
    """Answer 200 when the database answers and takes a write (rolled back), else 503."""
    try:
        writable = database_writable()
    except Exception:  # any database failure means unhealthy
        writable = False
    if not writable:
        return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")


def database_writable() -> bool:
    """Write one row in a transaction that is rolled back: a read-only database refuses.

    Cheap: one primary-key update of the migrations table, never committed. On SQLite
    also check the disk has room, as a rolled-back write never reaches the disk.
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
    if connection.vendor == "sqlite":
        folder = Path(connection.settings_dict["NAME"]).parent
        if folder.is_dir() and shutil.disk_usage(folder).free < MIN_FREE_BYTES:
            return False
    return True
