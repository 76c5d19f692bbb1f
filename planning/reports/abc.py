"""ABC × XYZ classes over the latest stored plan, with the 3 × 3 matrix and a drill-down.

Per product (its plan lines summed over the warehouses shown): consumption value =
forecast demand per day × 365 × the plan's unit cost; CV of weekly demand =
σ(weekly) ÷ mean(weekly) = (σd·√7) ÷ (d̄·7), taking days as independent. The classes
come from ``planning.classes`` (the one place the advisor and the dashboard use too).
"""

import math

import django_filters
from django.core.cache import cache
from django.db.models import F, FloatField, Sum
from django.db.models.functions import Cast
from django.urls import reverse

from inventory.models import Product
from planning.classes import abc_classes, xyz_classes
from planning.models import PlanLine
from planning.reports.base import MANAGERS, Column, Report, keep, money, one_decimal
from planning.reports.stock import plan_lines
from planning.selectors import latest_run
from warehouses.models import Warehouse

CLASS_CHOICES = [("A", "A"), ("B", "B"), ("C", "C")]
XYZ_CHOICES = [("X", "X"), ("Y", "Y"), ("Z", "Z")]


class AbcFilter(django_filters.FilterSet):
    warehouse = django_filters.ModelChoiceFilter(
        queryset=Warehouse.objects.order_by("code"),
        to_field_name="code",
        empty_label="All warehouses",
        method=keep,
    )
    abc = django_filters.ChoiceFilter(
        label="ABC class", choices=CLASS_CHOICES, method=keep, empty_label="Any"
    )
    xyz = django_filters.ChoiceFilter(
        label="XYZ class", choices=XYZ_CHOICES, method=keep, empty_label="Any"
    )

    class Meta:
        model = PlanLine
        fields = ["warehouse", "abc", "xyz"]


CLASSES_SECONDS = 24 * 3600


def classified(params) -> list[dict]:
    """Every product of the plan with its value, CV and classes, largest value first.

    A stored plan never changes, so the classes are computed once per plan run (and
    warehouse) in each server process and kept in the cache under the run's id: a new
    plan is a new key, never a stale answer.
    """
    run = latest_run()
    warehouse = params.get("warehouse")
    key = f"abc-xyz:{run.pk if run else 0}:{warehouse.pk if warehouse else 0}"
    rows = cache.get(key)
    if rows is None:
        rows = classify(params)
        cache.set(key, rows, CLASSES_SECONDS)
    return [dict(row) for row in rows]


def classify(params) -> list[dict]:
    lines = plan_lines()
    if params.get("warehouse"):
        lines = lines.filter(warehouse=params["warehouse"])
    rows = list(
        lines.order_by()
        .values("product_id")
        .annotate(
            daily=Sum("forecast_daily"),
            variance=Sum(F("sd_daily_demand") * F("sd_daily_demand"), output_field=FloatField()),
            yearly_value=Sum(
                F("forecast_daily") * 365 * Cast("unit_cost", FloatField()),
                output_field=FloatField(),
            ),
        )
    )
    values = {row["product_id"]: row["yearly_value"] or 0 for row in rows}
    cvs = {
        row["product_id"]: (
            math.sqrt(row["variance"] or 0) * math.sqrt(7) / (row["daily"] * 7)
            if row["daily"]
            else None
        )
        for row in rows
    }
    abc, xyz = abc_classes(values), xyz_classes(cvs)
    for row in rows:
        row.update(abc=abc[row["product_id"]], xyz=xyz[row["product_id"]])
        row["cv"] = cvs[row["product_id"]]
    rows.sort(key=lambda row: (-(row["yearly_value"] or 0), row["product_id"]))
    return rows


class Classified(list):
    """The drill-down rows, carrying the matrix of every product (not only those shown)."""

    matrix: list = []


def abc_rows(params) -> Classified:
    rows = classified(params)
    shown = Classified(
        row
        for row in rows
        if (not params.get("abc") or row["abc"] == params["abc"])
        and (not params.get("xyz") or row["xyz"] == params["xyz"])
    )
    shown.matrix = matrix(rows)
    return shown


def matrix(rows: list[dict]) -> list[tuple[str, object]]:
    """Counts and value per cell, written as totals: "A·X" → "3 products, 1,234.00"."""
    cells = {}
    for row in rows:
        count, value = cells.get((row["abc"], row["xyz"]), (0, 0.0))
        cells[row["abc"], row["xyz"]] = (count + 1, value + (row["yearly_value"] or 0))
    return [
        (f"{a}{x}", f"{cells.get((a, x), (0, 0))[0]} · {money(cells.get((a, x), (0, 0))[1])}")
        for a, _ in CLASS_CHOICES
        for x, _ in XYZ_CHOICES
    ]


def add_skus(rows: list[dict]) -> None:
    skus = dict(
        Product.objects.filter(pk__in=[row["product_id"] for row in rows]).values_list("pk", "sku")
    )
    for row in rows:
        row["sku"] = skus.get(row["product_id"], "")


ABC_XYZ = Report(
    slug="abc_xyz",
    title="ABC × XYZ classes",
    permission=MANAGERS,
    filterset=AbcFilter,
    rows=abc_rows,
    python_rows=True,
    enrich=add_skus,
    columns=[
        Column(
            "SKU",
            lambda row: row["sku"],
            link=lambda row: reverse("planning:product", args=[row["sku"]]),
        ),
        Column("ABC", lambda row: row["abc"]),
        Column("XYZ", lambda row: row["xyz"]),
        Column("Yearly consumption value", lambda row: money(row["yearly_value"]), number=True),
        Column("Forecast / day", lambda row: one_decimal(row["daily"]), number=True),
        Column(
            "CV of weekly demand",
            lambda row: None if row["cv"] is None else round(row["cv"], 2),
            number=True,
        ),
    ],
    rule=lambda params: (
        "ABC by yearly consumption value (the plan's forecast demand per day × 365 × unit "
        "cost), largest first: A while the running share is ≤ 80 % of the total, B ≤ 95 %, "
        "C the rest and products without demand. XYZ by the coefficient of variation of "
        "weekly demand (σd·√7 ÷ 7·d̄ from the plan): X ≤ 0.5, Y ≤ 1.0, Z above or no demand. "
        "The totals give products · yearly value per cell (e.g. AX); choose a class to list it."
    ),
    totals=lambda rows, params: getattr(rows, "matrix", []),
)
