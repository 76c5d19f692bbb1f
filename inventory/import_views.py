"""The product import page: upload a CSV file, then follow its import (a background task)."""

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.db import connection
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers

from common.pages import paginate
from inventory.imports import PRODUCT_REQUIRED, ImportRefused, iter_csv
from inventory.imports.uploads import is_stale, reclaim_stalled, save_upload
from inventory.models import ProductImport

HEAD_BYTES = 64 * 1024  # enough of a file to read its header and first row in the request
RECENT = 10


def file_size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size:,} bytes"


class ProductUploadForm(forms.Form):
    """Refuse, in the request, a file too big, empty, or without the required columns."""

    file = forms.FileField(
        label="Product file (CSV, UTF-8)",
        error_messages={
            "required": "Choose a CSV file to import.",
            "empty": "The file is empty. Nothing was imported.",
        },
        help_text="Columns sku, name (required), gtin, sell_price, tracking, fulfilment.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.STOCKROOM_IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {file_size(upload.size)}; at most {file_size(limit)} can be "
                "imported here. Split it, or import it on the server with "
                "`manage.py import_products FILE`. Nothing was imported."
            )
        upload.seek(0)
        head = upload.read(HEAD_BYTES)
        upload.seek(0)
        if len(head) == HEAD_BYTES:  # keep whole lines: the cut may split one
            head = head[: head.rfind(b"\n") + 1] or head
        try:
            next(iter_csv(head, required=PRODUCT_REQUIRED))
        except ImportRefused as refused:
            message = f"{refused.errors[0]}. Nothing was imported."
            raise forms.ValidationError(message) from None
        return upload


@login_required
@permission_required("inventory.import_data", raise_exception=True)
def product_import(request):
    """Take a product file and queue its import; list the latest imports."""
    posted = request.method == "POST"
    form = ProductUploadForm(request.POST if posted else None, request.FILES if posted else None)
    if posted and form.is_valid():
        job = save_upload(upload=form.cleaned_data["file"], user=request.user)
        return redirect(job)
    recent = ProductImport.objects.select_related("created_by")[:RECENT]
    max_size = file_size(settings.STOCKROOM_IMPORT_MAX_BYTES)
    context = {"form": form, "recent": recent, "max_size": max_size}
    status = 400 if form.is_bound else 200
    return render(request, "inventory/product_import.html", context, status=status)


@login_required
@permission_required("inventory.import_data", raise_exception=True)
def product_import_status(request, import_id: int):
    """Show how far an import is (htmx polls the status part until it ends) and its outcome."""
    job = get_object_or_404(ProductImport.objects.select_related("created_by"), pk=import_id)
    # A worker that stopped leaves its import running with an old heartbeat: say so now
    # rather than poll for ever (SQLite's writing import is the worker's to end; see
    # inventory.imports.uploads).
    writing_on_sqlite = job.status == job.Status.WRITING and connection.vendor == "sqlite"
    if is_stale(job) and not writing_on_sqlite and reclaim_stalled(job.pk):
        job.refresh_from_db()
    errors = paginate(request, job.errors.all()) if job.status == job.Status.REFUSED else None
    template = "inventory/product_import_status.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#status"
    response = render(request, template, {"job": job, "page_obj": errors})
    patch_vary_headers(response, ["HX-Request"])
    return response
