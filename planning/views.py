"""The replenishment page and the one action that turns its lines into draft purchase orders.

Views read the stored plan through ``planning.selectors`` and write through
``planning.ordering``; a product's planning page is in ``planning.product_views``.
"""

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Sum, Value
from django.db.models.functions import Coalesce
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import ngettext

from common.pages import PAGE_SIZE, filtered_rows, render_list
from common.pagination import KeysFirstPaginator
from orders.models import PurchaseOrder
from planning import ordering, selectors
from planning.errors import PlanningError
from planning.filters import PlanLineFilter
from planning.models import PlanLine
from planning.product_views import edit_policy, product_planning

__all__ = ["create_drafts", "drafts_created", "edit_policy", "product_planning", "replenishment"]

MONEY = DecimalField(max_digits=24, decimal_places=6)
TEMPLATE = "planning/replenishment.html"


def replenishment_context(query: QueryDict) -> dict:
    """What the replenishment page shows for the filters and page in ``query``."""
    run = selectors.latest_run()
    running = selectors.run_in_progress()
    if running is not None and run is not None and running.pk < run.pk:
        running = None
    context = {"run": run, "running": running, "query": query.urlencode()}
    filterset = PlanLineFilter(
        query or None, queryset=selectors.lines_to_order(run) if run else PlanLine.objects.none()
    )
    context["filter"] = filterset
    if run is None:
        return context
    rows = filtered_rows(filterset)
    page_obj = KeysFirstPaginator(rows, PAGE_SIZE).get_page(query.get("page"))
    suppliers = {line.supplier_id for line in page_obj}
    totals = selectors.supplier_totals(rows, suppliers) if suppliers else {}
    context["page_obj"] = page_obj
    context["groups"] = selectors.group_page(list(page_obj), totals)
    return context


def supplier_lines(query: QueryDict, supplier_code: str) -> list[str]:
    """The ids of every line of the supplier that the filters in ``query`` show."""
    run = selectors.latest_run()
    if run is None:
        return []
    rows = filtered_rows(PlanLineFilter(query or None, queryset=selectors.lines_to_order(run)))
    ids = rows.filter(supplier__code=supplier_code).values_list("pk", flat=True)
    return [str(pk) for pk in ids]


@login_required
@permission_required("planning.view_planline", raise_exception=True)
def replenishment(request):
    return render_list(request, TEMPLATE, replenishment_context(request.GET))


@login_required
@permission_required(["planning.view_planline", "orders.add_purchaseorder"], raise_exception=True)
def create_drafts(request):
    """Create the drafts, or show the page again with the refusal and the boxes still ticked.

    ``all_of`` (a supplier's button) orders every line of that supplier the filters show.
    A GET shows the replenishment page the form is on.
    """
    if request.method != "POST":
        return render_list(request, TEMPLATE, replenishment_context(request.GET))
    query = QueryDict(request.POST.get("query", ""))
    selected = request.POST.getlist("line")
    if request.POST.get("all_of"):
        selected = supplier_lines(query, request.POST["all_of"])
    try:
        orders = ordering.create_drafts(lines=selected, user=request.user)
    except PlanningError as exc:
        context = replenishment_context(query)
        context.update({"error": exc.message, "selected": set(selected)})
        return render(request, TEMPLATE, context, status=400)
    numbers = [order.number for order in orders]
    messages.success(
        request,
        ngettext(
            "Created draft purchase order %(numbers)s: check it and send it.",
            "Created %(count)d draft purchase orders (%(numbers)s): check them and send them.",
            len(numbers),
        )
        % {"count": len(numbers), "numbers": ", ".join(numbers)},
    )
    return redirect(f"{reverse('planning:drafts_created')}?{urlencode({'po': numbers}, True)}")


@login_required
@permission_required(["planning.view_planline", "orders.view_purchaseorder"], raise_exception=True)
def drafts_created(request):
    """The drafts just created, with their totals and links."""
    numbers = request.GET.getlist("po")[:PAGE_SIZE]
    value = ExpressionWrapper(F("lines__quantity_ordered") * F("lines__unit_cost"), MONEY)
    orders = (
        PurchaseOrder.objects.filter(number__in=numbers)
        .select_related("supplier", "warehouse")
        .annotate(
            line_count=Count("lines"),
            total=Coalesce(Sum(value), Value(Decimal(0)), output_field=MONEY),
        )
        .order_by("id")
    )
    return render(request, "planning/drafts_created.html", {"orders": orders})
