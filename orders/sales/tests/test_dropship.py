"""Dropship lines: purchase orders created or joined, sent, shipped by the supplier — and
never a stock move."""

from decimal import Decimal

import pytest

from inventory.models import ReservationEntry, StockLevel, StockMove
from orders.models import (
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    SalesOrder,
    Supplier,
    SupplierProduct,
)
from orders.purchasing import errors as purchasing_errors
from orders.purchasing import receiving
from orders.purchasing import services as purchasing
from orders.sales import dropship, errors
from orders.sales import services as sales
from orders.sales.tests.test_sales import table_state

Status = SalesOrder.Status
POStatus = PurchaseOrder.Status


@pytest.fixture
def no_stock_changes(db):
    """Assert the test wrote no stock move, balance or reservation."""
    before = (
        StockMove.objects.count(),
        StockLevel.objects.count(),
        ReservationEntry.objects.count(),
    )
    yield
    after = (
        StockMove.objects.count(),
        StockLevel.objects.count(),
        ReservationEntry.objects.count(),
    )
    assert after == before


def test_dropship_line_creates_a_draft_dropship_order(
    web_store, warehouse, dropship_product, dropship_supplier, place_order, no_stock_changes
):
    SupplierProduct.objects.filter(product=dropship_product).update(
        pack_size=4, minimum_order_quantity=10
    )

    order = place_order(web_store, ("SOFA-9", 3, "499.00"))

    assert order.status == Status.ALLOCATED
    line = order.lines.get()
    assert line.dropship and line.quantity_allocated == 0 and line.quantity_backordered == 0
    purchase = PurchaseOrder.objects.get()
    assert purchase.dropship and purchase.status == POStatus.DRAFT
    assert purchase.supplier == dropship_supplier
    assert purchase.sales_order == order
    assert purchase.warehouse == warehouse  # the channel's first warehouse
    assert purchase.ship_to == "Ada Lovelace\n12 Analytical Row\nLondon"
    assert purchase.number == f"PO-{purchase.pk:06d}"
    po_line = purchase.lines.get()
    # The supplier ships exactly what was sold: no pack size, no minimum order.
    assert (po_line.product, po_line.quantity_ordered) == (dropship_product, 3)
    assert po_line.unit_cost == Decimal("120.00")
    assert po_line.sales_line == line


def test_the_preferred_dropship_supplier_is_used(
    web_store, dropship_product, dropship_supplier, place_order
):
    cheap = Supplier.objects.create(code="CHEAP", name="Cheap", dropships=True)
    SupplierProduct.objects.create(
        supplier=cheap, product=dropship_product, unit_cost=Decimal("90.00")
    )
    place_order(web_store, ("SOFA-9", 1))
    assert PurchaseOrder.objects.get().supplier == dropship_supplier
    SupplierProduct.objects.filter(supplier=dropship_supplier).update(active=False)
    place_order(web_store, ("SOFA-9", 1))
    assert PurchaseOrder.objects.order_by("id").last().supplier == cheap


def test_orders_to_the_same_customer_join_the_draft(
    web_store, dropship_product, dropship_supplier, place_order, buyer
):
    first = place_order(web_store, ("SOFA-9", 1))
    second = place_order(web_store, ("SOFA-9", 2), ("SOFA-9", 1))
    assert PurchaseOrder.objects.count() == 1
    purchase = PurchaseOrder.objects.get()
    assert purchase.sales_order == first
    assert sorted(purchase.lines.values_list("quantity_ordered", flat=True)) == [1, 1, 2]
    assert purchase.lines.filter(sales_line__order=second).count() == 2

    # Another address: another order. A sent order is never joined.
    place_order(web_store, ("SOFA-9", 1), shipping_address="1 Other Street")
    assert PurchaseOrder.objects.count() == 2
    purchasing.send_order(order=purchase, user=buyer)
    place_order(web_store, ("SOFA-9", 1))
    assert PurchaseOrder.objects.count() == 3


def test_mixed_order_allocates_stock_and_dropships(
    web_store, product, locations, stock_in, dropship_product, dropship_supplier, place_order
):
    stock_in(product, locations["bin1"], 1)
    order = place_order(web_store, ("MUG-001", 2), ("SOFA-9", 1))
    assert order.status == Status.BACKORDERED  # the mug waits, the sofa never does
    mug, sofa = order.lines.order_by("id")
    assert (mug.quantity_backordered, sofa.quantity_backordered) == (1, 0)
    assert PurchaseOrder.objects.get().lines.get().sales_line == sofa


def test_channel_without_warehouses_files_dropship_under_any_active_one(
    web_store, warehouse, dropship_product, dropship_supplier, place_order
):
    web_store.channel_warehouses.all().delete()
    place_order(web_store, ("SOFA-9", 1))
    assert PurchaseOrder.objects.get().warehouse == warehouse


