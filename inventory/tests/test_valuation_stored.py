"""The valuation read from the positions the ledger stores equals a replay of the ledger.

Random ledgers (hypothesis): receipts, shipments, found and lost units and transfers
of three products over a few weeks, some posted with an earlier time than moves
already in the ledger. For several as-of dates and periods, ``report`` (stored
positions, replay only for backdated products) must give exactly what a replay of
every product gives.
"""

import contextlib
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory import errors, ledger, valuation
from inventory.integrity import find_differences
from inventory.models import Product, StockMove
from inventory.valuation.replay import Period, replay
from warehouses.models import Location, Warehouse

START = date(2025, 3, 1)
COSTS = ["0.5", "1.25", "2", "3.333333", "7.1"]

steps = st.lists(
    st.tuples(
        st.sampled_from(["receive", "ship", "lose", "find", "transfer"]),
        st.integers(0, 2),  # product
        st.integers(1, 9),  # quantity
        st.sampled_from(COSTS),
        st.integers(0, 30),  # day
        st.booleans(),  # second warehouse
    ),
    min_size=1,
    max_size=40,
)


def _at(day: int, step: int) -> datetime:
    moment = time(8 + step % 10, step % 60)
    return datetime.combine(
        START + timedelta(days=day), moment, ZoneInfo(django_settings.TIME_ZONE)
    )


def _post(kind, product, quantity, cost, at, place, other):
    if kind == "receive":
        ledger.receive(product=product, location=place, quantity=quantity, unit_cost=cost, at=at)
    elif kind == "ship":
        ledger.ship(product=product, location=place, quantity=quantity, at=at)
    elif kind == "lose":
        ledger.adjust(product=product, location=place, quantity=-quantity, reason="lost", at=at)
    elif kind == "find":
        ledger.adjust(product=product, location=place, quantity=quantity, reason="found", at=at)
    else:
        ledger.transfer(
            product=product, from_location=place, to_location=other, quantity=quantity, at=at
        )


def _build(plan, ordered: bool):
    warehouses = [Warehouse.objects.create(code=f"W{i}", name=f"W{i}") for i in (1, 2)]
    places = [
        Location.objects.create(warehouse=w, code="B", barcode=f"{w.code}-B") for w in warehouses
    ]
    products = [Product.objects.create(sku=f"V-{i}", name=f"V {i}") for i in range(3)]
    if ordered:
        plan = sorted(plan, key=lambda step: step[4])
    for n, (kind, index, quantity, cost, day, second) in enumerate(plan):
        place, other = (places[1], places[0]) if second else (places[0], places[1])
        # Not enough stock: the step is refused and changes nothing.
        with contextlib.suppress(errors.LedgerError):
            _post(kind, products[index], quantity, Decimal(cost), _at(day, n), place, other)
    return warehouses


def _replayed(as_of: date, date_from: date, date_to: date, warehouse_id=None):
    """Every product replayed: the positions and the period, as the report had them before."""
    period = Period(
        valuation.start_of_day(date_from),
        valuation.end_of_day(date_to),
        warehouse_id,
        keep_shipments=True,
    )
    positions = replay(until=valuation.end_of_day(as_of), period=period)
    return positions, period


