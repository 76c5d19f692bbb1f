"""Admin for suppliers and purchase orders: master data editable, order flow read-only.

Order numbers, statuses, received quantities, events and receipts change only
through ``orders.purchasing`` and ``orders.receiving`` (the pages); the admin shows
them and lets a manager fix notes and dates.
"""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from inventory.admin import ReadOnlyAdmin
from orders.models import (
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    ReceiptLine,
    Supplier,
    SupplierProduct,
)


@admin.register(Supplier)
class SupplierAdmin(SimpleHistoryAdmin):
    list_display = (
        "code",
        "name",
        "email",
        "default_lead_time_days",
        "receipt_tolerance_percent",
        "dropships",
        "active",
    )
    list_filter = ("dropships", "active")
    search_fields = ("code", "name", "email")
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        # The code is the supplier's address in every page link.
        return ("code",) if obj is not None else ()


@admin.register(SupplierProduct)
class SupplierProductAdmin(SimpleHistoryAdmin):
    list_display = (
        "supplier",
        "product",
        "supplier_sku",
        "unit_cost",
        "lead_time_days",
        "minimum_order_quantity",
        "pack_size",
        "preferred",
        "active",
    )
    list_select_related = ("supplier", "product")
    list_filter = ("preferred", "active", "supplier")
    search_fields = (
        "supplier__code",
        "supplier__name",
        "product__sku",
        "product__name",
        "supplier_sku",
    )
    autocomplete_fields = ("supplier", "product")
    show_full_result_count = False


class PurchaseOrderLineInline(admin.TabularInline):
    """The order's lines, read-only: they change through purchasing.set_line (the pages),
    which checks the supplier sells the product and rounds to packs."""

    model = PurchaseOrderLine
    extra = 0
    fields = (
        "product",
        "quantity_ordered",
        "quantity_received",
        "unit_cost",
        "expected_on",
        "note",
    )
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(admin.ModelAdmin):
    list_display = (
        "number",
        "supplier",
        "warehouse",
        "status",
        "expected_on",
        "created_at",
        "sent_at",
    )
    list_select_related = ("supplier", "warehouse")
    list_filter = ("status", "warehouse", "created_at")
    search_fields = ("number", "supplier__code", "supplier__name")
    date_hierarchy = "created_at"
    autocomplete_fields = ("supplier",)
    raw_id_fields = ("created_by", "sent_by")
    readonly_fields = (
        "number",
        "supplier",
        "warehouse",
        "status",
        "created_by",
        "created_at",
        "sent_by",
        "sent_at",
    )
    fields = (
        "number",
        "supplier",
        "warehouse",
        "status",
        "expected_on",
        "ship_to",
        "notes",
        ("created_by", "created_at"),
        ("sent_by", "sent_at"),
    )
    inlines = [PurchaseOrderLineInline]
    show_full_result_count = False

    def has_add_permission(self, request):
        # New orders get their number and first status event from purchasing.create_order.
        return False

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status != PurchaseOrder.Status.DRAFT:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(PurchaseOrderLine)
class PurchaseOrderLineAdmin(ReadOnlyAdmin):
    list_display = (
        "order",
        "product",
        "quantity_ordered",
        "quantity_received",
        "unit_cost",
        "expected_on",
        "note",
    )
    list_select_related = ("order", "product")
    list_filter = ("order__status",)
    search_fields = ("order__number", "product__sku", "product__name")
    raw_id_fields = ("order", "product")


@admin.register(PurchaseOrderEvent)
class PurchaseOrderEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "order", "from_status", "to_status", "user", "note")
    list_select_related = ("order", "user")
    list_filter = ("to_status", "at")
    search_fields = ("order__number", "note")
    raw_id_fields = ("order", "user")


@admin.register(ReceiptLine)
class ReceiptLineAdmin(ReadOnlyAdmin):
    list_display = (
        "received_on",
        "order_number",
        "product_sku",
        "quantity",
        "ordered_on",
        "expected_on",
        "lead_time_days",
        "days_late",
        "user",
    )
    list_select_related = ("line__order", "line__product", "user")
    list_filter = ("received_on", "line__order__supplier")
    search_fields = ("line__order__number", "line__product__sku")
    raw_id_fields = ("line", "move", "user")
    date_hierarchy = "received_on"

    @admin.display(description="order", ordering="line__order__number")
    def order_number(self, receipt):
        return receipt.line.order.number

    @admin.display(description="product", ordering="line__product__sku")
    def product_sku(self, receipt):
        return receipt.line.product.sku


from orders import admin_webhooks  # noqa: E402, F401  (delivery log admin)
