"""Product files uploaded from the web, imported by a background task with its progress.

A 50 MB file takes about a minute to check and write, longer than a web request may
last, so the upload only stores the file (in the database, in 1 MB pieces: a task worker
on another host reads it as well as one beside the web server) and queues
``import_product_file``. The task runs ``import_products`` on it, records how far it is
on the ``ProductImport`` row (the status page polls it), and then either the counts or
every bad row. The pieces are deleted when the import ends, whatever its outcome.

A lease, as webhook deliveries have one: the running task stamps ``heartbeat_at`` with
each progress write (about once a second), and an import still checking or writing
whose heartbeat is older than ``settings.STOCKROOM_IMPORT_LEASE_SECONDS`` (120 s by
default) lost its worker (killed, or its host stopped). ``reclaim_import``, queued for
just after the lease when the task starts, marks it failed — nothing was written: the
write step is one transaction, rolled back with the worker — and the user uploads the
file again; the status page does the same when it sees the stale heartbeat (except on
SQLite while writing, below). A worker that was only slow and finds its import
reclaimed stops without writing.

On SQLite the write transaction holds the database's one write lock, so the heartbeat
written inside it shows only at its commit; a reclaim meanwhile waits for the lock (a
dead worker's lock goes with it) and then sees the fresh stamp. So only the worker's
reclaim task, not a page view, ends an SQLite import that is writing.
"""

import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections, transaction
from django.tasks import task
from django.utils import timezone

from inventory.imports.files import ImportRefused
from inventory.imports.products import BATCH, import_products
from inventory.models import ProductImport, ProductImportChunk, ProductImportError

PIECE = 1024 * 1024  # bytes of the file in one ProductImportChunk row
PROGRESS_EVERY = 1.0  # seconds between two progress writes (each one a heartbeat)
DEFAULT_LEASE_SECONDS = 120
RECLAIM_MARGIN = timedelta(seconds=1)  # the reclaim task runs this long after the lease
Status = ProductImport.Status
STOPPED = {
    Status.CHECKING: (
        "The task worker stopped while checking the file; nothing was written. "
        "Upload the file again."
    ),
    Status.WRITING: (
        "The task worker stopped while writing; nothing was written (the products are "
        "written in one transaction, which was rolled back). Upload the file again."
    ),
}


class Reclaimed(Exception):
    """The import was marked failed after its lease: this run must stop, writing nothing."""


def lease() -> timedelta:
    """How long an import may go without a heartbeat before it counts as abandoned."""
    return timedelta(
        seconds=getattr(settings, "STOCKROOM_IMPORT_LEASE_SECONDS", DEFAULT_LEASE_SECONDS)
    )


def save_upload(*, upload, user) -> ProductImport:
    """Store an uploaded file and queue its import; return the import to follow.

    ``upload`` is a Django ``UploadedFile`` (read in pieces, never whole). The size
    limit is the form's to check.
    """
    with transaction.atomic():
        job = ProductImport.objects.create(
            file_name=upload.name[:255], size=upload.size, created_by=user
        )
        for number, data in enumerate(upload.chunks(PIECE)):
            ProductImportChunk.objects.create(upload=job, number=number, data=data)
        transaction.on_commit(lambda: import_product_file.enqueue(job.pk))
    return job


@task()
def import_product_file(import_id: int) -> str:
    """Import an uploaded product file; return its final status."""
    job = ProductImport.objects.get(pk=import_id)
    if not _claim(import_id):
        return job.status  # taken by another run (a task enqueued or claimed twice)
    progress = _ProgressRecorder(import_id)
    try:
        with tempfile.TemporaryDirectory(prefix="stockroom-import-") as folder, progress:
            path = _write_file(job, Path(folder) / "products.csv")
            result = import_products(path, progress=progress)
    except Reclaimed:
        return Status.FAILED  # the reclaim recorded why; the write (if any) rolled back
    except ImportRefused as refused:
        _store_errors(import_id, refused)  # first: the page shows them with the status
        _finish(import_id, Status.REFUSED, refused.summary, **progress.counts)
        return Status.REFUSED
    except Exception as exc:
        message = f"The import failed ({type(exc).__name__}): {exc}. Nothing was imported."
        _finish(import_id, Status.FAILED, message, **progress.counts)
        raise
    rows = result.created + result.updated + result.unchanged
    _finish(
        import_id,
        Status.DONE,
        f"{rows:,} products imported: {result.created:,} created, "
        f"{result.updated:,} updated, {result.unchanged:,} unchanged.",
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        rows_checked=rows,
        rows_written=rows,
    )
    return Status.DONE


def _claim(import_id: int) -> bool:
    """Take a queued import (its first heartbeat) and queue its reclaim after the lease."""
    now = timezone.now()
    with transaction.atomic():
        queued = ProductImport.objects.filter(pk=import_id, status=Status.QUEUED)
        if not queued.update(status=Status.CHECKING, heartbeat_at=now):
            return False
        schedule_reclaim(import_id, now)
    return True


def schedule_reclaim(import_id: int, heartbeat_at: datetime) -> bool:
    """Queue ``reclaim_import`` for just after the lease of a heartbeat at ``heartbeat_at``.

    Without deferral (tests' immediate backend) the status page's check is what is left.
    """
    if not reclaim_import.get_backend().supports_defer:
        return False
    reclaim_import.using(run_after=heartbeat_at + lease() + RECLAIM_MARGIN).enqueue(import_id)
    return True


