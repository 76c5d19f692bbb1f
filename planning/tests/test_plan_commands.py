"""``manage.py plan`` / ``replenishment``, the nightly task, and the plan's query budget."""

import csv
import math
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.tasks import default_task_backend
from django.test.utils import CaptureQueriesContext, override_settings

from planning import tasks
from planning.models import ImportedDemand, PlanLine, PlanRun
from planning.plan import run_plan
from planning.tests.world import world  # noqa: F401 — the fixture

pytestmark = pytest.mark.django_db
HEADER = (
    "sku,warehouse,policy,pattern,forecast_daily,sd_daily_demand,lead_time_days,"
    "sd_lead_time_days,service_level,safety_stock,reorder_point,available,incoming,"
    "open_demand,suggested_qty,supplier"
)


def import_days(world, product, units_by_ago: dict[int, int]):  # noqa: F811
    ImportedDemand.objects.bulk_create(
        ImportedDemand(
            product=product,
            warehouse=world.warehouse,
            day=world.today - timedelta(days=ago),
            quantity=units,
        )
        for ago, units in units_by_ago.items()
    )


def test_replenishment_csv_header_and_a_row_computed_by_hand(world):  # noqa: F811
    product = world.product("CSV-1", lead=5, pack=10)
    # The same week for 16 weeks (21 units): d̄ = 3/day exactly, σd (90 days) by hand.
    week = [1, 5, 3, 3, 2, 4, 3]
    units = {ago: week[ago % 7] for ago in range(1, 113)}
    import_days(world, product, units)
    world.stock(product, 7)
    out = StringIO()
    call_command("replenishment", "--as-of", world.today.isoformat(), stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == HEADER
    row = dict(zip(HEADER.split(","), next(csv.reader([lines[1]])), strict=True))
    last90 = [units[ago] for ago in range(1, 91)]
    mean = sum(last90) / 90
    sd = math.sqrt(sum((x - mean) ** 2 for x in last90) / 89)
    forecast = float(row["forecast_daily"])
    assert forecast == pytest.approx(3.0, abs=1e-6)  # 21 units every week
    safety = math.ceil(1.6448536 * math.sqrt(5 * sd**2))
    rop = math.ceil(forecast * 5 + safety)
    up_to = rop + math.ceil(forecast * 7)
    need = up_to - 7
    assert row["sku"] == "CSV-1" and row["warehouse"] == "WH1"
    assert row["policy"] == "safety_stock" and row["pattern"] == "smooth"
    assert float(row["sd_daily_demand"]) == pytest.approx(sd, abs=1e-4)
    assert (row["lead_time_days"], row["sd_lead_time_days"], row["service_level"]) == (
        "5",
        "0",
        "95",
    )
    assert int(row["safety_stock"]) == safety == 5
    assert int(row["reorder_point"]) == rop == 20
    assert (row["available"], row["incoming"], row["open_demand"]) == ("7", "0", "0")
    assert int(row["suggested_qty"]) == math.ceil(need / 10) * 10 == 40
    assert row["supplier"] == "ACME"


def test_replenishment_filters_by_warehouse_and_needs_a_plan(world):  # noqa: F811
    with pytest.raises(CommandError, match="no plan yet"):
        call_command("replenishment", stdout=StringIO())
    product = world.product("CSV-2")
    world.stock(product, 3)
    call_command("plan", stdout=StringIO())
    with pytest.raises(CommandError, match="no warehouse with code NOPE"):
        call_command("replenishment", "--warehouse", "NOPE", stdout=StringIO())
    out = StringIO()
    call_command("replenishment", "--warehouse", "WH1", stdout=out)
    assert [line.split(",")[0] for line in out.getvalue().splitlines()] == ["sku", "CSV-2"]


def test_plan_command_prints_progress_and_fails_with_exit_1(world, monkeypatch):  # noqa: F811
    world.product("P-1")
    out = StringIO()
    call_command("plan", stdout=out)
    assert "reading demand history" in out.getvalue() and "Plan " in out.getvalue()
    with pytest.raises(CommandError, match="--as-of must be a date"):
        call_command("plan", "--as-of", "yesterday", stdout=StringIO())
    monkeypatch.setattr("planning.plan.forecasting.fit", lambda *a, **k: 1 / 0)
    world.stock(world.product("P-2"), 1)
    import_days(world, world.product("P-3"), {1: 3})
    with pytest.raises(CommandError, match="ZeroDivisionError"):
        call_command("plan", stdout=StringIO())
    assert PlanRun.objects.filter(status=PlanRun.Status.FAILED).count() == 1


@override_settings(
    TASKS={"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
)
def test_the_nightly_task_stores_a_plan(world):  # noqa: F811
    world.stock(world.product("T-1"), 4)
    result = tasks.nightly_plan.enqueue()
    assert default_task_backend is not None
    assert result.return_value["status"] == "done"
    assert PlanLine.objects.filter(run_id=result.return_value["run"]).count() == 1


def plan_queries(world, count: int, prefix: str) -> int:  # noqa: F811
    for number in range(count):
        product = world.product(f"{prefix}-{number}", pack=6)
        if number % 5:
            world.stock(product, number % 5)
        import_days(world, product, {ago: (number + ago) % 4 for ago in range(1, 40)})
        if number % 3 == 0:
            world.sell(product, 2, world.today - timedelta(days=1))
    with CaptureQueriesContext(connection) as queries:
        run = run_plan()
    assert run.status == PlanRun.Status.DONE
    assert PlanLine.objects.filter(run=run).count() >= count
    return len(queries)


def test_the_plans_query_count_does_not_grow_with_products(world, django_assert_max_num_queries):  # noqa: F811
    small = plan_queries(world, 10, "Q")
    large = plan_queries(world, 40, "R")
    # About 30 for the plan, as many again for the snapshot and the cycle-count schedule
    # written after it (planning.snapshots, planning.cycle_counts), and storing the advice
    # (one read, one UPDATE per strategy and 500 lines: advisor.store_advice).
    assert large == small <= 70, (small, large)
    with django_assert_max_num_queries(small):
        run_plan()


def test_forecast_by_sku_reports_pattern_method_and_backtest(world):  # noqa: F811
    import json

    product = world.product("FC-1")
    week = [1, 5, 3, 3, 2, 4, 3]
    import_days(world, product, {ago: week[ago % 7] for ago in range(1, 140)})
    out = StringIO()
    call_command("forecast", "FC-1", stdout=out)
    report = json.loads(out.getvalue())
    assert report["sku"] == "FC-1" and report["weeks"] == 19
    assert report["pattern"] == "smooth" and report["method"] == "ses"
    assert report["forecast_daily"] == pytest.approx(3.0, abs=1e-6)
    assert report["backtest"]["mae"] == pytest.approx(0.0, abs=1e-6)
    assert report["backtest"]["naive_mae"] is not None
    with pytest.raises(CommandError, match="no product with SKU NOPE"):
        call_command("forecast", "NOPE", stdout=StringIO())
