"""Admin for the catalog, lots and the (read-only) ledger; stock changes go through the ledger."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from import_export.admin import ImportExportMixin
from import_export.forms import ImportForm
from simple_history.admin import SimpleHistoryAdmin

from common.pagination import KeysFirstPaginator
from inventory import ledger
from inventory.errors import LedgerError
from inventory.imports import PRODUCT_REQUIRED
from inventory.models import (
    CostLayer,
    Lot,
    Product,
    ProductBarcode,
    ReservationEntry,
    StockLevel,
    StockMove,
)
from inventory.resources import ProductResource


class ProductBarcodeInline(admin.TabularInline):
    model = ProductBarcode
    extra = 0
    fields = ("code", "units")


_BIG_FILE_HINT = (
    "import bigger files on the Products page (Import products, in the background) "
    "or with `manage.py import_products FILE`"
)


def _size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size:,} bytes"


class ProductImportForm(ImportForm):
    """The upload step: refuse a file too big for a web request or without the required columns.

    Both refusals are form errors, so the page shows them beside the file and nothing is read
    further or imported.
    """

    def __init__(self, formats, resources, **kwargs):
        super().__init__(formats, resources, **kwargs)
        self.formats = formats

    def clean(self):
        cleaned = super().clean()
        upload, chosen = cleaned.get("import_file"), cleaned.get("format")
        if upload is None or chosen in (None, ""):
            return cleaned
        limit = settings.STOCKROOM_ADMIN_IMPORT_MAX_BYTES
        if upload.size > limit:
            self.add_error(
                "import_file",
                f"The file is {_size(upload.size)}; the admin takes at most {_size(limit)}: "
                f"{_BIG_FILE_HINT}. Nothing was imported.",
            )
            return cleaned
        try:
            upload.seek(0)
            fmt = self.formats[int(chosen)]()
            data = upload.read()
            dataset = fmt.create_dataset(data if fmt.is_binary() else data.decode("utf-8-sig"))
        except Exception:  # the admin reports an unreadable file itself, as it always has
            return cleaned
        finally:
            upload.seek(0)
        self._check_dataset(dataset)
        return cleaned

    def _check_dataset(self, dataset) -> None:
        headers = [str(name or "").strip().lower() for name in dataset.headers or []]
        missing = [name for name in PRODUCT_REQUIRED if name not in headers]
        if missing:
            self.add_error(
                "import_file",
                f"Required column(s) missing: {', '.join(missing)} "
                f"(the header has: {', '.join(h for h in headers if h) or 'nothing'}). "
                "Nothing was imported.",
            )
        limit = settings.STOCKROOM_ADMIN_IMPORT_MAX_ROWS
        if len(dataset) > limit:
            self.add_error(
                "import_file",
                f"The file has {len(dataset):,} rows; the admin takes at most {limit:,}: "
                f"{_BIG_FILE_HINT}. Nothing was imported.",
            )


@admin.register(Product)
class ProductAdmin(ImportExportMixin, SimpleHistoryAdmin):
    resource_classes = [ProductResource]
    import_form_class = ProductImportForm
    list_display = ("sku", "name", "gtin", "sell_price", "tracking", "fulfilment", "active")
    list_filter = ("tracking", "fulfilment", "active")
    search_fields = ("sku", "name", "gtin", "barcodes__code")
    readonly_fields = ("created_at", "updated_at")
    inlines = [ProductBarcodeInline]
    show_full_result_count = False

    def has_import_permission(self, request):
        return request.user.has_perm("inventory.import_data")

    def has_export_permission(self, request):
        return request.user.has_perm("inventory.view_product")


@admin.register(ProductBarcode)
class ProductBarcodeAdmin(admin.ModelAdmin):
    list_display = ("code", "product", "units")
    list_select_related = ("product",)
    search_fields = ("code", "product__sku", "product__name")
    autocomplete_fields = ("product",)


@admin.register(Lot)
class LotAdmin(admin.ModelAdmin):
    list_display = ("code", "product", "expires_on", "received_on")
    list_select_related = ("product",)
    list_filter = ("expires_on", "received_on", "product__tracking")
    search_fields = ("code", "product__sku", "product__name")
    autocomplete_fields = ("product",)
    date_hierarchy = "expires_on"
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        # A lot that holds or held stock keeps its product: moves point at it.
        return ("product",) if obj is not None else ()


class ReadOnlyAdmin(admin.ModelAdmin):
    """Ledger rows: written only by inventory.ledger, so nobody adds, edits or deletes here."""

    show_full_result_count = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AdjustStockForm(forms.Form):
    quantity = forms.IntegerField(
        help_text="Signed: 5 adds five units, -3 removes three.",
        widget=forms.NumberInput(attrs={"autofocus": True}),
    )
    reason = forms.CharField(max_length=255, help_text="Why the stock changes (kept on the move).")
    unit_cost = forms.DecimalField(
        required=False,
        min_value=0,
        max_digits=16,
        decimal_places=6,
        help_text="Cost of found units; empty uses the current average cost.",
    )

    def clean_quantity(self):
        quantity = self.cleaned_data["quantity"]
        if quantity == 0:
            raise forms.ValidationError("Give a number of units other than zero.")
        return quantity


@admin.register(StockLevel)
class StockLevelAdmin(ReadOnlyAdmin):
    list_display = (
        "product",
        "location",
        "lot",
        "on_hand",
        "committed",
        "available",
        "updated_at",
    )
    list_select_related = ("product", "location", "lot")
    list_filter = ("location__warehouse", "location__kind", "product__tracking")
    search_fields = ("product__sku", "product__name", "location__barcode", "lot__code")
    actions = ["adjust_stock"]

    def has_adjust_permission(self, request):
        return request.user.has_perm("inventory.adjust_stock")

    @admin.display(description="available")
    def available(self, level):
        return level.available

    @admin.action(description="Adjust stock…", permissions=["adjust"])
    def adjust_stock(self, request, queryset):
        """Ask for the change, then post one ledger adjustment per selected balance."""
        form = AdjustStockForm(request.POST if "apply" in request.POST else None)
        levels = list(queryset.select_related("product", "location", "lot").order_by("pk"))
        if form.is_bound and form.is_valid():
            posted = 0
            for level in levels:
                try:
                    ledger.adjust(
                        product=level.product,
                        location=level.location,
                        lot=level.lot,
                        quantity=form.cleaned_data["quantity"],
                        reason=form.cleaned_data["reason"],
                        unit_cost=form.cleaned_data["unit_cost"],
                        user=request.user,
                    )
                except LedgerError as exc:
                    where = f"{level.product.sku} in {level.location}"
                    if level.lot_id:
                        where += f", lot {level.lot.code}"
                    self.message_user(request, f"{where}: {exc.message}", messages.ERROR)
                else:
                    posted += 1
            if posted:
                self.message_user(
                    request,
                    f"Posted {posted} adjustment(s) of {form.cleaned_data['quantity']:+d}.",
                    messages.SUCCESS,
                )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Adjust stock",
            "opts": self.model._meta,
            "form": form,
            "levels": levels,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/inventory/stocklevel/adjust_stock.html", context)


@admin.register(StockMove)
class StockMoveAdmin(ReadOnlyAdmin):
    # A million rows: fetch each page's keys first (see inventory.pagination).
    paginator = KeysFirstPaginator
    list_display = (
        "created_at",
        "kind",
        "product",
        "lot",
        "quantity",
        "from_location",
        "to_location",
        "unit_cost",
        "reference",
        "user",
    )
    list_select_related = ("product", "lot", "from_location", "to_location", "user")
    list_filter = ("kind", "created_at", "to_location__warehouse", "from_location__warehouse")
    search_fields = ("product__sku", "lot__code", "reference", "reason")
    raw_id_fields = ("product", "lot", "from_location", "to_location", "user")


@admin.register(ReservationEntry)
class ReservationEntryAdmin(ReadOnlyAdmin):
    paginator = KeysFirstPaginator
    list_display = ("created_at", "kind", "product", "location", "lot", "quantity", "user")
    list_select_related = ("product", "location", "lot", "user")
    list_filter = ("kind", "created_at", "location__warehouse")
    search_fields = ("product__sku", "lot__code", "location__barcode")
    raw_id_fields = ("product", "location", "lot", "move", "user")


@admin.register(CostLayer)
class CostLayerAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "product", "move_id", "quantity", "remaining", "unit_cost")
    list_select_related = ("product",)
    list_filter = ("created_at",)
    search_fields = ("product__sku", "product__name")
    raw_id_fields = ("product", "move")
