"""Product files uploaded on /products/import/: stored, imported by a task, followed by htmx."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test import override_settings
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from common.testing import field_error, html_of, text_of
from inventory.imports import products as products_import
from inventory.imports import uploads
from inventory.models import Product, ProductImport, ProductImportChunk, ProductImportError

UPLOAD_URL = reverse("product_import")
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
WORKER = ("db_worker", "--batch", "--no-startup-delay", "--no-reload")
DUMMY_TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
GOOD = "sku,name,gtin,sell_price\nNEW-1,Blue cup,2000000000428,2.50\nMUG-001,Renamed mug,,\n"
BAD = (
    "sku,name,sell_price\n"
    "NEW-1,Blue cup,2.50\n"
    "NEW-2,,1.00\n"  # no name
    "NEW-1,Again,1.00\n"  # repeated SKU
    "NEW-3,Green cup,abc\n"  # not a price
)


def csv_file(text: str | bytes, name: str = "products.csv") -> SimpleUploadedFile:
    data = text.encode() if isinstance(text, str) else text
    return SimpleUploadedFile(name, data, content_type="text/csv")


def upload(client, text, name="products.csv"):
    return client.post(UPLOAD_URL, {"file": csv_file(text, name)})


def nothing_stored() -> bool:
    return not (
        ProductImport.objects.exists()
        or ProductImportChunk.objects.exists()
        or DBTaskResult.objects.exists()
    )


def status_page(client, job, **params):
    return client.get(job.get_absolute_url(), params)


# --- the upload stores the file and queues the task ----------------------------------


@pytest.mark.django_db
def test_upload_stores_the_file_and_queues_the_task_which_imports_it(
    client, manager, product, django_capture_on_commit_callbacks, settings
):
    settings.TASKS = DB_TASKS
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, GOOD)
    job = ProductImport.objects.get()
    assert response.status_code == 302 and response.url == job.get_absolute_url()
    assert (job.status, job.file_name, job.size, job.created_by) == (
        "queued",
        "products.csv",
        len(GOOD),
        manager,
    )
    assert b"".join(bytes(c.data) for c in job.chunks.order_by("number")) == GOOD.encode()
    (queued,) = DBTaskResult.objects.all()
    assert queued.task_path == "inventory.imports.uploads.import_product_file"
    assert queued.args_kwargs["args"] == [job.pk]
    assert not Product.objects.filter(sku="NEW-1").exists()  # not imported in the request
    assert "Waiting for the task worker" in text_of(status_page(client, job))

    uploads.import_product_file.call(*queued.args_kwargs["args"])  # as the worker will
    job.refresh_from_db()
    assert (job.status, job.created, job.updated, job.unchanged) == ("done", 1, 1, 0)
    assert job.message == "2 products imported: 1 created, 1 updated, 0 unchanged."
    assert not job.chunks.exists()  # the stored file is gone once imported
    assert Product.objects.get(sku="NEW-1").gtin == "02000000000428"
    assert Product.objects.get(sku="MUG-001").name == "Renamed mug"
    page = text_of(status_page(client, job))
    assert "Status: Imported" in page and job.message in page


@pytest.mark.django_db
def test_progress_is_recorded_while_checking_and_writing(monkeypatch, manager, product):
    job = uploads.save_upload(upload=csv_file(GOOD), user=manager)
    seen = []

    def fake_import(path, *, progress):
        progress("checking", 2)
        seen.append(ProductImport.objects.values_list("status", "rows_checked").get(pk=job.pk))
        progress("writing", 0)
        seen.append(ProductImport.objects.values_list("status", "rows_written").get(pk=job.pk))
        raise RuntimeError("disk full")

    monkeypatch.setattr(uploads, "import_products", fake_import)
    with pytest.raises(RuntimeError):
        uploads.import_product_file.call(job.pk)
    assert seen == [("checking", 2), ("writing", 0)]
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.message == "The import failed (RuntimeError): disk full. Nothing was imported."
    assert not job.chunks.exists()
    assert not Product.objects.filter(sku="NEW-1").exists()


@pytest.mark.django_db
def test_status_page_shows_progress_and_polls_until_the_end(client, manager):
    client.force_login(manager)
    job = ProductImport.objects.create(
        file_name="big.csv", size=50_500_000, status="writing", rows_checked=663_656
    )
    job.rows_written = 45_000
    job.save()
    response = status_page(client, job)
    html = html_of(response)
    assert f'hx-get="{job.get_absolute_url()}"' in html
    assert 'hx-trigger="every 2s"' in html
    assert '<progress max="663656" value="45000">' in html
    assert "<script>" not in html  # CSP: the polling is htmx attributes, no inline script
    # htmx asks for the status part only.
    part = client.get(job.get_absolute_url(), headers={"HX-Request": "true"})
    assert html_of(part).lstrip().startswith('<div id="import-status"')
    assert "<html" not in html_of(part)
    assert "HX-Request" in part["Vary"]
    ProductImport.objects.filter(pk=job.pk).update(status="done", message="3 products imported")
    done = html_of(client.get(job.get_absolute_url(), headers={"HX-Request": "true"}))
    assert "hx-trigger" not in done and "3 products imported" in done


def rows_written_seen_by_another_connection(import_id: int) -> int:
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT rows_written FROM inventory_productimport WHERE id = %s", [import_id]
            )
            return cursor.fetchone()[0]
    finally:
        other.close()


@pytest.mark.django_db(transaction=True)
def test_rows_written_show_while_the_write_transaction_runs(monkeypatch, manager, settings):
    """PostgreSQL: a second connection records them. SQLite: the import holds the one write
    lock, so they show at the end (and the task must not wait for that lock)."""
    settings.TASKS = DUMMY_TASKS  # queued only: the test runs it
    monkeypatch.setattr(products_import, "BATCH", 2)
    monkeypatch.setattr(uploads, "PROGRESS_EVERY", 0)
    text = "sku,name\n" + "".join(f"W-{n},Cup {n}\n" for n in range(5))
    job = uploads.save_upload(upload=csv_file(text), user=manager)
    seen = []
    real_import = uploads.import_products

    def watched(path, *, progress):
        def watch(stage, rows):
            progress(stage, rows)
            if stage == "writing" and rows:
                seen.append(rows_written_seen_by_another_connection(job.pk))

        return real_import(path, progress=watch)

    monkeypatch.setattr(uploads, "import_products", watched)
    assert uploads.import_product_file.call(job.pk) == "done"
    expected = [2, 4, 5] if connection.vendor == "postgresql" else [0, 0, 0]
    assert seen == expected
    job.refresh_from_db()
    assert (job.status, job.rows_checked, job.rows_written, job.created) == ("done", 5, 5, 5)


# --- refusals ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_bad_file_reports_every_bad_row_and_imports_nothing(
    client, manager, product, django_capture_on_commit_callbacks
):
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, BAD, name="spring.csv")
    job = ProductImport.objects.get()
    assert job.status == "refused"  # the test settings run tasks at once
    assert job.message == "3 bad rows; nothing was imported."
    assert list(job.errors.values_list("line", flat=True)) == [3, 4, 5]
    page = text_of(status_page(client, job))
    assert "spring.csv:3: name is required" in page
    assert "spring.csv:4: SKU NEW-1 appears again (first on line 2)" in page
    assert "spring.csv:5: sell price “abc” is not a number" in page
    assert not Product.objects.filter(sku__startswith="NEW").exists()
    assert not job.chunks.exists()


@pytest.mark.django_db
def test_every_bad_row_is_listed_page_by_page(client, manager):
    client.force_login(manager)
    rows = "".join(f"BAD SKU {n},Cup\n" for n in range(120))
    job = uploads.save_upload(upload=csv_file("sku,name\n" + rows), user=manager)
    uploads.import_product_file.call(job.pk)
    assert ProductImportError.objects.filter(upload=job).count() == 120
    first, last = text_of(status_page(client, job)), text_of(status_page(client, job, page=3))
    assert "products.csv:2: SKU “BAD SKU 0”" in first and "Page 1 of 3" in first
    assert "products.csv:121: SKU “BAD SKU 119”" in last
    assert Product.objects.count() == 0


@pytest.mark.django_db
def test_a_file_over_the_size_limit_is_refused_with_nothing_saved(client, manager, settings):
    settings.STOCKROOM_IMPORT_MAX_BYTES = 1_000
    settings.TASKS = DB_TASKS
    client.force_login(manager)
    text = "sku,name\n" + "".join(f"NEW-{n},A cup with a long name {n}\n" for n in range(60))
    response = upload(client, text)
    assert response.status_code == 400
    error = field_error(html_of(response), "id_file")
    assert error.startswith(f"The file is {len(text):,} bytes; at most 1,000 bytes can be")
    assert error.endswith("Nothing was imported.")
    assert nothing_stored() and not Product.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("title,price\nCup,1\n", "Required column(s) missing: sku, name (the header has: title"),
        ("", "The file is empty. Nothing was imported."),
        ("sku,name\n", "The file has a header but no rows. Nothing was imported."),
        (b"sku,name\nA,Caf\xe9\n", "line 2: The file is not UTF-8 text"),
    ],
)
def test_a_file_that_cannot_be_a_product_file_is_refused_in_the_request(
    client, manager, settings, text, message
):
    settings.TASKS = DB_TASKS
    client.force_login(manager)
    response = upload(client, text)
    assert response.status_code == 400
    assert message in field_error(html_of(response), "id_file")
    assert nothing_stored()


@pytest.mark.django_db
def test_no_file_is_asked_for(client, manager):
    client.force_login(manager)
    response = client.post(UPLOAD_URL, {})
    assert response.status_code == 400
    assert field_error(html_of(response), "id_file") == "Choose a CSV file to import."
    assert not ProductImport.objects.exists()


# --- who may import ---------------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_and_clerks_may_not_upload_or_follow_imports(client, clerk, manager, settings):
    settings.TASKS = DUMMY_TASKS
    job = uploads.save_upload(upload=csv_file(GOOD), user=manager)
    for url in (UPLOAD_URL, job.get_absolute_url()):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response.url
    assert client.post(UPLOAD_URL, {"file": csv_file(GOOD)}).status_code == 302
    client.force_login(clerk)
    assert client.get(UPLOAD_URL).status_code == 403
    assert client.get(job.get_absolute_url()).status_code == 403
    assert client.post(UPLOAD_URL, {"file": csv_file(GOOD)}).status_code == 403
    assert ProductImport.objects.count() == 1


@pytest.mark.django_db
def test_buyers_may_import(client, buyer, settings):
    settings.TASKS = DUMMY_TASKS
    client.force_login(buyer)
    assert client.get(UPLOAD_URL).status_code == 200
    response = upload(client, GOOD)
    assert response.status_code == 302
    assert client.get(response.url).status_code == 200
    assert "products.csv" in text_of(client.get(UPLOAD_URL))


@pytest.mark.django_db
def test_unknown_import_is_404(client, manager):
    client.force_login(manager)
    assert client.get(reverse("product_import_status", args=[999])).status_code == 404


# --- queries ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("bad_rows", [3, 120])
def test_status_and_upload_pages_queries_do_not_grow_with_the_rows(
    client, manager, django_assert_max_num_queries, bad_rows
):
    client.force_login(manager)
    rows = "".join(f"BAD SKU {n},Cup\n" for n in range(bad_rows))
    for _ in range(3):
        job = uploads.save_upload(upload=csv_file("sku,name\n" + rows), user=manager)
        uploads.import_product_file.call(job.pk)
    with django_assert_max_num_queries(7):
        assert status_page(client, job).status_code == 200
    with django_assert_max_num_queries(7):
        part = client.get(job.get_absolute_url(), headers={"HX-Request": "true"})
        assert part.status_code == 200
    with django_assert_max_num_queries(5):
        assert client.get(UPLOAD_URL).status_code == 200


# --- as `make run` serves it ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_make_run_settings_upload_then_worker_imports(client, manager, tmp_path):
    """DEBUG off, the database task backend and ``db_worker``, as `make run` runs them."""
    client.raise_request_exception = False  # a failure answers the 500 page, as gunicorn
    client.force_login(manager)
    rows = "".join(f"RUN-{n:05d},Cup {n},,{n % 50}.25\n" for n in range(12_000))
    with override_settings(DEBUG=False, TASKS=DB_TASKS):
        response = upload(client, "sku,name,gtin,sell_price\n" + rows)
        assert response.status_code == 302
        assert "Waiting for the task worker" in text_of(client.get(response.url))
        call_command(*WORKER, verbosity=0)
        page = client.get(response.url)
        assert page.status_code == 200
        assert "12,000 products imported: 12,000 created" in text_of(page)
        refused = upload(client, "sku,name\nA,Cup\nA,Again\n")
        call_command(*WORKER, verbosity=0)
        assert "products.csv:3: SKU A appears again" in text_of(client.get(refused.url))
    assert Product.objects.filter(sku__startswith="RUN-").count() == 12_000
    assert not Product.objects.filter(sku="A").exists()
    assert not ProductImportChunk.objects.exists()


@pytest.mark.django_db
def test_a_task_run_twice_imports_once(manager, product):
    job = uploads.save_upload(upload=csv_file(GOOD), user=manager)
    assert uploads.import_product_file.call(job.pk) == "done"
    assert uploads.import_product_file.call(job.pk) == "done"
    assert Product.history.filter(sku="NEW-1").count() == 1
