"""Valuation as purchase orders are received: FIFO beside moving average after each receipt."""

from datetime import date, timedelta
from decimal import Decimal

from inventory import ledger, valuation
from orders.models import Supplier, SupplierProduct
from orders.purchasing import receiving
from orders.purchasing import services as purchasing

D = Decimal


# --- purchase orders received in two deliveries, then a dearer order ------------------


def test_valuation_before_and_after_each_po_receipt(product, locations, buyer, clerk):
    supplier = Supplier.objects.create(code="ACME", name="Acme", email="orders@acme.example")
    SupplierProduct.objects.create(
        supplier=supplier, product=product, unit_cost=D("2.50"), preferred=True
    )
    dock = locations["receiving"]
    today = date.today()

    def order(quantity, unit_cost):
        po = purchasing.create_order(supplier=supplier, warehouse=dock.warehouse, user=buyer)
        line = purchasing.set_line(
            order=po, product=product, quantity=quantity, unit_cost=unit_cost, user=buyer
        )
        purchasing.send_order(order=po, user=buyer)
        return line

    def now():
        (row,) = valuation.inventory_value(as_of=today + timedelta(days=1)).rows
        return row.quantity, valuation.cents(row.fifo_value), valuation.cents(row.average_value)

    first = order(10, D("2.50"))
    assert valuation.inventory_value(as_of=today + timedelta(days=1)).rows == []
    receiving.receive_line(line=first, quantity=4, location=dock, user=clerk)
    assert now() == (4, D("10.00"), D("10.00"))
    receiving.receive_line(line=first, quantity=6, location=dock, user=clerk)
    assert now() == (10, D("25.00"), D("25.00"))
    assert valuation.inventory_value(as_of=today - timedelta(days=1)).rows == []
    ledger.ship(product=product, location=dock, quantity=5)
    assert now() == (5, D("12.50"), D("12.50"))
    second = order(10, D("3.10"))
    receiving.receive_line(line=second, quantity=10, location=dock, user=clerk)
    # FIFO 5 @ 2.50 + 10 @ 3.10 = 43.50; average (12.50 + 31.00) / 15 = 2.90.
    assert now() == (15, D("43.50"), D("43.50"))
    ledger.ship(product=product, location=dock, quantity=5)
    # FIFO sells the last 2.50s; the average sells at 2.90.
    assert now() == (10, D("31.00"), D("29.00"))
    cogs = valuation.cost_of_goods_sold(date_from=today, date_to=today + timedelta(days=1))
    assert (cogs.fifo_cogs, cogs.average_cogs) == (D("25"), D("27"))
    assert cogs.difference == D("2")
