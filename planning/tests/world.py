"""A small shop for the plan's tests: one warehouse, a channel, a supplier, helpers.

Test modules import the ``world`` fixture from here (``from planning.tests.world import
world``); data is made through the real services (sales orders, ledger, purchasing),
only dates are moved into the past.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory import ledger
from inventory.models import Product
from orders.models import (
    Channel,
    ChannelWarehouse,
    PurchaseOrder,
    ReceiptLine,
    SalesOrder,
    Supplier,
    SupplierProduct,
)
from orders.purchasing import receiving
from orders.purchasing import services as purchasing
from orders.sales import services as sales
from warehouses.models import Location, Warehouse


def noon(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(12)))


@dataclass
class World:
    warehouse: Warehouse
    bin: Location
    channel: Channel
    supplier: Supplier
    today: date
    counter: int = 0

    def product(self, sku: str, *, pack=1, minimum=1, lead=7, dropship=False, cost="2.00"):
        product = Product.objects.create(
            sku=sku,
            name=f"Product {sku}",
            sell_price=Decimal("9.99"),
            fulfilment="dropship" if dropship else "stocked",
        )
        SupplierProduct.objects.create(
            supplier=self.supplier,
            product=product,
            unit_cost=Decimal(cost),
            pack_size=pack,
            minimum_order_quantity=minimum,
            lead_time_days=lead,
            preferred=True,
        )
        return product

    def stock(self, product, quantity: int, day: date | None = None, location=None):
        ledger.receive(
            product=product,
            location=location or self.bin,
            quantity=quantity,
            unit_cost=Decimal("2.00"),
            at=noon(day) if day else None,
        )

    def sell(self, product, quantity: int, day: date, channel=None) -> SalesOrder:
        """Place an order through the sales service, then date it ``day`` (noon)."""
        self.counter += 1
        order, _ = sales.create_order(
            channel=channel or self.channel,
            external_ref=f"T-{self.counter}",
            customer_name="Test customer",
            shipping_address="1 Test street",
            lines=[{"sku": product.sku, "quantity": quantity, "unit_price": "9.99"}],
        )
        SalesOrder.objects.filter(pk=order.pk).update(created_at=noon(day))
        order.refresh_from_db()
        return order

    def purchase(self, product, quantity: int, *, send=True, user=None) -> PurchaseOrder:
        order = purchasing.create_order(supplier=self.supplier, warehouse=self.warehouse)
        purchasing.set_line(order=order, product=product, quantity=quantity)
        if send:
            purchasing.mark_sent(order=order, user=user)
        return order

    def receipt_history(self, product, lead_days: list[int], *, late_days=0):
        """Receive one sent order per lead time, ordered that many days before today."""
        for lead in lead_days:
            order = self.purchase(product, 1)
            line = order.lines.get()
            receipt = receiving.receive_line(line=line, quantity=1, location=self.bin)
            ordered = self.today - timedelta(days=lead)
            ReceiptLine.objects.filter(pk=receipt.pk).update(
                ordered_on=ordered,
                received_on=self.today,
                expected_on=self.today - timedelta(days=late_days),
                lead_time_days=lead,
            )


@pytest.fixture
def world(db):
    warehouse = Warehouse.objects.create(code="WH1", name="Main warehouse")
    bin_ = Location.objects.create(warehouse=warehouse, code="A1", barcode="WH1-A1")
    channel = Channel.objects.create(code="SHOP", name="Web shop")
    ChannelWarehouse.objects.create(channel=channel, warehouse=warehouse, priority=1)
    supplier = Supplier.objects.create(code="ACME", name="Acme", default_lead_time_days=10)
    return World(warehouse, bin_, channel, supplier, timezone.localdate())
