"""Admin for suppliers, purchase orders, channels and sales orders.

Master data is editable; the order flow is read-only. Order numbers, statuses,
received quantities, events and receipts change only through ``orders.purchasing``
and ``orders.purchasing.receiving`` (the pages); sales order statuses, lines and allocations
only through ``orders.sales``. The admin shows them and lets a manager fix notes,
dates and addresses. Channel secrets are never shown here: the channel page makes
them and shows them once.
"""

from django import forms
from django.contrib import admin
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from inventory.admin import ReadOnlyAdmin
from orders.channels import outbox
from orders.channels.forms import webhook_url_field
from orders.models import (
    Allocation,
    Channel,
    ChannelWarehouse,
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    ReceiptLine,
    SalesOrder,
    SalesOrderEvent,
    SalesOrderLine,
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
        "email_status",
        "email_attempts",
        "email_error",
        "email_at",
        "email_log",
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
        ("email_status", "email_attempts", "email_at"),
        "email_error",
        "email_log",
    )
    inlines = [PurchaseOrderLineInline]
    show_full_result_count = False

    @admin.display(description="email attempts")
    def email_log(self, order):
        attempts = order.email_attempt_log.order_by("at", "id")
        return (
            format_html_join(
                "",
                "<div>{} · attempt {} to {}: {}</div>",
                (
                    (
                        f"{a.at:%Y-%m-%d %H:%M}",
                        a.attempt,
                        a.to,
                        "delivered" if a.delivered else f"failed ({a.error})",
                    )
                    for a in attempts
                ),
            )
            or "—"
        )

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


# --- channels ------------------------------------------------------------------------


class ChannelWarehouseForm(forms.ModelForm):
    def validate_constraints(self):
        # Every row of the channel is in the inline and the formset checks priorities and
        # warehouses across all of them; checking one row against the stored rows would
        # refuse swapping two priorities.
        pass


class ChannelWarehouseInline(admin.TabularInline):
    model = ChannelWarehouse
    form = ChannelWarehouseForm
    extra = 0
    fields = ("priority", "warehouse")
    ordering = ("priority", "id")
    autocomplete_fields = ("warehouse",)


class ChannelAdminForm(forms.ModelForm):
    webhook_url = webhook_url_field()

    class Meta:
        model = Channel
        fields = ("code", "name", "kind", "buffer", "webhook_url", "active")


@admin.register(Channel)
class ChannelAdmin(SimpleHistoryAdmin):
    form = ChannelAdminForm
    list_display = ("code", "name", "kind", "buffer", "has_webhook", "token_hint", "active")
    list_filter = ("kind", "active")
    search_fields = ("code", "name")
    readonly_fields = ("token_hint", "token_created_at", "created_at")
    fields = (
        "code",
        "name",
        "kind",
        "buffer",
        "webhook_url",
        "active",
        ("token_hint", "token_created_at"),
        "created_at",
    )
    inlines = [ChannelWarehouseInline]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        # The code is the channel's address in every page link.
        fields = super().get_readonly_fields(request, obj)
        return ("code", *fields) if obj is not None else fields

    @admin.display(boolean=True, description="webhook", ordering="webhook_url")
    def has_webhook(self, channel):
        return bool(channel.webhook_url)

    def save_formset(self, request, form, formset, change):
        if formset.model is ChannelWarehouse and formset.has_changed():
            # Swapping two priorities (or warehouses) would collide with the unique
            # constraints row by row: take the changed rows out first, then save them.
            changed = [
                f.instance.pk
                for f in formset.forms
                if f.instance.pk and (f.has_changed() or f in formset.deleted_forms)
            ]
            ChannelWarehouse.objects.filter(pk__in=changed).delete()
            form.instance._warehouses_changed = True
        super().save_formset(request, form, formset, change)

    def save_related(self, request, form, formsets, change):
        # Runs inside the admin's transaction: the resync commits with the change.
        super().save_related(request, form, formsets, change)
        outbox.channel_saved(
            form.instance,
            changed_fields=form.changed_data,
            warehouses_changed=getattr(form.instance, "_warehouses_changed", False),
        )


# --- sales orders ------------------------------------------------------------------


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class SalesOrderLineInline(ReadOnlyInline):
    """Lines change only through orders.sales (allocation, shipping, dropship)."""

    model = SalesOrderLine
    fields = (
        "product",
        "quantity",
        "unit_price",
        "quantity_allocated",
        "quantity_shipped",
        "dropship",
        "cost_of_goods",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        # The inline shows each row's str(), which names the order.
        return super().get_queryset(request).select_related("order", "product")


class SalesOrderEventInline(ReadOnlyInline):
    model = SalesOrderEvent
    fields = ("at", "from_status", "to_status", "user", "note")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order", "user")


@admin.register(SalesOrder)
class SalesOrderAdmin(admin.ModelAdmin):
    list_display = (
        "number",
        "channel",
        "external_ref",
        "customer_name",
        "status",
        "created_at",
        "shipped_at",
        "tracking_number",
    )
    list_select_related = ("channel",)
    list_filter = ("status", "channel", "created_at")
    search_fields = (
        "number",
        "external_ref",
        "customer_name",
        "customer_email",
        "tracking_number",
    )
    date_hierarchy = "created_at"
    readonly_fields = (
        "number",
        "channel",
        "external_ref",
        "status",
        "created_at",
        "updated_at",
        "shipped_at",
        "carrier",
        "tracking_number",
        "cancelled_at",
        "allocations",
    )
    fields = (
        "number",
        ("channel", "external_ref"),
        "status",
        "customer_name",
        "customer_email",
        "shipping_address",
        ("created_at", "updated_at"),
        ("shipped_at", "cancelled_at"),
        ("carrier", "tracking_number"),
        "allocations",
    )
    inlines = [SalesOrderLineInline, SalesOrderEventInline]
    show_full_result_count = False

    @admin.display(description="allocations (units reserved per location and lot)")
    def allocations(self, order):
        # Allocations hang off the lines, not the order, so an inline cannot show them.
        rows = (
            Allocation.objects.filter(line__order=order)
            .select_related("line__product", "location", "lot")
            .order_by("location__path", "id")
        )
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    a.line.product.sku,
                    a.location.barcode,
                    a.lot.code if a.lot else "—",
                    a.lot.expires_on if a.lot and a.lot.expires_on else "—",
                    a.quantity,
                    a.quantity_shipped,
                )
                for a in rows
            ),
        )
        if not body:
            return "—"
        return format_html(
            "<table><thead><tr><th>SKU</th><th>Location</th><th>Lot</th><th>Expires</th>"
            "<th>Reserved</th><th>Shipped</th></tr></thead><tbody>{}</tbody></table>",
            body,
        )

    def has_add_permission(self, request):
        # Orders come in through orders.sales.create_order (the API), which allocates them.
        return False

    def has_delete_permission(self, request, obj=None):
        # Deleting would strand its reservations: cancel it on its page instead.
        return False


from orders.channels import admin as channels_admin  # noqa: E402, F401  (delivery log admin)
