"""Product files uploaded from the web, imported by a background task with its progress.

A 50 MB file takes about a minute to check and write, longer than a web request may
last, so the upload only stores the file (in the database, in 1 MB pieces: a task worker
on another host reads it as well as one beside the web server) and queues
``import_product_file``. The task runs ``import_products`` on it, records how far it is
on the ``ProductImport`` row (the status page polls it), and then either the counts or
every bad row. The pieces are deleted when the import ends, whatever its outcome.
"""

import tempfile
import time
from pathlib import Path

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.tasks import task
from django.utils import timezone

from inventory.imports.files import ImportRefused
from inventory.imports.products import BATCH, import_products
from inventory.models import ProductImport, ProductImportChunk, ProductImportError

PIECE = 1024 * 1024  # bytes of the file in one ProductImportChunk row
PROGRESS_EVERY = 1.0  # seconds between two progress writes
Status = ProductImport.Status


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
    queued = ProductImport.objects.filter(pk=import_id, status=Status.QUEUED)
    if not queued.update(status=Status.CHECKING):
        return job.status  # taken by another run (a task enqueued or claimed twice)
    progress = _ProgressRecorder(import_id)
    try:
        with tempfile.TemporaryDirectory(prefix="stockroom-import-") as folder, progress:
            path = _write_file(job, Path(folder) / "products.csv")
            result = import_products(path, progress=progress)
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


def _write_file(job: ProductImport, path: Path) -> Path:
    """Copy the stored pieces into ``path``, one at a time (the import reads it twice)."""
    pieces = job.chunks.order_by("number").values_list("data", flat=True)
    with path.open("wb") as handle:
        for data in pieces.iterator(chunk_size=4):
            handle.write(data)
    return path


def _finish(import_id: int, status: str, message: str, **counts) -> None:
    with transaction.atomic():
        ProductImport.objects.filter(pk=import_id).update(
            status=status, message=message, finished_at=timezone.now(), **counts
        )
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
        # ``import_products`` reports "checking" and ("writing", 0) outside its transaction.
        if stage == "checking" or rows == 0:
            ProductImport.objects.filter(pk=self.import_id).update(status=status, **self.counts)
        elif connection.vendor == "postgresql":
            self._write_aside(status)

    def _write_aside(self, status: str) -> None:
        if self.side is None:
            self.side = connections.create_connection(DEFAULT_DB_ALIAS)
        quote = self.side.ops.quote_name
        with self.side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(ProductImport._meta.db_table)} SET status = %s, "
                "rows_checked = %s, rows_written = %s WHERE id = %s",
                [status, self.counts["rows_checked"], self.counts["rows_written"], self.import_id],
            )
