"""An import whose worker was killed does not stay "checking"/"writing" for ever.

The running import stamps a heartbeat with its progress; one whose heartbeat is older
than the lease is marked failed — by the reclaim task queued when it started, or by the
status page — with a message saying nothing was written, and the file can be uploaded
again.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from common.testing import html_of, text_of
from inventory.imports import products as products_import
from inventory.imports import uploads
from inventory.models import Product, ProductImport, ProductImportChunk
from inventory.tests.test_import_uploads import (
    DB_TASKS,
    DUMMY_TASKS,
    csv_file,
    status_page,
    upload,
)

ROWS = "sku,name\n" + "".join(f"LEASE-{n},Cup {n}\n" for n in range(10))


class WorkerKilled(BaseException):
    """Stands for kill -9: nothing in the task catches it, the transaction rolls back."""


def run_until(monkeypatch, job, stop):
    """Run the import task; ``stop(stage, rows)`` may raise to end the run there."""
    real = products_import.import_products

    def watched(path, *, progress):
        def watch(stage, rows):
            progress(stage, rows)
            stop(stage, rows)

        return real(path, progress=watch)

    monkeypatch.setattr(uploads, "import_products", watched)
    monkeypatch.setattr(products_import, "BATCH", 3)  # the write is several chunks
    monkeypatch.setattr(uploads, "PROGRESS_EVERY", 0)
    return uploads.import_product_file.call(job.pk)


def killed_while(stage_wanted: str):
    def stop(stage, rows):
        if stage == stage_wanted and rows >= 3:
            raise WorkerKilled

    return stop


def age(job, seconds: float):
    """Make the job's last heartbeat ``seconds`` old."""
    beat = timezone.now() - timedelta(seconds=seconds)
    ProductImport.objects.filter(pk=job.pk).update(heartbeat_at=beat)


# Committed rows, as in production: PostgreSQL's write phase stamps its heartbeat from a
# second connection, which cannot see rows of an open test transaction.
@pytest.mark.django_db(transaction=True)
def test_an_import_killed_while_writing_is_reported_failed_after_the_lease(
    client, manager, monkeypatch, settings
):
    settings.STOCKROOM_IMPORT_LEASE_SECONDS = 120
    settings.TASKS = DUMMY_TASKS  # the test runs the task itself
    job = uploads.save_upload(upload=csv_file(ROWS), user=manager)
    with pytest.raises(WorkerKilled):
        run_until(monkeypatch, job, killed_while("writing"))
    job.refresh_from_db()
    assert job.status == "writing", "the worker died: nothing ended it"
    assert job.heartbeat_at is not None
    assert not Product.objects.filter(sku__startswith="LEASE-").exists(), "rolled back"

    # Within the lease the worker may still be alive: nothing changes.
    age(job, 60)
    assert uploads.reclaim_import.call(job.pk) == "writing"

    age(job, 121)
    assert uploads.reclaim_import.call(job.pk) == "failed"
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.message == (
        "The task worker stopped while writing; nothing was written (the products are "
        "written in one transaction, which was rolled back). Upload the file again."
    )
    assert job.finished_at is not None
    assert not ProductImportChunk.objects.filter(upload=job).exists()
    assert not Product.objects.filter(sku__startswith="LEASE-").exists()

    client.force_login(manager)
    page = status_page(client, job)
    assert "nothing was written" in text_of(page)
    assert "hx-get" not in html_of(page), "the page stops polling"
    # The user uploads the file again, and it imports.
    again = upload(client, ROWS)
    assert again.status_code == 302
    new = ProductImport.objects.exclude(pk=job.pk).get()
    monkeypatch.undo()
    assert uploads.import_product_file.call(new.pk) == "done"
    assert Product.objects.filter(sku__startswith="LEASE-").count() == 10


@pytest.mark.django_db
def test_the_status_page_ends_an_import_whose_worker_stopped_while_checking(
    client, manager, monkeypatch, django_assert_max_num_queries
):
    job = uploads.save_upload(upload=csv_file(ROWS), user=manager)
    with pytest.raises(WorkerKilled):
        run_until(monkeypatch, job, killed_while("checking"))
    client.force_login(manager)

    age(job, 30)
    with django_assert_max_num_queries(7):
        page = status_page(client, job, page=1)
    assert "Checking the rows" in text_of(page), "within the lease: still checking"
    assert "hx-get" in html_of(page)

    age(job, 500)
    page = status_page(client, job)
    assert "The task worker stopped while checking the file; nothing was written." in text_of(page)
    assert "hx-get" not in html_of(page)
    assert ProductImport.objects.get(pk=job.pk).status == "failed"
    assert not Product.objects.filter(sku__startswith="LEASE-").exists()


# Committed rows, as in production: PostgreSQL's write phase stamps its heartbeat from a
# second connection, which cannot see rows of an open test transaction.
@pytest.mark.django_db(transaction=True)
def test_the_status_page_leaves_an_sqlite_write_to_the_worker(
    client, manager, monkeypatch, settings
):
    """On SQLite the write's heartbeat shows only at its commit (the one write lock)."""
    settings.TASKS = DUMMY_TASKS
    job = uploads.save_upload(upload=csv_file(ROWS), user=manager)
    with pytest.raises(WorkerKilled):
        run_until(monkeypatch, job, killed_while("writing"))
    age(job, 500)
    client.force_login(manager)
    text = text_of(status_page(client, job))
    if connection.vendor == "sqlite":
        assert "Writing the products" in text
        assert ProductImport.objects.get(pk=job.pk).status == "writing"
    else:  # PostgreSQL's heartbeat comes from a second connection while writing
        assert "The task worker stopped while writing; nothing was written" in text


@pytest.mark.django_db
def test_a_slow_worker_whose_import_was_reclaimed_stops_and_writes_nothing(manager, monkeypatch):
    job = uploads.save_upload(upload=csv_file(ROWS), user=manager)

    def stall(stage, rows):
        if stage == "checking" and rows >= 3:
            age(job, 500)  # the worker paused past its lease ...
            assert uploads.reclaim_stalled(job.pk)  # ... and the import was reclaimed

    assert run_until(monkeypatch, job, stall) == "failed"
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.message.startswith("The task worker stopped while checking the file")
    assert not Product.objects.filter(sku__startswith="LEASE-").exists()


@pytest.mark.django_db
def test_the_running_import_queues_its_reclaim_for_after_the_lease(manager, settings):
    settings.TASKS = DB_TASKS
    settings.STOCKROOM_IMPORT_LEASE_SECONDS = 90
    job = uploads.save_upload(upload=csv_file(ROWS), user=manager)
    assert uploads.import_product_file.call(job.pk) == "done"
    job.refresh_from_db()
    reclaim = DBTaskResult.objects.get(task_path=uploads.reclaim_import.module_path)
    assert reclaim.args_kwargs["args"] == [job.pk]
    started = job.heartbeat_at
    assert reclaim.run_after > started + timedelta(seconds=90)
    assert reclaim.run_after < started + timedelta(seconds=90 + 60)
    # When it runs, the import has finished: nothing to do, nothing queued again.
    assert uploads.reclaim_import.call(job.pk) == "done"
    assert DBTaskResult.objects.filter(task_path=uploads.reclaim_import.module_path).count() == 1