def is_stale(job: ProductImport, now: datetime | None = None) -> bool:
    """Whether a running import's heartbeat is older than the lease (no query)."""
    if job.status not in ProductImport.RUNNING:
        return False
    beat = job.heartbeat_at or job.created_at
    return beat < (now or timezone.now()) - lease()


def reclaim_stalled(import_id: int, *, now: datetime | None = None) -> bool:
    """Mark the import failed if it is running with a heartbeat older than the lease.

    Checked again under the write lock (IMMEDIATE on SQLite), so a heartbeat that just
    committed keeps the import. Returns whether it was marked.
    """
    now = now or timezone.now()
    with transaction.atomic():
        job = ProductImport.objects.filter(pk=import_id).first()
        if job is None or not is_stale(job, now):
            return False
        stale = ProductImport.objects.filter(pk=import_id, status=job.status)
        stale.update(status=Status.FAILED, message=STOPPED[job.status], finished_at=now)
        ProductImportChunk.objects.filter(upload_id=import_id).delete()
    return True


def _write_file(job: ProductImport, path: Path) -> Path:
    """Copy the stored pieces into ``path``, one at a time (the import reads it twice)."""
    pieces = job.chunks.order_by("number").values_list("data", flat=True)
    with path.open("wb") as handle:
        for data in pieces.iterator(chunk_size=4):
            handle.write(data)
    return path


def _finish(import_id: int, status: str, message: str, **counts) -> None:
    """Record the outcome. A failure or refusal does not overwrite a reclaim's message;
    a finished import does (it is the truth: it committed)."""
    rows = ProductImport.objects.filter(pk=import_id)
    if status != Status.DONE:
        rows = rows.filter(status__in=ProductImport.RUNNING)
    with transaction.atomic():
        rows.update(status=status, message=message, finished_at=timezone.now(), **counts)
        ProductImportChunk.objects.filter(upload_id=import_id).delete()


def _store_errors(import_id: int, refused: ImportRefused) -> None:
    errors = (
        ProductImportError(upload_id=import_id, line=error.line, message=error.message)
        for error in refused.errors
    )
    with transaction.atomic():
        ProductImportError.objects.bulk_create(errors, batch_size=BATCH)


class _ProgressRecorder:
    """Write an import's progress on its row, at most once a ``PROGRESS_EVERY``.

    Outside a transaction on the task's own connection. Inside the write transaction
    that connection's writes would appear only at its end, so on PostgreSQL a second
    connection writes them; on SQLite the import holds the one write lock, so the rows
    written are not shown until the end (the page says the write phase is under way).
    """

    def __init__(self, import_id: int):
        self.import_id = import_id
        self.counts = {"rows_checked": 0, "rows_written": 0}
        self.last: tuple[str, float] = ("", 0.0)
        self.side = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self.side is not None:
            self.side.close()

    def __call__(self, stage: str, rows: int) -> None:
        self.counts["rows_checked" if stage == "checking" else "rows_written"] = rows
        now = time.monotonic()
        if stage == self.last[0] and now - self.last[1] < PROGRESS_EVERY:
            return
        self.last = (stage, now)
        status = Status.CHECKING if stage == "checking" else Status.WRITING
        beat = timezone.now()
        # Only while the import is still ours: after a reclaim this run stops.
        ours = ProductImport.objects.filter(pk=self.import_id, status__in=ProductImport.RUNNING)
        # ``import_products`` reports "checking" and ("writing", 0) outside its transaction;
        # inside it, on SQLite, the stamp shows at the commit (see the module's docstring).
        if stage == "checking" or rows == 0 or connection.vendor != "postgresql":
            fields = {"heartbeat_at": beat}
            if stage == "checking" or rows == 0:
                fields.update(status=status, **self.counts)
            updated = ours.update(**fields)
        else:
            updated = self._write_aside(status, beat)
        if not updated:
            raise Reclaimed(self.import_id)

    def _write_aside(self, status: str, beat) -> int:
        if self.side is None:
            self.side = connections.create_connection(DEFAULT_DB_ALIAS)
        quote = self.side.ops.quote_name
        with self.side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(ProductImport._meta.db_table)} SET status = %s, "
                "rows_checked = %s, rows_written = %s, heartbeat_at = %s "
                "WHERE id = %s AND status IN (%s, %s)",
                [
                    status,
                    self.counts["rows_checked"],
                    self.counts["rows_written"],
                    beat,
                    self.import_id,
                    *ProductImport.RUNNING,
                ],
            )
            return cursor.rowcount


@task()
def reclaim_import(import_id: int) -> str:
    """After an import's lease: mark it failed if its worker stopped, else look again later."""
    try:
        if reclaim_stalled(import_id):
            return Status.FAILED
    except OperationalError:
        # SQLite, busy past its timeout: a long write phase holds the lock, so its worker
        # lives. Look again after another lease.
        schedule_reclaim(import_id, timezone.now())
        return "busy"
    job = ProductImport.objects.filter(pk=import_id).only("status", "heartbeat_at").first()
    if job is not None and job.status in ProductImport.RUNNING and job.heartbeat_at:
        schedule_reclaim(import_id, job.heartbeat_at)
    return job.status if job is not None else "gone"
