"""A product's planning page: per warehouse the plan line and its inputs, the policy and its
history, what a buffer costs (table and curve), and the what-if calculator."""

from collections import defaultdict

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from inventory.models import Product
from planning import buffers, curve, policies, selectors
from planning.errors import PlanningError
from planning.forms import PolicyForm, ServiceLevelForm, WhatIfForm
from planning.models import PlanLine, Policy
from warehouses.models import Warehouse

TEMPLATE = "planning/product_planning.html"
HISTORY_SHOWN = 50


def what_if(query) -> dict:
    """The calculator's form and, when its input is valid, ``buffers.evaluate``'s answer."""
    if not any(key.startswith("w-") for key in query):
        return {"form": WhatIfForm(prefix="w")}
    form = WhatIfForm(query, prefix="w")
    if not form.is_valid():
        return {"form": form}
    data = form.cleaned_data
    level = data["service_level"]
    try:
        result = buffers.evaluate(
            data["d_mean"],
            data["d_sd"],
            data["lt_mean"],
            data["lt_sd"],
            service_level=None if level is None else level / 100,
            reorder_point=data["reorder_point"],
            order_quantity=data["order_quantity"] or None,
        )
    except ValueError as exc:
        form.add_error(None, str(exc))
        return {"form": form}
    fill = result["fill_rate"]
    return {
        "form": form,
        "result": result,
        "cycle_percent": result["cycle_service_level"] * 100,
        "fill_percent": None if fill is None else fill * 100,
    }


def place_rows(product: Product, run, bound: dict | None = None) -> list[dict]:
    """One entry per warehouse: its plan line, policy, policy form, cost curve and history."""
    lines = {}
    if run is not None:
        lines = {
            line.warehouse_id: line
            for line in PlanLine.objects.filter(run=run, product=product).select_related(
                "warehouse", "supplier_product__supplier"
            )
        }
    stored = {p.warehouse_id: p for p in Policy.objects.filter(product=product)}
    history = defaultdict(list)
    for record in (
        Policy.history.filter(product=product)
        .select_related("history_user")
        .order_by("-history_date", "-history_id")[:HISTORY_SHOWN]
    ):
        history[record.warehouse_id].append(record)
    warehouses = Warehouse.objects.filter(active=True).order_by("code")
    rows = []
    for warehouse in warehouses:
        policy = stored.get(warehouse.pk) or Policy(product=product, warehouse=warehouse)
        line = lines.get(warehouse.pk)
        if line is not None:
            line.net_position = line.available + line.incoming - line.open_demand
        form = (bound or {}).get(warehouse.code) or PolicyForm(
            instance=policy, prefix=f"p-{warehouse.code}"
        )
        row = {"warehouse": warehouse, "line": line, "policy": policy, "form": form}
        row["history"] = history.get(warehouse.pk, [])
        row["changed_since_plan"] = bool(
            policy.pk and run is not None and policy.updated_at > run.started_at
        )
        if line is not None and line.policy not in (Policy.Kind.DROPSHIP,):
            row["curve"] = curve.for_line(line, policy)
        rows.append(row)
    return rows


def page(request, product: Product, bound: dict | None = None, status: int = 200):
    run = selectors.latest_run()
    context = {
        "product": product,
        "run": run,
        "places": place_rows(product, run, bound),
        "whatif": what_if(request.GET),
        "holding_rate_percent": settings.STOCKROOM_HOLDING_COST_RATE * 100,
    }
    return render(request, TEMPLATE, context, status=status)


@login_required
@permission_required("planning.view_planline", raise_exception=True)
def product_planning(request, sku):
    return page(request, get_object_or_404(Product, sku=sku))


def saved(request, product: Product, warehouse: Warehouse):
    messages.success(
        request,
        f"Policy of {product.sku} in {warehouse.code} saved: the plan line changes at the next "
        "plan run.",
    )
    return redirect(f"{reverse('planning:product', args=[product.sku])}#place-{warehouse.code}")


def pick_level(request, product: Product, warehouse: Warehouse):
    """A point of the cost curve: its service level becomes the policy (safety stock)."""
    form = ServiceLevelForm(request.POST)
    if not form.is_valid():
        messages.error(request, "That service level is not one a policy can take (50–99.99 %).")
        return redirect("planning:product", sku=product.sku)
    try:
        policies.set_service_level(
            product=product,
            warehouse=warehouse,
            user=request.user,
            service_level=form.cleaned_data["service_level"],
        )
    except PlanningError as exc:
        messages.error(request, exc.message)
        return redirect("planning:product", sku=product.sku)
    return saved(request, product, warehouse)


def save_form(request, product: Product, warehouse: Warehouse):
    """The policy form: saved, or shown again with its errors and everything typed."""
    form = PolicyForm(request.POST, prefix=f"p-{warehouse.code}")
    if form.is_valid():
        try:
            policies.save_policy(
                product=product, warehouse=warehouse, user=request.user, values=form.cleaned_data
            )
        except PlanningError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return saved(request, product, warehouse)
    return page(request, product, {warehouse.code: form}, status=400)


@login_required
@permission_required(["planning.change_policy", "planning.add_policy"], raise_exception=True)
def edit_policy(request, sku):
    """Save a warehouse's policy form, or a service level picked on the cost curve.

    A GET shows the product's planning page the forms are on.
    """
    product = get_object_or_404(Product, sku=sku)
    if request.method != "POST":
        return page(request, product)
    warehouse = get_object_or_404(Warehouse, code=request.POST.get("warehouse", ""))
    if "pick" in request.POST:
        return pick_level(request, product, warehouse)
    return save_form(request, product, warehouse)
