"""Admin for warehouses and locations, with change history."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from warehouses.models import Location, Warehouse


@admin.register(Warehouse)
class WarehouseAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name", "active")
    list_filter = ("active",)
    search_fields = ("code", "name")


@admin.register(Location)
class LocationAdmin(SimpleHistoryAdmin):
    list_display = ("path", "barcode", "name", "kind", "warehouse", "active")
    list_select_related = ("warehouse",)
    list_filter = ("warehouse", "kind", "active")
    search_fields = ("barcode", "path", "name")
    autocomplete_fields = ("warehouse", "parent")
    readonly_fields = ("path", "depth")
    show_full_result_count = False
