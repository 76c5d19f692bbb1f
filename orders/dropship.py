"""Dropship orders: the supplier ships sales order lines straight to the customer.

``orders.sales.create_order`` puts dropship lines on draft dropship purchase orders
and ``orders.purchasing.send_order`` sends them like any order. This module records
the supplier's shipment: the purchase order is received (nothing enters stock), its
sales lines are shipped at the supplier's unit cost, and their orders move on.
Nothing here touches the stock ledger.
"""

from decimal import Decimal

from django.db.models import F
from django.utils import timezone

from inventory import ledger
from inventory.models import Product
from orders import errors
from orders.models import PurchaseOrder, PurchaseOrderLine, SalesOrder, SalesOrderLine
from orders.purchasing import _change_status, _lock_order, _status_label
from orders.sales import _set_status

__all__ = ["confirm_shipment"]


def _check_text(value, *, field: str, what: str, limit: int, required: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise errors.InvalidOrder(f"“{value}” is not {what}.", field=field)
    value = value.strip()
    if required and not value:
        raise errors.InvalidOrder(f"Give the {what} of the supplier's shipment.", field=field)
    if len(value) > limit:
        raise errors.InvalidOrder(
            f"The {what} is too long: at most {limit} characters (got {len(value)}).",
            field=field,
        )
    if not value.isprintable():
        raise errors.InvalidOrder(
            f"The {what} holds characters that cannot be shown.", field=field
        )
    return value


def _served(purchase_order: PurchaseOrder) -> set[int]:
    """The sales orders whose lines are on the purchase order."""
    return set(
        PurchaseOrderLine.objects.filter(
            order=purchase_order, sales_line__isnull=False
        ).values_list("sales_line__order_id", flat=True)
    )


def _lock_sales_orders(order_ids: set[int]) -> list[SalesOrder]:
    """Lock the orders' products, then the order rows (primary-key order)."""
    ledger.lock_products(
        Product(pk=pk)
        for pk in set(
            SalesOrderLine.objects.filter(order_id__in=order_ids).values_list(
                "product_id", flat=True
            )
        )
    )
    return list(SalesOrder.objects.select_for_update().filter(pk__in=order_ids).order_by("pk"))


@ledger.ledger_operation
def confirm_shipment(
    *, purchase_order: PurchaseOrder, tracking_number: str, carrier: str = "", user=None
) -> PurchaseOrder:
    """Record that the supplier shipped a sent dropship order to the customer.

    The order becomes received (every line in full), its sales lines are shipped at
    the order's unit cost, and a sales order whose lines are all shipped is shipped.
    """
    tracking_number = _check_text(
        tracking_number, field="tracking_number", what="tracking number", limit=100, required=True
    )
    carrier = _check_text(carrier, field="carrier", what="carrier", limit=64, required=False)
    # Lock order as in orders.sales: products, sales orders, then the purchase order.
    served = _served(purchase_order)
    sales_orders = _lock_sales_orders(served)
    locked = _lock_order(purchase_order)
    # Lines may have changed before the lock (a draft joined or left, then was sent):
    # serve exactly the orders the locked purchase order holds now.
    now_served = _served(locked)
    if now_served - served:
        sales_orders += _lock_sales_orders(now_served - served)
    sales_orders = sorted(
        (order for order in sales_orders if order.pk in now_served), key=lambda o: o.pk
    )
    if not locked.dropship:
        raise errors.InvalidSalesTransition(
            f"{locked.number} is not a dropship order: receive it into stock instead.",
            field="order",
        )
    if locked.status != PurchaseOrder.Status.SENT:
        hint = " Send it to the supplier first." if locked.status == "draft" else ""
        raise errors.InvalidSalesTransition(
            f"{locked.number} is {_status_label(locked.status)}: only a sent dropship order "
            f"can be shipped by the supplier.{hint}",
            field="status",
        )
    for order in sales_orders:
        if order.status == SalesOrder.Status.CANCELLED:
            raise errors.InvalidSalesTransition(
                f"{order.number} was cancelled: its dropship lines on {locked.number} must not "
                "ship. Cancel the purchase order with the supplier instead.",
                field="order",
            )
    lines = list(locked.lines.select_related("sales_line").order_by("id"))
    now = timezone.now()
    PurchaseOrderLine.objects.filter(order=locked).update(quantity_received=F("quantity_ordered"))
    for line in lines:
        sales_line = line.sales_line
        if sales_line is None:
            continue
        units = sales_line.quantity - sales_line.quantity_shipped
        if units <= 0:
            continue
        SalesOrderLine.objects.filter(pk=sales_line.pk).update(
            quantity_shipped=F("quantity"),
            cost_of_goods=(sales_line.cost_of_goods or Decimal("0")) + line.unit_cost * units,
        )
    carrier_text = f" ({carrier})" if carrier else ""
    _change_status(
        purchase_order,
        locked,
        PurchaseOrder.Status.RECEIVED,
        user,
        f"Shipped by supplier to the customer, tracking {tracking_number}{carrier_text}",
        carrier=carrier,
        tracking_number=tracking_number,
        shipped_at=now,
    )
    for order in sales_orders:
        note = f"Dropship {locked.number} shipped by {locked.supplier.code}, tracking " + (
            tracking_number
        )
        if not order.lines.filter(quantity_shipped__lt=F("quantity")).exists():
            _set_status(order, SalesOrder.Status.SHIPPED, user, note, shipped_at=now)
        else:
            _set_status(order, order.status, user, note)
    for line in lines:
        line.quantity_received = line.quantity_ordered
    return purchase_order