def _compare(as_of, date_from, date_to, warehouse_id=None):
    stock, cogs = valuation.report(
        as_of=as_of,
        date_from=date_from,
        date_to=date_to,
        warehouse=warehouse_id,
        with_shipments=True,
    )
    positions, period = _replayed(as_of, date_from, date_to, warehouse_id)
    if warehouse_id is None:
        expected = {
            pid: (p.quantity, p.fifo_value, p.average_cost)
            for pid, p in positions.items()
            if p.quantity or p.fifo_value
        }
        got = {
            row.product_id: (row.quantity, row.fifo_value, row.average_unit_cost)
            for row in stock.rows
        }
        assert got == expected
    assert {
        row.product_id: (row.quantity, row.fifo_cogs, row.average_cogs) for row in cogs.rows
    } == {pid: tuple(totals) for pid, totals in period.totals.items()}
    assert cogs.shipments == period.shipments


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=steps, ordered=st.booleans(), cut=st.integers(0, 32), span=st.integers(0, 20))
def test_stored_positions_give_the_replay(plan, ordered, cut, span):
    with transaction.atomic():
        warehouses = _build(plan, ordered)
        assert list(find_differences()) == []
        as_of = START + timedelta(days=cut)
        date_from = as_of - timedelta(days=span)
        _compare(as_of, date_from, as_of)  # the page's default: the period ends at as-of
        _compare(as_of, date_from, as_of + timedelta(days=3))
        _compare(as_of, date_from, as_of, warehouses[1].pk)
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_as_of_in_the_past_reads_the_last_position_before_it(locations, product):
    bin1 = locations["bin1"]
    tz = ZoneInfo(django_settings.TIME_ZONE)
    day = lambda d: datetime.combine(date(2025, 1, d), time(12), tz)  # noqa: E731
    ledger.receive(product=product, location=bin1, quantity=10, unit_cost=2, at=day(10))
    ledger.ship(product=product, location=bin1, quantity=4, at=day(15))
    ledger.receive(product=product, location=bin1, quantity=10, unit_cost=3, at=day(20))
    stored = list(
        StockMove.objects.order_by("id").values_list(
            "units_after", "value_after", "average_cost_after", "backdated"
        )
    )
    assert stored == [
        (10, Decimal("20"), Decimal("2"), False),
        (6, Decimal("12"), Decimal("2"), False),
        (16, Decimal("42"), Decimal("2.625"), False),
    ]
    (row,) = valuation.inventory_value(as_of=date(2025, 1, 16)).rows
    assert (row.quantity, row.fifo_value, row.average_unit_cost) == (
        6,
        Decimal("12"),
        Decimal("2"),
    )
    assert valuation.inventory_value(as_of=date(2025, 1, 9)).rows == []
    (row,) = valuation.inventory_value(as_of=date(2025, 1, 31)).rows
    assert (row.quantity, row.fifo_value, row.average_unit_cost) == (
        16,
        Decimal("42"),
        Decimal("2.625"),
    )


@pytest.mark.django_db
def test_a_backdated_move_is_flagged_and_the_report_still_equals_the_replay(locations, product):
    bin1 = locations["bin1"]
    tz = ZoneInfo(django_settings.TIME_ZONE)
    day = lambda d: datetime.combine(date(2025, 1, d), time(12), tz)  # noqa: E731
    ledger.receive(product=product, location=bin1, quantity=10, unit_cost=2, at=day(20))
    late = ledger.receive(product=product, location=bin1, quantity=10, unit_cost=4, at=day(5))
    assert late.backdated is True
    # As of the 10th only the backdated receipt counts: 10 at 4, not the stored 20 at 3.
    (row,) = valuation.inventory_value(as_of=date(2025, 1, 10)).rows
    assert (row.quantity, row.fifo_value, row.average_unit_cost) == (
        10,
        Decimal("40"),
        Decimal("4"),
    )
    _compare(date(2025, 1, 10), date(2025, 1, 1), date(2025, 1, 10))


@pytest.mark.django_db
def test_the_report_reads_a_fixed_number_of_queries(locations, django_assert_max_num_queries):
    bin1 = locations["bin1"]
    for i in range(30):
        product = Product.objects.create(sku=f"Q-{i}", name="Q")
        ledger.receive(product=product, location=bin1, quantity=5, unit_cost=1)
        ledger.ship(product=product, location=bin1, quantity=2)
    today = date.today()
    with django_assert_max_num_queries(4) as captured:
        stock, cogs = valuation.report(as_of=today, date_from=today.replace(day=1), date_to=today)
    assert len(stock.rows) == 30 and cogs.quantity == 60
    assert not any("inventory_costlayer" in q["sql"] for q in captured.captured_queries)
