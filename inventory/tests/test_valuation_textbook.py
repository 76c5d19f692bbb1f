"""Known answers: published worked examples of perpetual FIFO and moving-average costing.

Each example is posted through the ledger with the dates of the source, then the
valuation module's figures are compared, to the cent, with the published ones.

1. Fontana Co. — Weygandt, Kimmel, Kieso, *Accounting Principles*, problem "Determine
   the ending inventory under a perpetual inventory system using (1) FIFO, (2)
   moving-average cost". Problem and worked perpetual records:
   https://transtutors.com/questions/determine-the-ending-inventory-under-a-perpetual-inventory-system-using-1-fifo-2-mov-578216.htm
   (problem also at https://tutorsglobe.com/question/determine-the-ending-inventory-under-a-perpetual-inventory-5794291.aspx).
   July 1 buy 5 @ $120; July 6 sell 4; July 11 buy 7 @ $136; July 14 sell 3;
   July 21 buy 8 @ $147; July 27 sell 6.
   Published: FIFO sales cost $480, $120 + $272, $680 + $147; ending inventory
   7 @ $147 = $1,029. Moving average: $134 after July 11 (8 units, $1,072), sale
   3 @ $134 = $402, $142 after July 21 (13 units, $1,846), sale 6 @ $142 = $852;
   ending inventory 7 @ $142 = $994. So COGS: FIFO $1,699, moving average $1,734.

2. Odoo documentation, "Inventory valuation configuration" (costing methods, AVCO and
   FIFO tabs):
   https://www.odoo.com/documentation/17.0/applications/inventory_and_mrp/inventory/product_management/inventory_valuation/inventory_valuation_config.html
   (source: odoo/documentation, content/applications/inventory_and_mrp/inventory/
   product_management/inventory_valuation/inventory_valuation_config.rst), and "Average
   price on returned goods" (…/finance/accounting/get_started/avg_price_valuation.rst).
   Receive 8 @ $10, receive 4 @ $16, deliver 10, receive 2 @ $6.
   Published AVCO: $80, $144 (avg $12), −10 × $12 → $24, then $36 (avg $9).
   Published FIFO: $80, $144, −8 × $10 − 2 × $16 = −$112 → $32, then $44 ($11 a unit).

3. Speed World Cycles — Williams, Haka, Bettner, Carcello, *Financial & Managerial
   Accounting*, problem P8-3A (Kazomma 900 dirt bikes), perpetual version:
   https://www.expertsmind.com/library/speed-world-cycles-sells-high-performance-motorcycles-and-5572788.aspx
   July 1 buy 2 @ $4,950; July 22 buy 3 @ $5,000; July 28 sell 4; Aug 3 buy 3 @ $5,100;
   year end September 30. Published FIFO (same in its periodic version,
   https://smartsolve.ai/question/speed-world-cycles-sells-high-performance-motorcycles-and-motocross-racers-one-of-speed-worlds-most-popular-mo-5e6bb765a0):
   COGS $19,900 (2 × $4,950 + 2 × $5,000), ending inventory $20,300. The published
   average figure there ($5,025 a unit, COGS $20,100) is the *periodic* average; the
   perpetual moving average sells at (9,900 + 15,000) / 5 = $4,980: COGS $19,920,
   ending inventory 4,980 + 15,300 = $20,280. Both are checked, to show the
   difference between the two averages.

Prices rise in all three, so FIFO's cost of goods sold is lower and its margin
higher than the moving average's: the report shows that difference.
"""

from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.urls import reverse

from inventory import ledger, valuation
from inventory.models import CostLayer, Product


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZoneInfo(settings.TIME_ZONE))


def post(product, location, events, year):
    """Post ``(month, day, "buy"|"sell", quantity, unit_cost)`` events through the ledger."""
    for month, day, kind, quantity, cost in events:
        when = at(date(year, month, day))
        if kind == "buy":
            ledger.receive(
                product=product, location=location, quantity=quantity, unit_cost=cost, at=when
            )
        else:
            ledger.ship(product=product, location=location, quantity=quantity, at=when)


def money(value) -> Decimal:
    return valuation.cents(value)


def only_row(result):
    (row,) = result.rows
    return row


@pytest.fixture
def fontana(locations):
    product = Product.objects.create(sku="FONTANA", name="Fontana item", sell_price=200)
    post(
        product,
        locations["bin1"],
        [
            (7, 1, "buy", 5, 120),
            (7, 6, "sell", 4, None),
            (7, 11, "buy", 7, 136),
            (7, 14, "sell", 3, None),
            (7, 21, "buy", 8, 147),
            (7, 27, "sell", 6, None),
        ],
        2025,
    )
    return product


def test_fontana_ending_inventory_fifo_and_moving_average(fontana):
    row = only_row(valuation.inventory_value(as_of=date(2025, 7, 31)))
    assert row.quantity == 7
    assert money(row.fifo_value) == Decimal("1029.00")
    assert money(row.average_value) == Decimal("994.00")
    assert row.average_unit_cost == Decimal("142")


