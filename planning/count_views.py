"""The cycle-count page: locations due and overdue by their ABC cadence, and count accuracy."""

from django.contrib.auth.decorators import login_required, permission_required
from django.utils import timezone

from common.pages import paginate, render_list
from planning import cycle_counts
from warehouses.models import Warehouse

STATES = {
    "due_or_overdue": "Due or overdue",
    cycle_counts.OVERDUE: "Overdue",
    cycle_counts.DUE: "Due within a week",
    "": "All locations",
}


@login_required
@permission_required("inventory.adjust_stock", raise_exception=True)
def cycle_counts_page(request):
    today = timezone.localdate()
    state = request.GET.get("state", "due_or_overdue")
    error = None
    if state not in STATES:
        error = f"Unknown state “{state}”: showing locations due or overdue."
        state = "due_or_overdue"
    code = request.GET.get("warehouse", "")
    warehouse = Warehouse.objects.filter(code=code).first() if code else None
    if code and warehouse is None:
        error = f"No warehouse “{code}”: showing every warehouse."
    accuracy = cycle_counts.accuracy(today)
    page_obj = paginate(request, cycle_counts.schedule(state, today, warehouse))
    cycle_counts.with_live_status(list(page_obj), today)
    context = {
        "page_obj": page_obj,
        "state": state,
        "states": STATES,
        "warehouses": Warehouse.objects.filter(active=True).order_by("code"),
        "warehouse": warehouse,
        "error": error,
        "summary": cycle_counts.summary(today),
        "cadence": cycle_counts.cadence(),
        # Live: one grouped query over a year of kept counts (indexed by time).
        "accuracy": accuracy,
        "accuracy_chart": cycle_counts.accuracy_chart(accuracy),
        "due_soon_days": cycle_counts.DUE_SOON_DAYS,
    }
    return render_list(request, "planning/cycle_counts.html", context)
