"""Valuation from the ledger: as-of dates, warehouses, COGS, the prices hook, the command."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings

from inventory import ledger, valuation
from inventory.models import CostLayer, Product
from warehouses.models import Location, Warehouse

D = Decimal


def at(day: date, hour: int = 10, tz: str | None = None) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZoneInfo(tz or settings.TIME_ZONE))


@pytest.fixture
def second(db):
    warehouse = Warehouse.objects.create(code="WH2", name="Overflow")
    return Location.objects.create(warehouse=warehouse, code="B", barcode="WH2-B")


@pytest.fixture
def history(product, locations, second):
    """Mugs: 10 @ 2.00 (Jan 10), ship 4 (Jan 15), 10 @ 3.00 (Jan 20), 6 to WH2 (Jan 25)."""
    bin1 = locations["bin1"]
    ledger.receive(
        product=product, location=bin1, quantity=10, unit_cost=2, at=at(date(2025, 1, 10))
    )
    ledger.ship(product=product, location=bin1, quantity=4, at=at(date(2025, 1, 15)))
    ledger.receive(
        product=product, location=bin1, quantity=10, unit_cost=3, at=at(date(2025, 1, 20))
    )
    ledger.transfer(
        product=product,
        from_location=bin1,
        to_location=second,
        quantity=6,
        at=at(date(2025, 1, 25)),
    )
    return product


def values(result):
    return [
        (r.sku, r.quantity, valuation.cents(r.fifo_value), valuation.cents(r.average_value))
        for r in result.rows
    ]


def test_nothing_before_the_first_receipt(history):
    assert valuation.inventory_value(as_of=date(2025, 1, 9)).rows == []


def test_as_of_dates_between_receipts(history):
    assert values(valuation.inventory_value(as_of=date(2025, 1, 10))) == [
        ("MUG-001", 10, D("20.00"), D("20.00"))
    ]
    assert values(valuation.inventory_value(as_of=date(2025, 1, 15))) == [
        ("MUG-001", 6, D("12.00"), D("12.00"))
    ]
    # 6 @ 2.00 + 10 @ 3.00 = 42.00; average (12 + 30) / 16 = 2.625
    (row,) = valuation.inventory_value(as_of=date(2025, 1, 20)).rows
    assert (row.quantity, row.fifo_value, row.average_unit_cost) == (16, D("42"), D("2.625"))


def test_the_day_ends_in_the_configured_time_zone(product, locations):
    # 23:30 in Auckland on 1 March is still 1 March there, but 10:30 UTC.
    with override_settings(TIME_ZONE="Pacific/Auckland"):
        ledger.receive(
            product=product,
            location=locations["bin1"],
            quantity=1,
            unit_cost=5,
            at=at(date(2025, 3, 1), hour=23, tz="Pacific/Auckland"),
        )
        assert valuation.inventory_value(as_of=date(2025, 3, 1)).quantity == 1
        assert valuation.inventory_value(as_of=date(2025, 2, 28)).quantity == 0


def test_a_warehouse_gets_its_share_of_the_product_fifo_value(history, second):
    # 16 units, FIFO 42.00: WH1 holds 10, WH2 holds 6; shares by quantity.
    result = valuation.inventory_value(as_of=date(2025, 1, 31), by_warehouse=True)
    shares = {r.warehouse_id: (r.quantity, r.fifo_value, r.average_value) for r in result.rows}
    wh1 = Warehouse.objects.get(code="WH1").pk
    assert shares == {
        wh1: (10, D("26.25"), D("26.25")),
        second.warehouse_id: (6, D("15.75"), D("15.75")),
    }
    assert result.fifo_value == D("42")
    only = valuation.inventory_value(as_of=date(2025, 1, 31), warehouse=second.warehouse)
    assert values(only) == [("MUG-001", 6, D("15.75"), D("15.75"))]
    before_transfer = valuation.inventory_value(
        as_of=date(2025, 1, 24), warehouse=second.warehouse
    )
    assert before_transfer.rows == []


def test_fifo_value_today_matches_the_open_cost_layers(history, locations):
    ledger.adjust(product=history, location=locations["bin1"], quantity=-3, reason="Broken")
    ledger.adjust(product=history, location=locations["bin1"], quantity=2, reason="Found")
    (row,) = valuation.inventory_value(as_of=date.today() + timedelta(days=1)).rows
    layers = CostLayer.objects.filter(product=history, remaining__gt=0)
    assert row.quantity == sum(layer.remaining for layer in layers) == 15
    assert row.fifo_value == sum(layer.remaining * layer.unit_cost for layer in layers)


def test_average_unit_cost_keeps_six_decimals(product, locations):
    bin1 = locations["bin1"]
    ledger.receive(
        product=product, location=bin1, quantity=3, unit_cost=1, at=at(date(2025, 1, 1))
    )
    ledger.receive(
        product=product, location=bin1, quantity=3, unit_cost=D("1.01"), at=at(date(2025, 1, 2))
    )
    ledger.receive(
        product=product, location=bin1, quantity=1, unit_cost=D("1.01"), at=at(date(2025, 1, 3))
    )
    (row,) = valuation.inventory_value(as_of=date(2025, 1, 3)).rows
    assert row.average_unit_cost == D("1.005714")  # 7.04 / 7 = 1.0057142…, half-up at six places
    assert row.average_value == D("7.039998")
    assert valuation.cents(row.average_value) == D("7.04")


def test_cogs_period_takes_only_its_shipments(history, locations):
    ledger.ship(product=history, location=locations["bin1"], quantity=8, at=at(date(2025, 2, 3)))
    january = valuation.cost_of_goods_sold(date_from=date(2025, 1, 1), date_to=date(2025, 1, 31))
    (row,) = january.rows
    assert (row.quantity, row.fifo_cogs, row.average_cogs) == (4, D("8"), D("8"))
    assert row.revenue == D("39.60")  # 4 × 9.90
    february = valuation.cost_of_goods_sold(date_from=date(2025, 2, 1), date_to=date(2025, 2, 28))
    (row,) = february.rows
    # FIFO: 6 @ 2 + 2 @ 3 = 18; average 2.625 × 8 = 21
    assert (row.quantity, row.fifo_cogs, row.average_cogs) == (8, D("18"), D("21"))
    assert february.difference == D("3")
    assert february.shipments == []  # only kept when asked for
    (shipment,) = valuation.shipment_costs(date_from=date(2025, 2, 1), date_to=date(2025, 2, 28))
    assert (shipment.quantity, shipment.fifo_cost, shipment.average_unit_cost) == (
        8,
        D("18"),
        D("2.625"),
    )
    assert shipment.average_cost == D("21")
    assert shipment.created_at == at(date(2025, 2, 3))


def test_cogs_counts_shipments_not_losses(history, locations):
    ledger.adjust(
        product=history,
        location=locations["bin1"],
        quantity=-2,
        reason="Broken",
        at=at(date(2025, 1, 26)),
    )
    cogs = valuation.cost_of_goods_sold(date_from=date(2025, 1, 1), date_to=date(2025, 1, 31))
    assert cogs.quantity == 4


def test_cogs_by_warehouse(history, locations, second):
    ledger.ship(product=history, location=second, quantity=1, at=at(date(2025, 1, 27)))
    cogs = valuation.cost_of_goods_sold(
        date_from=date(2025, 1, 1), date_to=date(2025, 1, 31), warehouse=second.warehouse
    )
    assert cogs.quantity == 1
    shipments = valuation.shipment_costs(
        date_from=date(2025, 1, 1), date_to=date(2025, 1, 31), warehouse=second.warehouse
    )
    assert [s.warehouse_id for s in shipments] == [second.warehouse_id]


def test_a_prices_hook_sets_the_revenue_of_the_shipments_it_knows(history, locations):
    ledger.ship(product=history, location=locations["bin1"], quantity=2, at=at(date(2025, 1, 28)))
    seen = []

    def prices(shipments):
        seen.append([s.quantity for s in shipments])
        return {shipments[0].move_id: D("12.50")}

    cogs = valuation.cost_of_goods_sold(
        date_from=date(2025, 1, 1), date_to=date(2025, 1, 31), prices=prices
    )
    assert seen == [[4, 2]]
    assert cogs.revenue == 4 * D("12.50") + 2 * D("9.90")


def test_the_prices_hook_can_come_from_settings(history):
    with override_settings(STOCKROOM_SHIPMENT_PRICES=f"{__name__}.one_euro"):
        cogs = valuation.cost_of_goods_sold(date_from=date(2025, 1, 1), date_to=date(2025, 1, 31))
    assert cogs.revenue == D("4")


def one_euro(shipments):
    return {s.move_id: D("1") for s in shipments}


def test_one_pass_gives_both_parts(history, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        stock, cogs = valuation.report(
            as_of=date(2025, 1, 15), date_from=date(2025, 1, 1), date_to=date(2025, 1, 31)
        )
    assert stock.quantity == 6
    assert cogs.quantity == 4


# --- the command -----------------------------------------------------------------------


def run(*args) -> str:
    out = StringIO()
    call_command("valuation", *args, stdout=out)
    return out.getvalue()


def test_command_prints_fifo_csv_with_a_total(history, lot_product, locations):
    ledger.receive(
        product=lot_product,
        location=locations["bin2"],
        quantity=3,
        unit_cost=D("1.333333"),
        lot_code="L1",
        expires_on=date(2030, 1, 1),
        at=at(date(2025, 1, 5)),
    )
    assert run("--as-of", "2025-01-20", "--method", "fifo") == (
        "sku,quantity,value\nMUG-001,16,42.00\nTEA-100,3,4.00\nTOTAL,19,46.00\n"
    )


def test_command_average_and_warehouse(history, second):
    assert run("--as-of", "2025-01-31", "--method", "average", "--warehouse", "wh2") == (
        "sku,quantity,value\nMUG-001,6,15.75\nTOTAL,6,15.75\n"
    )


def test_command_on_an_empty_date_prints_a_zero_total(history):
    assert run("--as-of", "2024-12-31") == "sku,quantity,value\nTOTAL,0,0.00\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "31/01/2025"], "YYYY-MM-DD"),
        (["--as-of", "2025-02-30"], "not a date in the calendar"),
        (["--method", "lifo"], "fifo or average"),
        (["--warehouse", "NOPE"], "No warehouse has the code “NOPE”"),
    ],
)
def test_command_refuses_bad_arguments(history, args, message):
    with pytest.raises(CommandError) as caught:
        run(*args)
    assert message in str(caught.value)


def test_cents_round_half_up():
    assert valuation.cents(D("0.005")) == D("0.01")
    assert valuation.cents(D("2.344999")) == D("2.34")


def test_products_without_moves_are_left_out(history):
    Product.objects.create(sku="NEW-1", name="Never stocked")
    assert [r.sku for r in valuation.inventory_value(as_of=date(2025, 1, 31)).rows] == ["MUG-001"]
