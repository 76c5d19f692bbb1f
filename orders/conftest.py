"""Purchasing fixtures: a supplier, what it sells, and orders built through the services.

- ``supplier``: ACME, emails orders@acme.example, 7 days lead time, 0 % over-receipt tolerance.
- ``supplier_product``: ACME sells ``product`` (MUG-001) as ACME-MUG at 2.50, packs of 1.
- ``lot_supplier_product``: ACME sells ``lot_product`` (TEA-100, lot + expiry) as ACME-TEA at 1.20.
- ``draft_order``: PO to ``warehouse`` (with ``locations``), expected in 7 days, lines
  10 × MUG-001 at 2.50 and 20 × TEA-100 at 1.20, created by ``buyer``.
- ``sent_order``: ``draft_order`` sent by ``buyer`` (its email queued: it goes after commit).
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from common.testing import refused_unchanged


@pytest.fixture
def supplier(db):
    from orders.models import Supplier

    return Supplier.objects.create(
        code="ACME", name="Acme Trading", email="orders@acme.example", default_lead_time_days=7
    )


@pytest.fixture
def supplier_product(supplier, product):
    from orders.models import SupplierProduct

    return SupplierProduct.objects.create(
        supplier=supplier,
        product=product,
        supplier_sku="ACME-MUG",
        unit_cost=Decimal("2.50"),
        preferred=True,
    )


@pytest.fixture
def lot_supplier_product(supplier, lot_product):
    from orders.models import SupplierProduct

    return SupplierProduct.objects.create(
        supplier=supplier,
        product=lot_product,
        supplier_sku="ACME-TEA",
        unit_cost=Decimal("1.20"),
        preferred=True,
    )


@pytest.fixture
def draft_order(supplier_product, lot_supplier_product, warehouse, locations, buyer):
    from orders.purchasing import services as purchasing

    order = purchasing.create_order(
        supplier=supplier_product.supplier,
        warehouse=warehouse,
        user=buyer,
        expected_on=timezone.localdate() + timedelta(days=7),
    )
    purchasing.set_line(order=order, product=supplier_product.product, quantity=10, user=buyer)
    purchasing.set_line(order=order, product=lot_supplier_product.product, quantity=20, user=buyer)
    return order


@pytest.fixture
def sent_order(draft_order, buyer):
    from orders.purchasing import services as purchasing

    return purchasing.send_order(order=draft_order, user=buyer)


SNAPSHOT_MODELS = (
    ("inventory", "StockLevel"),
    ("inventory", "StockMove"),
    ("inventory", "ReservationEntry"),
    ("inventory", "CostLayer"),
    ("inventory", "Lot"),
    ("orders", "PurchaseOrder"),
    ("orders", "PurchaseOrderLine"),
    ("orders", "PurchaseOrderEvent"),
    ("orders", "ReceiptLine"),
)


def snapshot() -> dict[str, list[tuple]]:
    """Return every row of the stock and purchasing tables as tuples, by primary key."""
    from django.apps import apps

    rows = {}
    for app_label, name in SNAPSHOT_MODELS:
        model = apps.get_model(app_label, name)
        fields = [field.attname for field in model._meta.concrete_fields]
        rows[name] = list(model.objects.order_by("pk").values_list(*fields))
    return rows


@pytest.fixture
def refused(mailoutbox):
    """``with refused(ErrorClass, "code", "fragment", …):`` — the call raises exactly that
    error with that code and a message naming each fragment, and changes no stock or
    purchasing row and sends no email."""

    def stock_purchasing_and_mail():
        return snapshot(), len(mailoutbox)

    def expect(error_class, code: str, *fragments: str):
        return refused_unchanged(stock_purchasing_and_mail, error_class, code, *fragments)

    return expect


# --- channels ------------------------------------------------------------------------
# - ``second_warehouse``: WH2 with one storage bin (``second_warehouse.bin``, WH2-B-01).
# - ``web_store``: channel WEB (web store) selling from WH1 (priority 1) then WH2, no buffer.
# - ``marketplace``: channel MKT (marketplace) selling from WH2 then WH1, buffer 2.
# - ``dropship_supplier``: supplier DROPCO (dropships) with ``dropship_product`` (SOFA-9)
#   as DC-SOFA at 120.00, preferred, reporting 7 units in stock.


@pytest.fixture
def second_warehouse(db):
    from warehouses.models import Location, Warehouse

    wh = Warehouse.objects.create(code="WH2", name="Overflow warehouse")
    zone = Location.objects.create(warehouse=wh, code="B", barcode="WH2-B")
    wh.bin = Location.objects.create(warehouse=wh, parent=zone, code="01", barcode="WH2-B-01")
    return wh


@pytest.fixture
def web_store(warehouse, locations, second_warehouse):
    from orders.models import Channel, ChannelWarehouse

    channel = Channel.objects.create(code="WEB", name="Web store", kind=Channel.Kind.WEB_STORE)
    ChannelWarehouse.objects.create(channel=channel, warehouse=warehouse, priority=1)
    ChannelWarehouse.objects.create(channel=channel, warehouse=second_warehouse, priority=2)
    return channel


@pytest.fixture
def marketplace(warehouse, locations, second_warehouse):
    from orders.models import Channel, ChannelWarehouse

    channel = Channel.objects.create(
        code="MKT", name="Marketplace", kind=Channel.Kind.MARKETPLACE, buffer=2
    )
    ChannelWarehouse.objects.create(channel=channel, warehouse=second_warehouse, priority=1)
    ChannelWarehouse.objects.create(channel=channel, warehouse=warehouse, priority=2)
    return channel


@pytest.fixture
def dropship_supplier(db, dropship_product):
    from orders.models import Supplier, SupplierProduct

    supplier = Supplier.objects.create(
        code="DROPCO", name="Drop Co", email="orders@dropco.example", dropships=True
    )
    SupplierProduct.objects.create(
        supplier=supplier,
        product=dropship_product,
        supplier_sku="DC-SOFA",
        unit_cost=Decimal("120.00"),
        preferred=True,
        supplier_stock=7,
    )
    return supplier


# --- sales (S) ---
# - ``stock_in(product, location, quantity, unit_cost="2.00", lot_code=None, expires_on=None,
#   received_on=None)``: receives through ``inventory.ledger.receive`` (a lot dated
#   ``received_on`` when given) and returns the move.
# - ``place_order(channel, *lines, ref=None, **fields)``: ``sales.create_order`` with a
#   customer filled in; each line is ``(sku, quantity)`` or ``(sku, quantity, price)``.


@pytest.fixture
def stock_in(db):
    from inventory import ledger

    def receive(
        product,
        location,
        quantity,
        unit_cost="2.00",
        lot_code=None,
        expires_on=None,
        received_on=None,
    ):
        lot = None
        if lot_code and received_on is not None:
            lot = ledger.get_or_create_lot(
                product=product, code=lot_code, expires_on=expires_on, received_on=received_on
            )
            lot_code = expires_on = None
        return ledger.receive(
            product=product,
            location=location,
            quantity=quantity,
            unit_cost=Decimal(unit_cost),
            lot=lot,
            lot_code=lot_code,
            expires_on=expires_on,
        )

    return receive


@pytest.fixture
def place_order(db):
    import itertools

    from orders.sales import services as sales

    numbers = itertools.count(1)

    def place(channel, *lines, ref=None, **fields):
        values = {
            "customer_name": "Ada Lovelace",
            "customer_email": "ada@example.com",
            "shipping_address": "12 Analytical Row\nLondon",
        }
        values.update(fields)
        specs = [
            {
                "sku": line[0],
                "quantity": line[1],
                "unit_price": Decimal(line[2] if len(line) > 2 else "9.90"),
            }
            for line in lines
        ]
        order, _ = sales.create_order(
            channel=channel, external_ref=ref or f"EXT-{next(numbers)}", lines=specs, **values
        )
        return order

    return place
