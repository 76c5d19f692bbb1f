"""The strategy advisor page: advice beside the current policy, filters, a store-wide summary,
and one action that applies many pieces of advice (``planning.advisor_data.apply``)."""

import django_filters
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from common.pages import PAGE_SIZE, filtered_rows, render_list
from common.pagination import KeysFirstPaginator
from planning import advisor_data, selectors
from planning.advisor import recommend
from planning.errors import PlanningError
from planning.models import PlanLine, Policy
from warehouses.models import Warehouse

TEMPLATE = "planning/advisor.html"


class EitherWidget(django_filters.widgets.BooleanWidget):
    """Yes / no, with "Either" rather than django-filter's "Unknown" for no choice."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("", _("Either")), ("true", _("Yes")), ("false", _("No"))]


def with_current_policy(queryset):
    """``queryset`` with ``current``: the stored policy's kind, else the plan's (its default)."""
    stored = Policy.objects.filter(
        product_id=OuterRef("product_id"), warehouse_id=OuterRef("warehouse_id")
    ).values("kind")[:1]
    return queryset.alias(current=Coalesce(Subquery(stored), F("policy")))


class AdviceFilter(django_filters.FilterSet):
    """Filters of the advisor; "current policy" and "differs" read the stored policy, so a
    policy applied today counts before the next plan run."""

    advice = django_filters.ChoiceFilter(
        label=_("Recommendation"), choices=Policy.Kind.choices, empty_label=_("Any advice")
    )
    policy = django_filters.ChoiceFilter(
        label=_("Current policy"),
        choices=Policy.Kind.choices,
        empty_label=_("Any policy"),
        method="filter_current",
    )
    warehouse = django_filters.ModelChoiceFilter(
        queryset=Warehouse.objects.order_by("code"),
        to_field_name="code",
        empty_label=_("All warehouses"),
    )
    sku = django_filters.CharFilter(field_name="product__sku", label=_("SKU"))
    differs = django_filters.BooleanFilter(
        label=_("Differs from current"),
        method="filter_differs",
        widget=EitherWidget,
    )

    class Meta:
        model = PlanLine
        fields = ["advice", "policy", "warehouse", "sku", "differs"]

    def filter_current(self, queryset, name, value):
        return with_current_policy(queryset).filter(current=value)

    def filter_differs(self, queryset, name, value):
        if value is None:
            return queryset
        queryset = with_current_policy(queryset)
        same = Q(advice=F("current"))
        return queryset.exclude(same) if value else queryset.filter(same)


def advisor_context(query: QueryDict) -> dict:
    """What the advisor page shows for the filters and page in ``query``."""
    run = selectors.latest_run()
    lines = PlanLine.objects.none()
    if run is not None:
        lines = (
            PlanLine.objects.filter(run=run)
            .select_related("product", "warehouse", "supplier")
            .order_by("product_id", "warehouse_id")
        )
    filterset = AdviceFilter(query or None, queryset=lines)
    context = {"run": run, "filter": filterset, "query": query.urlencode()}
    if run is None:
        return context
    rate = float(settings.STOCKROOM_HOLDING_COST_RATE)
    page_obj = KeysFirstPaginator(filtered_rows(filterset), PAGE_SIZE).get_page(query.get("page"))
    page_lines = list(page_obj)
    facts = advisor_data.page_facts(page_lines)
    stored = advisor_data.current_policies(page_lines)
    rows = []
    for line in page_lines:
        advice = recommend(facts[line.pk])
        policy = stored.get((line.product_id, line.warehouse_id))
        value = f"{line.pk}:{advice.strategy}"
        current = policy.kind if policy else line.policy
        rows.append(
            {
                "line": line,
                "advice": advice,
                "policy": policy,
                "value": value,
                "differs": advice.strategy != current,
            }
        )
    summary = advisor_data.cached_summary(run, rate)
    context.update(
        {
            "strategy_counts": [
                {"value": value, "label": label, "count": summary["counts"].get(value, 0)}
                for value, label in Policy.Kind.choices
            ],
            "page_obj": page_obj,
            "rows": rows,
            "summary": summary,
            "selected": set(),
            "holding_rate_percent": rate * 100,
        }
    )
    return context


@login_required
@permission_required("planning.view_planline", raise_exception=True)
def advisor(request):
    return render_list(request, TEMPLATE, advisor_context(request.GET))


def choices_of(values: list[str]) -> list[tuple[int, str]]:
    """``line`` checkbox values ("<plan line id>:<strategy>") as pairs; refuse a malformed one."""
    pairs = []
    for value in values:
        pk, _sep, kind = value.partition(":")
        if not pk.isdigit() or kind not in Policy.Kind.values:
            raise PlanningError(
                f"“{value[:40]}” is not a row of this page: reload the page and tick again. "
                "Nothing was changed.",
                field="line",
            )
        pairs.append((int(pk), kind))
    return pairs


@login_required
@permission_required(
    ["planning.view_planline", "planning.change_policy", "planning.add_policy"],
    raise_exception=True,
)
def apply_advice(request):
    """Apply the ticked advice, or show the page again with the refusal and the boxes ticked.

    A GET shows the advisor page the form is on.
    """
    if request.method != "POST":
        return render_list(request, TEMPLATE, advisor_context(request.GET))
    query = QueryDict(request.POST.get("query", ""))
    selected = request.POST.getlist("line")
    try:
        choices = choices_of(selected)
        saved = advisor_data.apply(run=selectors.latest_run(), choices=choices, user=request.user)
    except PlanningError as exc:
        context = advisor_context(query)
        context.update({"error": exc.message, "selected": set(selected)})
        return render(request, TEMPLATE, context, status=400)
    messages.success(
        request,
        ngettext(
            "Applied the advice to %(count)d policy: the plan follows it at the next run.",
            "Applied the advice to %(count)d policies: the plan follows them at the next run.",
            len(saved),
        )
        % {"count": len(saved)},
    )
    url = reverse("planning:advisor")
    return redirect(f"{url}?{query.urlencode()}" if query else url)
