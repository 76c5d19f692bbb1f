"""Demand history rules and lead-time statistics."""

from datetime import timedelta

import numpy as np
import pytest

from inventory import ledger
from orders.models import Channel, ChannelWarehouse
from orders.sales import services as sales
from planning import history, leadtimes
from planning.models import ImportedDemand
from planning.tests.world import world  # noqa: F401 — the fixture
from warehouses.models import Location, Warehouse

pytestmark = pytest.mark.django_db


def daily_of(world, product, warehouse=None, days=30):  # noqa: F811
    demand = history.load(world.today, days=days)
    key = history.key_of([product.pk], [(warehouse or world.warehouse).pk])
    row = demand.rows(key)[0]
    assert row >= 0, "no history row"
    return demand, row


def test_cancelled_orders_are_left_out_and_backorders_count(world):  # noqa: F811
    product = world.product("H-1")
    world.stock(product, 2, world.today - timedelta(days=10))
    backordered = world.sell(product, 5, world.today - timedelta(days=3))  # 2 allocated, 3 wait
    assert backordered.lines.get().quantity_backordered == 3
    cancelled = world.sell(product, 4, world.today - timedelta(days=2))
    sales.cancel_order(order=cancelled)
    demand, row = daily_of(world, product)
    assert demand.daily[row, -3] == 5  # the whole ordered quantity, backorder included
    assert demand.daily[row, -2] == 0  # cancelled: no demand
    assert demand.history_days[row] == 3


def test_imported_returns_reduce_the_day_and_clip_at_zero(world):  # noqa: F811
    product = world.product("H-2")
    day1, day2 = world.today - timedelta(days=5), world.today - timedelta(days=4)
    world.sell(product, 4, day1)
    ImportedDemand.objects.bulk_create(
        [
            ImportedDemand(product=product, warehouse=world.warehouse, day=day1, quantity=-1),
            ImportedDemand(product=product, warehouse=world.warehouse, day=day2, quantity=-6),
        ]
    )
    demand, row = daily_of(world, product)
    assert demand.daily[row, -5] == 3  # 4 ordered − 1 returned
    assert demand.daily[row, -4] == 0  # a day of only returns is 0, not −6
    assert demand.weekly[row, -1] == 3


def test_a_line_counts_where_it_was_allocated_else_the_channels_first_warehouse(world):  # noqa: F811
    second = Warehouse.objects.create(code="WH2", name="Second")
    bin2 = Location.objects.create(warehouse=second, code="B1", barcode="WH2-B1")
    shop2 = Channel.objects.create(code="SHOP2", name="Shop two")
    ChannelWarehouse.objects.create(channel=shop2, warehouse=second, priority=1)
    ChannelWarehouse.objects.create(channel=shop2, warehouse=world.warehouse, priority=2)
    waiting, held = world.product("H-3"), world.product("H-3B")
    day = world.today - timedelta(days=2)
    world.sell(waiting, 2, day, channel=shop2)  # no stock anywhere: the first warehouse
    world.stock(held, 5)  # in WH1 only: the order of shop2 is allocated there
    world.sell(held, 3, day, channel=shop2)
    demand = history.load(world.today, days=10)
    rows = demand.rows(
        history.key_of(
            [waiting.pk, waiting.pk, held.pk, held.pk],
            [second.pk, world.warehouse.pk, second.pk, world.warehouse.pk],
        )
    )
    assert rows[1] == rows[2] == -1  # nothing counted there
    assert demand.daily[rows[0], -2] == 2
    assert demand.daily[rows[3], -2] == 3
    assert bin2.warehouse == second


def test_stockout_days_are_left_out_of_the_spread(world):  # noqa: F811
    product = world.product("H-4")
    start = world.today - timedelta(days=20)
    world.stock(product, 100, start - timedelta(days=1))
    pattern = [4, 6] * 10
    ImportedDemand.objects.bulk_create(
        ImportedDemand(
            product=product,
            warehouse=world.warehouse,
            day=world.today - timedelta(days=ago),
            quantity=units,
        )
        for ago, units in zip(range(20, 0, -1), pattern, strict=True)
    )
    # Days 10..6 before today: nothing on hand (out at noon on day 10, back on day 5).
    ledger.adjust(
        product=product, location=world.bin, quantity=-100, reason="lost", at=noon_of(world, 10)
    )
    world.stock(product, 50, world.today - timedelta(days=5))
    demand, row = daily_of(world, product, days=20)
    assert demand.stockout[row].tolist() == [False] * 10 + [True] * 5 + [False] * 5
    sd, left_out = history.sd_daily(demand, np.array([20]))
    kept = [units for index, units in enumerate(pattern) if not 10 <= index < 15]
    assert left_out[row] == 5
    assert sd[row] == pytest.approx(np.std(kept, ddof=1))


def noon_of(world, ago: int):  # noqa: F811
    from planning.tests.world import noon

    return noon(world.today - timedelta(days=ago))


def test_lead_time_is_measured_from_three_receipts_on(world):  # noqa: F811
    product = world.product("LT-1", lead=9)
    world.receipt_history(product, [4, 8])
    offer, stated = leadtimes.offers()[product.pk]
    two = leadtimes.lead_time(offer, stated, leadtimes.measured())
    assert (two.mean, two.sd, two.receipts, two.stated) == (9.0, 0.0, 2, True)
    world.receipt_history(product, [12], late_days=2)
    three = leadtimes.lead_time(offer, stated, leadtimes.measured())
    assert three.stated is False and three.receipts == 3
    assert three.mean == pytest.approx(8.0)
    assert three.sd == pytest.approx(4.0)  # sample SD of 4, 8, 12
    assert three.late_share == pytest.approx(1 / 3)


def test_the_stated_lead_time_falls_back_to_the_suppliers_default(world):  # noqa: F811
    product = world.product("LT-2", lead=None)
    offer, stated = leadtimes.offers()[product.pk]
    assert offer.product_id == product.pk
    assert stated == world.supplier.default_lead_time_days == 10
