"""Each order's lines' sums (orders migration 0011), kept by database triggers through
every write of a line: intake, shipping, dropship, cancelling, bulk and queryset writes,
deletes — and never written back by saving a loaded order."""

from decimal import Decimal

import pytest
from django.db.models import F, Sum

from orders.models import PurchaseOrder, SalesOrder, SalesOrderLine
from orders.models.sales import TOTALS
from orders.purchasing import services as purchasing
from orders.sales import dropship
from orders.sales import services as sales

pytestmark = pytest.mark.django_db


def from_lines(order: SalesOrder) -> dict:
    """The sums as the lines give them, read from the lines."""
    lines = SalesOrderLine.objects.filter(order=order)
    found = lines.aggregate(
        total_units=Sum("quantity", default=0),
        total_sales=Sum(F("quantity") * F("unit_price"), default=0),
        total_units_shipped=Sum("quantity_shipped", default=0),
        total_sales_shipped=Sum(F("quantity_shipped") * F("unit_price"), default=0),
        total_cost_of_goods=Sum("cost_of_goods", default=0),
    )
    return {name: Decimal(found[name]).quantize(Decimal("0.01")) for name in TOTALS}


def stored(order: SalesOrder) -> dict:
    row = SalesOrder.objects.values(*TOTALS).get(pk=order.pk)
    return {name: Decimal(row[name]).quantize(Decimal("0.01")) for name in TOTALS}


def test_intake_and_shipping_keep_the_sums(
    web_store, product, locations, stock_in, place_order, buyer
):
    stock_in(product, locations["bin1"], 5, unit_cost="2.50")
    order = place_order(web_store, ("MUG-001", 3, "9.90"), ("MUG-001", 4, "0.15"))
    assert stored(order) == {
        "total_units": 7,
        "total_sales": Decimal("30.30"),  # 3 × 9.90 + 4 × 0.15
        "total_units_shipped": 0,
        "total_sales_shipped": 0,
        "total_cost_of_goods": 0,
    }
    assert order.status == SalesOrder.Status.BACKORDERED  # 5 of 7 units reserved
    stock_in(product, locations["bin2"], 2, unit_cost="3.00")
    sales.allocate_order(order=order)
    sales.ship_order(order=order)
    assert stored(order) == from_lines(order)
    assert stored(order)["total_units_shipped"] == 7
    assert stored(order)["total_sales_shipped"] == Decimal("30.30")
    assert stored(order)["total_cost_of_goods"] == Decimal("18.50")  # 5 × 2.50 + 2 × 3.00


def test_dropship_shipment_and_cancel_keep_the_sums(
    web_store,
    product,
    locations,
    stock_in,
    dropship_product,
    dropship_supplier,
    place_order,
    buyer,
):
    stock_in(product, locations["bin1"], 2, unit_cost="3.00")
    order = place_order(web_store, ("MUG-001", 2), ("SOFA-9", 1, "499.00"))
    purchase = PurchaseOrder.objects.get()
    purchasing.send_order(order=purchase, user=buyer)
    dropship.confirm_shipment(purchase_order=purchase, tracking_number="TRK-1")
    assert stored(order) == from_lines(order)
    assert stored(order)["total_units_shipped"] == 1
    assert stored(order)["total_cost_of_goods"] == Decimal("120.00")
    assert stored(order)["total_sales"] == Decimal("518.80")

    other = place_order(web_store, ("MUG-001", 1, "5.00"))
    sales.cancel_order(order=other)
    assert stored(other) == from_lines(other)
    assert stored(other)["total_units"] == 1


def test_any_write_of_a_line_keeps_the_sums(web_store, product, place_order):
    order = place_order(web_store, ("MUG-001", 2, "1.10"))
    other = place_order(web_store, ("MUG-001", 1, "7.00"))
    # Lines written around the services (a bulk load, a data fix), one statement each.
    SalesOrderLine.objects.bulk_create(
        [
            SalesOrderLine(order=order, product=product, quantity=3, unit_price=Decimal("0.10")),
            SalesOrderLine(order=order, product=product, quantity=1, unit_price=Decimal("0.20")),
        ]
    )
    assert stored(order)["total_sales"] == Decimal("2.70")
    SalesOrderLine.objects.filter(order=order).update(unit_price=F("unit_price") + 1)
    assert stored(order) == from_lines(order)
    assert stored(order)["total_sales"] == Decimal("8.70")  # 2 × 2.10 + 3 × 1.10 + 1.20
    moved = SalesOrderLine.objects.filter(order=order, quantity=1).get()
    moved.order = other
    moved.save()
    assert (stored(order), stored(other)) == (from_lines(order), from_lines(other))
    assert stored(other)["total_units"] == 2
    SalesOrderLine.objects.filter(order=other).delete()
    assert stored(other)["total_units"] == 0 and stored(other)["total_sales"] == 0
    # A line update that changes none of the summed columns leaves the order alone.
    before = stored(order)
    SalesOrderLine.objects.filter(order=order).update(quantity_allocated=0)
    assert stored(order) == before


def test_a_thousand_small_prices_add_up_exactly(web_store, product, place_order):
    order = place_order(web_store, ("MUG-001", 1, "0.10"))
    SalesOrderLine.objects.bulk_create(
        SalesOrderLine(order=order, product=product, quantity=1, unit_price=Decimal("0.10"))
        for _ in range(999)
    )
    row = SalesOrder.objects.values("total_sales", "total_units").get(pk=order.pk)
    assert row == {"total_sales": Decimal("100.00"), "total_units": 1000}


def test_saving_a_loaded_order_does_not_write_back_its_sums(web_store, product, place_order):
    order = place_order(web_store, ("MUG-001", 2, "3.00"))
    loaded = SalesOrder.objects.get(pk=order.pk)
    SalesOrderLine.objects.filter(order=order).update(quantity=5)
    loaded.customer_name = "Grace Hopper"  # a manager's fix in the admin
    loaded.save()
    order.refresh_from_db()
    assert order.customer_name == "Grace Hopper"
    assert (order.total_units, order.total_sales) == (5, Decimal("15.00"))
