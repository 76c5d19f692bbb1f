"""The advisor's rules, one test per rule and per documented conflict, on constructed plan
lines and histories (lots, receipts, dropship orders). Every case checks that the SQL
decision (``annotate_strategy``, which filters and counts) and the Python one (``recommend``,
which explains) agree."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory import ledger
from inventory.models import Lot, Product
from orders.models import PurchaseOrder, PurchaseOrderLine, Supplier, SupplierProduct
from planning import advisor_data
from planning.advisor import Advice, annotate_strategy, recommend, store_advice
from planning.models import PlanLine
from planning.tests.factories import plan_line, plan_run


@pytest.fixture
def shop(warehouse):
    acme = Supplier.objects.create(code="ACME", name="Acme", default_lead_time_days=7)
    drop = Supplier.objects.create(
        code="DROP", name="Drop Co", default_lead_time_days=3, dropships=True
    )
    return {"acme": acme, "drop": drop, "run": plan_run(), "warehouse": warehouse}


def line_for(shop, sku, *, price="10.00", cost="4.00", dropship_offer=False, product=None, **f):
    """A plan line for a new product ``sku`` offered by ACME (and DROP when asked)."""
    product = product or Product.objects.create(
        sku=sku, name=sku, sell_price=Decimal(price), **(f.pop("product_fields", {}))
    )
    offer = SupplierProduct.objects.create(
        supplier=shop["acme"], product=product, unit_cost=Decimal(cost), preferred=True
    )
    if dropship_offer:
        SupplierProduct.objects.create(
            supplier=shop["drop"], product=product, unit_cost=Decimal(cost)
        )
    return plan_line(shop["run"], product, shop["warehouse"], offer, **f)


def advise(line: PlanLine) -> Advice:
    """The Python advice for ``line``, after checking the SQL decision is the same."""
    sql = annotate_strategy(PlanLine.objects.filter(pk=line.pk)).get().advised
    loaded = PlanLine.objects.select_related("product", "warehouse", "supplier").get(pk=line.pk)
    advice = recommend(advisor_data.page_facts([loaded])[line.pk])
    assert advice.strategy == sql, f"SQL says {sql}, Python says {advice.strategy}"
    # The run's writer stores the same decision for the advisor's filters and counts.
    store_advice(line.run)
    assert PlanLine.objects.get(pk=line.pk).advice == sql
    return advice


def words(advice: Advice) -> str:
    return " ".join(advice.reasons + advice.warnings)


# --- one test per rule -------------------------------------------------------------------


def test_volatile_demand_gets_safety_stock(shop):
    advice = advise(line_for(shop, "ERR-1", pattern="erratic"))
    assert advice.strategy == "safety_stock"
    assert "Demand is erratic" in words(advice)
    assert advise(line_for(shop, "LMP-1", pattern="lumpy")).strategy == "safety_stock"


def test_steady_demand_with_a_reliable_supplier_gets_jit(shop):
    advice = advise(
        line_for(shop, "SMO-1", pattern="smooth", lead_time_days=7, sd_lead_time_days=1)
    )
    assert advice.strategy == "jit"
    assert "supplier ACME delivers reliably" in words(advice)
    assert advise(line_for(shop, "INT-1", pattern="intermittent")).strategy == "jit"


def test_an_unreliable_supplier_is_named_and_gets_no_jit(shop, settings):
    settings.STOCKROOM_JIT_MAX_LEAD_TIME_CV = 0.25
    settings.STOCKROOM_JIT_MAX_LATE_SHARE = 0.20
    spread = advise(line_for(shop, "SPR-1", lead_time_days=8, sd_lead_time_days=4))
    assert spread.strategy == "safety_stock"
    assert "supplier ACME is unreliable: its lead time varies (σL/L̄ = 0.50" in words(spread)
    late = advise(line_for(shop, "LAT-1", sd_lead_time_days=0, late_share=0.4))
    assert late.strategy == "safety_stock"
    assert "late on 40% of receipts" in words(late)
    # Just inside both limits: reliable.
    ok = advise(line_for(shop, "OK-1", lead_time_days=8, sd_lead_time_days=2, late_share=0.2))
    assert ok.strategy == "jit"


def test_a_new_product_gets_a_manual_buffer(shop):
    advice = advise(line_for(shop, "NEW-1", history_days=12))
    assert advice.strategy == "manual"
    assert "only 12 days of demand history" in words(advice)
    assert advise(line_for(shop, "OLD-1", history_days=30)).strategy == "jit"


def test_a_slow_mover_with_low_margin_becomes_a_dropship_candidate(shop):
    advice = advise(
        line_for(shop, "SLO-1", price="10", cost="8", forecast_daily=0.1, dropship_offer=True)
    )
    assert advice.strategy == "dropship"
    assert "its margin is low (20% of the sell price)" in words(advice)


def test_a_slow_mover_with_high_holding_cost_becomes_a_dropship_candidate(shop, settings):
    settings.STOCKROOM_HOLDING_COST_RATE = 0.25
    # Margin 6.00; 100 on hand at 0.1/day = 1000 days: 4 × 0.25 × 1000/365 = 2.74 < 3.00.
    kept = line_for(shop, "HLD-1", forecast_daily=0.1, on_hand=100, dropship_offer=True)
    assert advise(kept).strategy == "jit"
    # 200 on hand = 2000 days: 5.48 ≥ half the margin.
    advice = advise(line_for(shop, "HLD-2", forecast_daily=0.1, on_hand=200, dropship_offer=True))
    assert advice.strategy == "dropship"
    assert "holding a unit until it sells costs 5.48" in words(advice)


def test_a_slow_costly_mover_without_a_dropship_supplier_is_not_dropshipped(shop):
    line = line_for(shop, "SLO-2", price="10", cost="8", forecast_daily=0.1)
    assert advise(line).strategy == "jit"


def test_no_demand_at_all_gets_a_manual_buffer(shop):
    assert advise(line_for(shop, "NON-1", pattern="none", forecast_daily=0)).strategy == "manual"


def test_perishable_gets_fefo_and_a_cover_under_its_shelf_life(shop):
    product = Product.objects.create(
        sku="MLK-1", name="Milk", sell_price=Decimal("10"), tracking="lot_expiry"
    )
    today = timezone.localdate()
    Lot.objects.create(
        product=product, code="A", received_on=today, expires_on=today + timedelta(20)
    )
    Lot.objects.create(
        product=product, code="B", received_on=today, expires_on=today + timedelta(40)
    )
    # Order up to 71 at 4.2/day = 17 days of cover: under the 20-day shelf life.
    advice = advise(line_for(shop, "MLK-1", product=product))
    assert advice.fefo
    assert "pick FEFO" in words(advice)
    assert "shelf life of 20 days (now 17 days)" in words(advice)
    short = Product.objects.create(
        sku="MLK-2", name="Cream", sell_price=Decimal("10"), tracking="lot_expiry"
    )
    Lot.objects.create(
        product=short, code="C", received_on=today, expires_on=today + timedelta(10)
    )
    advice = advise(line_for(shop, "MLK-2", product=short))
    assert "now 17 days: order less, more often" in words(advice)


def receive(product, location, cost, quantity=10):
    ledger.receive(
        product=product, location=location, quantity=quantity, unit_cost=Decimal(cost), user=None
    )


def test_rising_purchase_prices_warn_that_fifo_profit_is_inflated(shop, locations):
    line = line_for(shop, "PRC-1", sd_lead_time_days=0)
    product, bin_ = line.product, locations["bin1"]
    for cost in ("2.00", "3.00", "4.00"):
        receive(product, bin_, cost)
    ledger.ship(product=product, location=bin_, quantity=10, user=None)
    advice = advise(line)
    # FIFO sold the 2.00 units; the average receipt cost is 3.00: 10 × (2 − 3) = −10.
    assert "FIFO profit reads inflated (prices are rising" in words(advice)
    assert "FIFO margin − average-cost margin = 10.00" in words(advice)
    assert advice.strategy == "jit"  # a warning, not a change of strategy


def test_steady_prices_give_no_fifo_warning(shop, locations):
    line = line_for(shop, "PRC-2")
    bin_ = locations["bin1"]
    for _ in range(3):
        receive(line.product, bin_, "2.00")
    assert "FIFO" not in words(advise(line))


def test_a_dropship_supplier_that_ships_short_leaves_little_control(shop):
    product = Product.objects.create(
        sku="DRP-1", name="Drop", sell_price=Decimal("10"), fulfilment="dropship"
    )
    SupplierProduct.objects.create(supplier=shop["drop"], product=product, unit_cost="4")
    order = PurchaseOrder.objects.create(
        supplier=shop["drop"],
        warehouse=shop["warehouse"],
        status=PurchaseOrder.Status.CLOSED,
        dropship=True,
        expected_on=date(2026, 1, 5),
    )
    PurchaseOrderLine.objects.create(
        order=order, product=product, quantity_ordered=10, quantity_received=8, unit_cost="4"
    )
    line = plan_line(shop["run"], product, shop["warehouse"], None, policy="dropship")
    advice = advise(line)
    assert advice.strategy == "dropship"
    assert "Dropship supplier DROP ships late (0%) or short (20% of units)" in words(advice)
    assert "little control" in words(advice)


# --- one test per documented conflict ------------------------------------------------------


def test_a_dropship_product_stays_dropship_even_when_new_and_volatile(shop):
    product = Product.objects.create(
        sku="DRP-2", name="Drop", sell_price=Decimal("10"), fulfilment="dropship"
    )
    line = plan_line(
        shop["run"], product, shop["warehouse"], None, history_days=5, pattern="lumpy"
    )
    advice = advise(line)
    assert advice.strategy == "dropship"
    assert "stays dropship" in words(advice)


def test_a_new_product_gets_manual_even_when_volatile(shop):
    assert advise(line_for(shop, "NEW-2", history_days=10, pattern="lumpy")).strategy == "manual"


def test_a_new_slow_product_is_manual_not_dropship(shop):
    line = line_for(
        shop,
        "NEW-3",
        history_days=10,
        price="10",
        cost="9",
        forecast_daily=0.05,
        dropship_offer=True,
    )
    assert advise(line).strategy == "manual"


def test_a_slow_costly_volatile_product_with_a_dropship_supplier_is_dropship(shop):
    line = line_for(
        shop,
        "SLO-3",
        pattern="lumpy",
        price="10",
        cost="9",
        forecast_daily=0.05,
        dropship_offer=True,
    )
    assert advise(line).strategy == "dropship"


def test_an_unreliable_supplier_vetoes_jit_for_steady_demand(shop):
    advice = advise(line_for(shop, "VET-1", pattern="smooth", late_share=0.5))
    assert advice.strategy == "safety_stock"
    assert "Not JIT" in words(advice) and "ACME" in words(advice)


def test_steady_demand_without_any_supplier_is_not_jit(shop):
    product = Product.objects.create(sku="NOS-1", name="x", sell_price=Decimal("10"))
    advice = advise(plan_line(shop["run"], product, shop["warehouse"], None))
    assert advice.strategy == "safety_stock"
    assert "no supplier offers it" in words(advice)


def test_perishable_adds_fefo_to_whatever_is_chosen(shop):
    product = Product.objects.create(
        sku="MLK-3", name="Milk", sell_price=Decimal("10"), tracking="lot_expiry"
    )
    advice = advise(line_for(shop, "MLK-3", product=product, pattern="lumpy"))
    assert advice.strategy == "safety_stock" and advice.fefo
    new = Product.objects.create(
        sku="MLK-4", name="Milk", sell_price=Decimal("10"), tracking="lot_expiry"
    )
    advice = advise(line_for(shop, "MLK-4", product=new, history_days=3))
    assert advice.strategy == "manual" and advice.fefo
    assert "no lot with an expiry received yet" in words(advice)


def test_a_dropship_supplier_that_ships_late_leaves_little_control(shop):
    product = Product.objects.create(
        sku="DRP-3", name="Drop", sell_price=Decimal("10"), fulfilment="dropship"
    )
    SupplierProduct.objects.create(supplier=shop["drop"], product=product, unit_cost="4")
    for day in (9, 4, 5):
        shipped = date(2026, 1, day)
        order = PurchaseOrder.objects.create(
            number=f"DS-{day}",
            supplier=shop["drop"],
            warehouse=shop["warehouse"],
            status=PurchaseOrder.Status.RECEIVED,
            dropship=True,
            expected_on=date(2026, 1, 5),
            shipped_at=timezone.make_aware(datetime.combine(shipped, time(12))),
        )
        PurchaseOrderLine.objects.create(
            order=order, product=product, quantity_ordered=2, quantity_received=2, unit_cost="4"
        )
    line = plan_line(shop["run"], product, shop["warehouse"], None, policy="dropship")
    # One of three shipped after the expected day: 33 % late, above the 20 % setting.
    assert "ships late (33%) or short (0% of units)" in words(advise(line))


def test_a_punctual_complete_dropship_supplier_gets_no_warning(shop):
    product = Product.objects.create(
        sku="DRP-4", name="Drop", sell_price=Decimal("10"), fulfilment="dropship"
    )
    SupplierProduct.objects.create(supplier=shop["drop"], product=product, unit_cost="4")
    line = plan_line(shop["run"], product, shop["warehouse"], None, policy="dropship")
    advice = advise(line)
    assert advice.strategy == "dropship" and advice.warnings == []