def test_fontana_balances_after_each_published_step(fontana):
    steps = {
        date(2025, 7, 6): (1, "120.00", "120.00"),
        date(2025, 7, 11): (8, "1072.00", "1072.00"),
        date(2025, 7, 14): (5, "680.00", "670.00"),
        date(2025, 7, 21): (13, "1856.00", "1846.00"),
    }
    for day, (quantity, fifo, average) in steps.items():
        row = only_row(valuation.inventory_value(as_of=day))
        assert (row.quantity, money(row.fifo_value), money(row.average_value)) == (
            quantity,
            Decimal(fifo),
            Decimal(average),
        ), day


def test_fontana_cogs_and_the_fifo_margin_exceeds_the_average_margin(fontana):
    cogs = valuation.cost_of_goods_sold(
        date_from=date(2025, 7, 1), date_to=date(2025, 7, 31), with_shipments=True
    )
    (row,) = cogs.rows
    assert row.quantity == 13
    assert money(row.fifo_cogs) == Decimal("1699.00")
    assert money(row.average_cogs) == Decimal("1734.00")
    assert money(row.revenue) == Decimal("2600.00")  # 13 × $200 (price not in the source)
    assert money(row.fifo_margin) == Decimal("901.00")
    assert money(row.average_margin) == Decimal("866.00")
    assert money(cogs.difference) == Decimal("35.00")
    per_sale = [(s.quantity, money(s.fifo_cost), money(s.average_cost)) for s in cogs.shipments]
    assert per_sale == [
        (4, Decimal("480.00"), Decimal("480.00")),
        (3, Decimal("392.00"), Decimal("402.00")),
        (6, Decimal("827.00"), Decimal("852.00")),
    ]


def test_fontana_report_page_shows_fifo_profit_above_average_profit(client, manager, fontana):
    client.force_login(manager)
    response = client.get(
        reverse("valuation_report"),
        {"as_of": "2025-07-31", "date_from": "2025-07-01", "date_to": "2025-07-31"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    for figure in ("1,029.00", "994.00", "1,699.00", "1,734.00", "901.00", "866.00", "35.00"):
        assert figure in page, figure
    assert "FIFO profit is higher" in page


def test_odoo_fifo_and_avco_tables(locations):
    product = Product.objects.create(sku="TABLE", name="Table", sell_price=20)
    location = locations["bin1"]
    post(product, location, [(3, 1, "buy", 8, 10), (3, 2, "buy", 4, 16)], 2025)
    row = only_row(valuation.inventory_value(as_of=date(2025, 3, 2)))
    assert (row.quantity, money(row.fifo_value), money(row.average_value)) == (
        12,
        Decimal("144.00"),
        Decimal("144.00"),
    )
    assert row.average_unit_cost == Decimal("12")
    post(product, location, [(3, 3, "sell", 10, None)], 2025)
    row = only_row(valuation.inventory_value(as_of=date(2025, 3, 3)))
    assert (row.quantity, money(row.fifo_value), money(row.average_value)) == (
        2,
        Decimal("32.00"),
        Decimal("24.00"),
    )
    post(product, location, [(3, 4, "buy", 2, 6)], 2025)
    row = only_row(valuation.inventory_value(as_of=date(2025, 3, 4)))
    assert (row.quantity, money(row.fifo_value), money(row.average_value)) == (
        4,
        Decimal("44.00"),
        Decimal("36.00"),
    )
    assert row.fifo_unit_cost == Decimal("11")
    assert row.average_unit_cost == Decimal("9")
    cogs = valuation.cost_of_goods_sold(date_from=date(2025, 3, 1), date_to=date(2025, 3, 31))
    assert (money(cogs.fifo_cogs), money(cogs.average_cogs)) == (
        Decimal("112.00"),
        Decimal("120.00"),
    )
    # The ledger's own layers agree with the FIFO value as of today.
    layers = CostLayer.objects.filter(product=product, remaining__gt=0)
    assert sum(layer.remaining * layer.unit_cost for layer in layers) == row.fifo_value


def test_speed_world_cycles_fifo_and_moving_average(locations):
    product = Product.objects.create(sku="KAZOMMA-900", name="Kazomma 900", sell_price=7000)
    post(
        product,
        locations["bin1"],
        [
            (7, 1, "buy", 2, 4950),
            (7, 22, "buy", 3, 5000),
            (7, 28, "sell", 4, None),
            (8, 3, "buy", 3, 5100),
        ],
        2025,
    )
    row = only_row(valuation.inventory_value(as_of=date(2025, 9, 30)))
    assert row.quantity == 4
    assert money(row.fifo_value) == Decimal("20300.00")
    assert money(row.average_value) == Decimal("20280.00")
    cogs = valuation.cost_of_goods_sold(date_from=date(2024, 10, 1), date_to=date(2025, 9, 30))
    assert money(cogs.fifo_cogs) == Decimal("19900.00")
    assert money(cogs.average_cogs) == Decimal("19920.00")
    assert money(cogs.average_cogs) != Decimal("20100.00")  # the periodic average
    assert money(cogs.fifo_margin - cogs.average_margin) == Decimal("20.00")