def test_shipment_confirmation_ships_the_lines_at_supplier_cost(
    web_store, dropship_product, dropship_supplier, place_order, buyer, no_stock_changes
):
    order = place_order(web_store, ("SOFA-9", 2))
    purchase = PurchaseOrder.objects.get()
    purchasing.send_order(order=purchase, user=buyer)

    dropship.confirm_shipment(
        purchase_order=purchase, tracking_number=" 1Z999AA1 ", carrier="UPS", user=buyer
    )

    assert purchase.status == POStatus.RECEIVED
    purchase.refresh_from_db()
    assert (purchase.status, purchase.tracking_number, purchase.carrier) == (
        POStatus.RECEIVED,
        "1Z999AA1",
        "UPS",
    )
    assert purchase.shipped_at is not None
    assert purchase.lines.get().quantity_received == 2
    event = PurchaseOrderEvent.objects.filter(order=purchase).last()
    assert "Shipped by supplier to the customer, tracking 1Z999AA1" in event.note
    order.refresh_from_db()
    assert order.status == Status.SHIPPED and order.shipped_at is not None
    line = order.lines.get()
    assert line.quantity_shipped == 2
    assert line.cost_of_goods == Decimal("240.00")


def test_mixed_order_ships_when_both_parts_have(
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
    order = place_order(web_store, ("MUG-001", 2), ("SOFA-9", 1))
    purchase = PurchaseOrder.objects.get()
    purchasing.send_order(order=purchase, user=buyer)

    sales.ship_order(order=order)
    assert order.status == Status.ALLOCATED  # the sofa is still with the supplier
    moves = StockMove.objects.count()
    dropship.confirm_shipment(purchase_order=purchase, tracking_number="TRK-1")

    order.refresh_from_db()
    assert order.status == Status.SHIPPED
    mug, sofa = order.lines.order_by("id")
    assert (mug.cost_of_goods, sofa.cost_of_goods) == (Decimal("6.00"), Decimal("120.00"))
    assert StockMove.objects.count() == moves


@pytest.mark.parametrize(
    ("tracking", "fragment"),
    [("", "Give the tracking number"), ("   ", "Give"), ("X" * 101, "too long"), (None, "Give")],
)
def test_confirmation_needs_a_tracking_number(
    web_store, dropship_product, dropship_supplier, place_order, buyer, tracking, fragment
):
    place_order(web_store, ("SOFA-9", 1))
    purchase = PurchaseOrder.objects.get()
    purchasing.send_order(order=purchase, user=buyer)
    before = table_state()
    with pytest.raises(errors.InvalidOrder) as caught:
        dropship.confirm_shipment(purchase_order=purchase, tracking_number=tracking)
    assert caught.value.field == "tracking_number" and fragment in caught.value.message
    assert table_state() == before


def test_only_a_sent_dropship_order_can_be_confirmed(
    web_store, dropship_product, dropship_supplier, place_order, sent_order, buyer
):
    place_order(web_store, ("SOFA-9", 1))
    purchase = PurchaseOrder.objects.get(dropship=True)
    before = table_state()
    with pytest.raises(errors.InvalidSalesTransition) as caught:
        dropship.confirm_shipment(purchase_order=purchase, tracking_number="T1")
    assert "draft" in caught.value.message and "Send it" in caught.value.message
    with pytest.raises(errors.InvalidSalesTransition) as caught:
        dropship.confirm_shipment(purchase_order=sent_order, tracking_number="T1")
    assert "not a dropship order" in caught.value.message
    purchasing.send_order(order=purchase, user=buyer)
    dropship.confirm_shipment(purchase_order=purchase, tracking_number="T1")
    with pytest.raises(errors.InvalidSalesTransition) as caught:
        dropship.confirm_shipment(purchase_order=purchase, tracking_number="T2")
    assert "received" in caught.value.message
    assert before["StockMove"] == table_state()["StockMove"]


def test_dropship_order_cannot_be_received_into_stock(
    web_store, dropship_product, dropship_supplier, place_order, buyer, clerk
):
    place_order(web_store, ("SOFA-9", 1))
    purchase = PurchaseOrder.objects.get()
    purchasing.send_order(order=purchase, user=buyer)
    before = table_state()
    with pytest.raises(purchasing_errors.NotReceivable) as caught:
        receiving.receive_line(line=purchase.lines.get(), quantity=1, user=clerk)
    assert "dropship" in caught.value.message and "tracking" in caught.value.message
    assert table_state() == before


def test_dropship_products_stay_off_warehouse_orders(
    draft_order,
    dropship_product,
    dropship_supplier,
    product,
    supplier_product,
    web_store,
    buyer,
    place_order,
):
    SupplierProduct.objects.create(
        supplier=draft_order.supplier, product=dropship_product, unit_cost=Decimal("100")
    )
    with pytest.raises(purchasing_errors.DropshipProduct):
        purchasing.set_line(order=draft_order, product=dropship_product, quantity=1)
    place_order(web_store, ("SOFA-9", 1))
    purchase = PurchaseOrder.objects.get(dropship=True)
    SupplierProduct.objects.create(
        supplier=dropship_supplier, product=product, unit_cost=Decimal("1")
    )
    with pytest.raises(purchasing_errors.DropshipProduct) as caught:
        purchasing.set_line(order=purchase, product=product, quantity=1)
    assert "stocked product MUG-001" in caught.value.message
    # A dropship product may be added by hand, exactly as many as asked.
    line = purchasing.set_line(order=purchase, product=dropship_product, quantity=3)
    assert line.quantity_ordered == 3 and line.sales_line is None
    assert purchase.lines.count() == 2


# --- cancelling orders with dropship lines ------------------------------------------------


def test_cancel_cancels_an_own_draft_dropship_order(
    web_store, dropship_product, dropship_supplier, place_order
):
    order = place_order(web_store, ("SOFA-9", 1))
    sales.cancel_order(order=order)
    purchase = PurchaseOrder.objects.get()
    assert purchase.status == POStatus.CANCELLED
    assert purchase.lines.count() == 1  # kept on the cancelled order as its record


def test_cancel_removes_its_lines_from_a_shared_draft(
    web_store, dropship_product, dropship_supplier, place_order
):
    first = place_order(web_store, ("SOFA-9", 1))
    second = place_order(web_store, ("SOFA-9", 2))
    third = place_order(web_store, ("SOFA-9", 3))
    sales.cancel_order(order=second)
    purchase = PurchaseOrder.objects.get()
    assert purchase.status == POStatus.DRAFT
    assert sorted(purchase.lines.values_list("sales_line__order", flat=True)) == [
        first.pk,
        third.pk,
    ]
    sales.cancel_order(order=first)
    purchase.refresh_from_db()
    assert purchase.sales_order == third
    assert list(purchase.lines.values_list("sales_line__order", flat=True)) == [third.pk]


def test_cancel_cancels_an_own_sent_dropship_order(
    web_store, dropship_product, dropship_supplier, place_order, buyer
):
    order = place_order(web_store, ("SOFA-9", 1))
    purchase = PurchaseOrder.objects.get()
    purchasing.send_order(order=purchase, user=buyer)
    sales.cancel_order(order=order, user=buyer)
    purchase.refresh_from_db()
    assert purchase.status == POStatus.CANCELLED
    assert order.status == Status.CANCELLED


def test_cancel_refused_when_a_sent_order_serves_others(
    web_store, dropship_product, dropship_supplier, place_order, buyer
):
    place_order(web_store, ("SOFA-9", 1))
    second = place_order(web_store, ("SOFA-9", 2))
    purchase = PurchaseOrder.objects.get()
    purchasing.send_order(order=purchase, user=buyer)
    before = table_state()
    with pytest.raises(errors.InvalidSalesTransition) as caught:
        sales.cancel_order(order=second)
    assert purchase.number in caught.value.message and "other orders" in caught.value.message
    assert table_state() == before
    second.refresh_from_db()
    assert second.status == Status.ALLOCATED


def test_cancel_refused_once_the_supplier_shipped(
    web_store, dropship_product, dropship_supplier, place_order, buyer
):
    order = place_order(web_store, ("SOFA-9", 1))
    purchase = PurchaseOrder.objects.get()
    purchasing.send_order(order=purchase, user=buyer)
    dropship.confirm_shipment(purchase_order=purchase, tracking_number="T1")
    with pytest.raises(errors.InvalidSalesTransition):
        sales.cancel_order(order=order)
    assert PurchaseOrderLine.objects.get().quantity_received == 1


def test_confirmation_serves_the_sales_orders_on_the_po_once_it_is_locked(
    web_store, dropship_product, dropship_supplier, place_order, buyer, monkeypatch
):
    first = place_order(web_store, ("SOFA-9", 1))
    purchase = PurchaseOrder.objects.get()
    real_lock = dropship.lock_order
    joined = []

    def lock_after_a_join(order):
        # Between the first read and the lock, a second order of the same customer joins
        # the draft and the buyer sends it.
        if not joined:
            joined.append(place_order(web_store, ("SOFA-9", 2)))
            purchasing.send_order(order=purchase, user=buyer)
        return real_lock(order)

    monkeypatch.setattr(dropship, "lock_order", lock_after_a_join)
    dropship.confirm_shipment(purchase_order=purchase, tracking_number="TRK-9")

    (second,) = joined
    assert PurchaseOrder.objects.get().lines.count() == 2
    for order in (first, second):
        order.refresh_from_db()
        assert order.status == Status.SHIPPED, order.number
        assert not order.lines.exclude(quantity_shipped=1 if order == first else 2).exists()
