"""Admin: policies with their history; the stored plan read-only (the plan command writes it)."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from planning.models import PlanLine, PlanRun, Policy


@admin.register(Policy)
class PolicyAdmin(SimpleHistoryAdmin):
    list_display = ["product", "warehouse", "kind", "service_level", "minimum", "maximum"]
    list_filter = ["kind", "warehouse"]
    search_fields = ["product__sku", "product__name"]
    raw_id_fields = ["product"]
    readonly_fields = ["updated_at", "updated_by"]
    list_select_related = ["product", "warehouse"]

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PlanRun)
class PlanRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "as_of", "status", "stage", "done_count", "total_count", "finished_at"]
    list_filter = ["status"]


@admin.register(PlanLine)
class PlanLineAdmin(ReadOnlyAdmin):
    list_display = ["run", "product", "warehouse", "policy", "suggested_qty", "reorder_point"]
    list_filter = ["policy", "warehouse"]
    search_fields = ["product__sku"]
    list_select_related = ["run", "product", "warehouse"]
    show_full_result_count = False
