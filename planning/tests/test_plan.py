"""The nightly plan: each policy's suggestion, rounding, no double suggestion, failures."""

import math
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from planning import plan
from planning.advisor import annotate_strategy
from planning.explain import explain
from planning.models import PlanLine, PlanRun, Policy
from planning.plan import run_plan
from planning.tests.world import world  # noqa: F401 — the fixture

pytestmark = pytest.mark.django_db


def line_of(run, product) -> PlanLine:
    assert run.status == PlanRun.Status.DONE, run.message
    return PlanLine.objects.get(run=run, product=product)


def steady_seller(world, sku="STEADY", units=2, days=120, **offer):  # noqa: F811
    """A product sold ``units`` a day for ``days`` days (with stock kept high)."""
    product = world.product(sku, **offer)
    world.stock(product, 5000, world.today - timedelta(days=days + 1))
    for ago in range(days, 0, -1):
        world.sell(product, units, world.today - timedelta(days=ago))
    return product


def test_the_run_stores_each_lines_advice(world):  # noqa: F811
    """The advisor filters on ``PlanLine.advice``: written by the run, as the SQL decides."""
    steady = steady_seller(world)
    new = steady_seller(world, sku="NEW", days=10)
    run = run_plan()
    advised = dict(
        annotate_strategy(PlanLine.objects.filter(run=run)).values_list("product", "advised")
    )
    assert line_of(run, steady).advice == advised[steady.pk] != ""
    assert line_of(run, new).advice == advised[new.pk] == Policy.Kind.MANUAL
    assert not PlanLine.objects.filter(run=run, advice="").exists()


def test_safety_stock_line_matches_a_hand_computation(world):  # noqa: F811
    """Constant demand 2/day: σd = 0, stated lead time 7 d → SS 0, ROP 14, up to 28."""
    product = steady_seller(world)
    line = line_of(run_plan(), product)
    assert line.policy == Policy.Kind.SAFETY_STOCK and line.policy_is_default
    assert line.pattern == "smooth"
    assert line.forecast_daily == pytest.approx(2.0, abs=0.01)
    assert line.sd_daily_demand == pytest.approx(0.0, abs=1e-9)
    assert line.lead_time_days == 7 and line.lead_time_stated
    assert line.z == pytest.approx(1.6449, abs=1e-4)
    assert line.safety_stock == 0
    assert line.reorder_point == math.ceil(line.forecast_daily * 7)
    assert line.order_up_to == line.reorder_point + math.ceil(line.forecast_daily * 7)
    # 5000 received, 240 ordered: far above the reorder point.
    assert line.available == 5000 - 240
    assert line.suggested_qty == 0
    assert explain(line)[:4] == [
        "d̄ = 2/day (simple exponential smoothing, smooth)",
        "σd = 0 over 90 days",
        "L̄ = 7 d stated (no receipts yet, fewer than 3), σL = 0",
        "z(95%) = 1.645 → SS = 0, ROP = d̄·L̄ + SS = 14, order up to 28",
    ]


def test_safety_stock_triggers_at_the_reorder_point_and_orders_up_to(world):  # noqa: F811
    product = steady_seller(world, units=2, days=120)
    world.stock(product, 1)  # leaves 5001 − 240 = 4761: adjust down to 10 below
    from inventory import ledger

    ledger.adjust(product=product, location=world.bin, quantity=-4751, reason="test")
    line = line_of(run_plan(), product)
    assert line.available == 10 and line.reorder_point == 14
    assert line.suggested_qty == line.order_up_to - 10 == 18


def test_pack_size_and_minimum_order_round_the_suggestion(world):  # noqa: F811
    from inventory import ledger

    product = steady_seller(world, pack=12, minimum=30)
    ledger.adjust(product=product, location=world.bin, quantity=-4750, reason="test")
    line = line_of(run_plan(), product)
    # need 28 − 10 = 18 → minimum 30 → packs of 12 → 36
    assert line.suggested_qty == 36
    assert "minimum order 30" in line.rounding_note and "packs of 12" in line.rounding_note


def test_a_draft_po_for_the_need_means_no_second_suggestion(world):  # noqa: F811
    from inventory import ledger

    product = steady_seller(world)
    ledger.adjust(product=product, location=world.bin, quantity=-4750, reason="test")
    first = line_of(run_plan(), product)
    assert first.suggested_qty == 18
    world.purchase(product, first.suggested_qty, send=False)  # a draft, as the page makes
    second = line_of(run_plan(), product)
    assert second.incoming == 18 and second.incoming_draft == 18
    assert second.suggested_qty == 0
    assert any("18 on draft orders" in sentence for sentence in explain(second))


