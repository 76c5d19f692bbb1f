"""The models of a product file uploaded from the web (issue 15), kept beside ``models``.

Re-exported by ``inventory.models``, where the rest of the app and the migrations find them.
"""

from django.conf import settings
from django.db import models
from django.urls import reverse

__all__ = ["ProductImport", "ProductImportChunk", "ProductImportError"]


class ProductImport(models.Model):
    """A product file uploaded from the web, imported by a background task (issue 15).

    The file is kept in the database in ``ProductImportChunk`` pieces, not on the web
    server's disk, so a task worker on another host can read it; the pieces are deleted
    when the import ends.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for the task worker"
        CHECKING = "checking", "Checking the rows"
        WRITING = "writing", "Writing the products"
        DONE = "done", "Imported"
        REFUSED = "refused", "Refused: nothing was imported"
        FAILED = "failed", "Failed: nothing was imported"

    FINISHED = (Status.DONE, Status.REFUSED, Status.FAILED)
    RUNNING = (Status.CHECKING, Status.WRITING)

    file_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    rows_checked = models.PositiveIntegerField(default=0)
    rows_written = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The running task's last sign of life (with its progress); an import still checking
    # or writing whose heartbeat is older than the lease was abandoned by its worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.file_name} ({self.get_status_display()})"

    def get_absolute_url(self):
        return reverse("product_import_status", args=[self.pk])

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED


class ProductImportChunk(models.Model):
    """One piece of an uploaded file, in order (a 50 MB file is 50 rows of 1 MB)."""

    upload = models.ForeignKey(ProductImport, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["upload", "number"], name="import_chunk_once")
        ]

    def __str__(self):
        return f"{self.upload_id}/{self.number}"


class ProductImportError(models.Model):
    """One reason an uploaded file was refused, with its line (0: the whole file)."""

    upload = models.ForeignKey(ProductImport, on_delete=models.CASCADE, related_name="errors")
    line = models.PositiveIntegerField()
    message = models.TextField()

    class Meta:
        ordering = ["line", "id"]
        indexes = [models.Index(fields=["upload", "line"], name="import_error_line_idx")]

    def __str__(self):
        return f"line {self.line}: {self.message}" if self.line else self.message