def test_jit_orders_exactly_the_shortfall_rounded(world):  # noqa: F811
    product = world.product("JIT-1", pack=5)
    world.stock(product, 3)
    world.sell(product, 10, world.today)  # 3 allocated, 7 backordered
    Policy.objects.create(product=product, warehouse=world.warehouse, kind=Policy.Kind.JIT)
    line = line_of(run_plan(), product)
    assert (line.available, line.incoming, line.open_demand) == (0, 0, 7)
    assert line.safety_stock == 0
    assert line.suggested_qty == 10  # shortfall 7 → packs of 5


def test_jit_with_a_late_supplier_is_flagged(world):  # noqa: F811
    product = world.product("JIT-2")
    world.receipt_history(product, [5, 6, 14], late_days=3)
    Policy.objects.create(product=product, warehouse=world.warehouse, kind=Policy.Kind.JIT)
    line = line_of(run_plan(), product)
    assert line.lead_time_receipts == 3 and not line.lead_time_stated
    assert line.jit_risky
    assert "ACME" in line.warning and "late" in line.warning


def test_min_max_orders_up_to_max_at_or_below_min(world):  # noqa: F811
    product = world.product("MM-1")
    world.stock(product, 4)
    policy = Policy.objects.create(
        product=product, warehouse=world.warehouse, kind=Policy.Kind.MIN_MAX, minimum=5, maximum=20
    )
    assert line_of(run_plan(), product).suggested_qty == 16
    policy.minimum = 3
    policy.save()
    assert line_of(run_plan(), product).suggested_qty == 0


def test_dropship_products_are_never_suggested(world):  # noqa: F811
    product = world.product("SOFA", dropship=True)
    world.supplier.dropships = True
    world.supplier.save()
    for ago in range(1, 60):
        world.sell(product, 3, world.today - timedelta(days=ago))
    line = line_of(run_plan(), product)
    assert line.policy == Policy.Kind.DROPSHIP
    assert line.forecast_daily > 0  # demand is still recorded
    assert line.suggested_qty == 0


def test_a_new_product_gets_a_manual_buffer(world):  # noqa: F811
    product = world.product("NEW-1")
    for ago in range(1, 10):
        world.sell(product, 1, world.today - timedelta(days=ago))
    line = line_of(run_plan(), product)
    assert line.policy == Policy.Kind.MANUAL and line.policy_is_default
    assert line.history_days == 9 and line.safety_stock == 0
    assert "less than 30 days of history" in line.warning


def test_a_failed_run_keeps_the_previous_plan(world):  # noqa: F811
    product = steady_seller(world, days=40)
    good = run_plan()
    with mock.patch.object(plan.forecasting, "fit", side_effect=RuntimeError("boom")):
        failed = run_plan()
    assert failed.status == PlanRun.Status.FAILED and "boom" in failed.message
    assert not PlanLine.objects.filter(run=failed).exists()
    assert PlanLine.objects.filter(run=good, product=product).exists()
    third = run_plan()
    assert not PlanLine.objects.filter(run=good).exists()  # replaced once a run succeeds
    assert PlanRun.objects.filter(pk=good.pk).exists()
    assert PlanLine.objects.filter(run=third, product=product).exists()


def test_a_slow_run_finishing_last_does_not_erase_a_newer_plan(world):  # noqa: F811
    product = world.product("RACE-1")
    world.stock(product, 2)
    slow = PlanRun.objects.create(as_of=world.today)  # started first, still running
    newer = run_plan()
    plan._finish(slow, None)
    assert PlanLine.objects.filter(run=newer, product=product).exists()
    latest = PlanRun.objects.filter(status=PlanRun.Status.DONE).latest("id")
    assert latest == newer


def test_the_run_refreshes_the_planner_statistics_of_its_lines(world):  # noqa: F811
    """Every line of a finished run is new: the run ends with ANALYZE of the lines' table,
    so the pages filtering the new run's lines do not plan from statistics of none."""
    steady_seller(world)
    with CaptureQueriesContext(connection) as queries:
        run = run_plan()
    assert run.status == PlanRun.Status.DONE
    table = connection.ops.quote_name(PlanLine._meta.db_table)
    assert f"ANALYZE {table}" in [query["sql"] for query in queries.captured_queries]
