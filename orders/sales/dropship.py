"""Dropship orders: the supplier ships sales order lines straight to the customer.

``orders.sales.create_order`` puts dropship lines on draft dropship purchase orders
(``order_lines``), ``orders.purchasing.send_order`` sends them like any order and
``orders.sales.cancel_order`` takes them off again (``cancel_lines``). This module records
the supplier's shipment: the purchase order is received (nothing enters stock), its
sales lines are shipped at the supplier's unit cost, and their orders move on.
Nothing here touches the stock ledger.
"""

from decimal import Decimal

from django.db.models import F
from django.utils import timezone

from common.transactions import atomic_with_retry
from inventory import ledger
from inventory.models import Product
from orders.models import (
    Channel,
    PurchaseOrder,
    PurchaseOrderLine,
    SalesOrder,
    SalesOrderLine,
    SupplierProduct,
)
from orders.purchasing import errors as purchasing_errors
from orders.purchasing import services as purchasing
from orders.purchasing.services import change_status, lock_order, status_label
from orders.sales import errors
from orders.sales.status import set_status
from warehouses.models import Warehouse

__all__ = ["cancel_lines", "confirm_shipment", "filing_warehouse", "order_lines"]


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


@atomic_with_retry
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
    locked, sales_orders = _lock_for_shipment(purchase_order)
    _refuse_unshippable(locked, sales_orders)
    lines = list(locked.lines.select_related("sales_line").order_by("id"))
    now = timezone.now()
    _ship_sales_lines(locked, lines)
    carrier_text = f" ({carrier})" if carrier else ""
    change_status(
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
            set_status(order, SalesOrder.Status.SHIPPED, user, note, shipped_at=now)
        else:
            set_status(order, order.status, user, note)
    for line in lines:
        line.quantity_received = line.quantity_ordered
    return purchase_order


def _lock_for_shipment(purchase_order: PurchaseOrder) -> tuple[PurchaseOrder, list[SalesOrder]]:
    """Lock the sales orders the purchase order serves, then it; return both, as locked."""
    # Lock order as in orders.sales: products, sales orders, then the purchase order.
    served = _served(purchase_order)
    sales_orders = _lock_sales_orders(served)
    locked = lock_order(purchase_order)
    # Lines may have changed before the lock (a draft joined or left, then was sent):
    # serve exactly the orders the locked purchase order holds now.
    now_served = _served(locked)
    if now_served - served:
        sales_orders += _lock_sales_orders(now_served - served)
    sales_orders = sorted(
        (order for order in sales_orders if order.pk in now_served), key=lambda o: o.pk
    )
    return locked, sales_orders


def _refuse_unshippable(locked: PurchaseOrder, sales_orders: list[SalesOrder]) -> None:
    """Refuse a purchase order that is not a sent dropship order, or serves a cancelled order."""
    if not locked.dropship:
        raise errors.InvalidSalesTransition(
            f"{locked.number} is not a dropship order: receive it into stock instead.",
            field="order",
        )
    if locked.status != PurchaseOrder.Status.SENT:
        hint = " Send it to the supplier first." if locked.status == "draft" else ""
        raise errors.InvalidSalesTransition(
            f"{locked.number} is {status_label(locked.status)}: only a sent dropship order "
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


def _ship_sales_lines(locked: PurchaseOrder, lines: list[PurchaseOrderLine]) -> None:
    """Receive every line in full and ship its sales line at the line's unit cost."""
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


# --- intake and cancel (called by orders.sales) -----------------------------------------


def filing_warehouse(channel: Channel) -> Warehouse | None:
    """The warehouse a channel's dropship purchase orders are filed under."""
    ids = channel.warehouse_ids()
    if ids:
        return Warehouse.objects.get(pk=ids[0])
    return Warehouse.objects.filter(active=True).order_by("pk").first()


def _new_order(order: SalesOrder, supplier, warehouse, ship_to: str, user):
    try:
        return purchasing.create_order(
            supplier=supplier,
            warehouse=warehouse,
            user=user,
            notes=f"Dropship for {order.number} ({order.channel.code} {order.external_ref})",
            dropship=True,
            sales_order=order,
            ship_to=ship_to,
        )
    except purchasing_errors.PurchasingError as exc:
        raise errors.NoDropshipSupplier(
            f"No dropship order can go to {supplier.code}: {exc.message}", field="lines"
        ) from exc


def order_lines(
    order: SalesOrder, lines: list[tuple[SalesOrderLine, SupplierProduct]], user
) -> None:
    """Put each dropship line on a draft dropship order of its supplier (joined or new).

    ``lines`` pairs each new sales line with the supplier product it is ordered from.
    """

    if not lines:
        return
    ship_to = f"{order.customer_name}\n{order.shipping_address}"
    warehouse = filing_warehouse(order.channel)
    by_supplier: dict[int, PurchaseOrder] = {}
    for sales_line, source in lines:
        supplier = source.supplier
        purchase = by_supplier.get(supplier.pk)
        if purchase is None:
            purchase = (
                PurchaseOrder.objects.select_for_update()
                .filter(
                    dropship=True,
                    status=PurchaseOrder.Status.DRAFT,
                    supplier=supplier,
                    ship_to=ship_to,
                )
                .order_by("pk")
                .first()
            )
            if purchase is None:
                purchase = _new_order(order, supplier, warehouse, ship_to, user)
            by_supplier[supplier.pk] = purchase
        try:
            purchasing.add_dropship_line(
                order=purchase, sales_line=sales_line, unit_cost=source.unit_cost, user=user
            )
        except purchasing_errors.PurchasingError as exc:
            raise errors.NoDropshipSupplier(
                f"{sales_line.product.sku} cannot be ordered from {supplier.code}: {exc.message}",
                field="lines",
            ) from exc


def _cancel_plan(order: SalesOrder):
    """Decide what cancelling does to the order's dropship lines; refuse before any write."""
    POStatus = PurchaseOrder.Status
    lines = list(
        PurchaseOrderLine.objects.filter(sales_line__order=order)
        .select_related("order", "order__supplier", "product")
        .order_by("order_id", "id")
    )
    purchase_ids = sorted({line.order_id for line in lines})
    locked = {
        po.pk: po
        for po in PurchaseOrder.objects.select_for_update()
        .filter(pk__in=purchase_ids)
        .order_by("pk")
    }
    others = set(
        PurchaseOrderLine.objects.filter(order_id__in=purchase_ids)
        .exclude(sales_line__order=order)
        .values_list("order_id", flat=True)
    )
    remove, cancel = [], {}
    for line in lines:
        purchase = locked[line.order_id]
        if purchase.status == POStatus.CANCELLED:
            continue
        if purchase.status == POStatus.DRAFT:
            if line.order_id in others:
                remove.append(line)
            else:
                cancel[purchase.pk] = purchase
        elif purchase.status == POStatus.SENT and line.order_id not in others:
            cancel[purchase.pk] = purchase
        elif purchase.status == POStatus.SENT:
            raise errors.InvalidSalesTransition(
                f"{order.number} cannot be cancelled: its {line.product.sku} is on dropship "
                f"order {purchase.number}, already sent to {purchase.supplier.code} together "
                "with other orders. Ask the supplier to drop the line first.",
                field="status",
            )
        else:
            raise errors.InvalidSalesTransition(
                f"{order.number} cannot be cancelled: dropship order {purchase.number} is "
                f"{purchase.get_status_display().lower()}.",
                field="status",
            )
    return remove, list(cancel.values())


def cancel_lines(order: SalesOrder, user) -> None:
    """Take a cancelled sales order's lines off its dropship orders; refuse before any write.

    Its lines leave shared drafts (which then serve the oldest other sales order on
    them); draft or sent orders that serve only it are cancelled. A sent order shared
    with other sales orders, or one already received, refuses. The caller holds the
    sales order's lock.
    """
    remove, cancel = _cancel_plan(order)
    for line in remove:
        purchasing.remove_line(line=line, user=user, sales_order=order)
    for purchase_id in {line.order_id for line in remove}:
        # A joined order now serves the oldest of the other sales orders on it.
        successor = (
            PurchaseOrderLine.objects.filter(order_id=purchase_id, sales_line__isnull=False)
            .order_by("sales_line__order_id")
            .values_list("sales_line__order_id", flat=True)
            .first()
        )
        PurchaseOrder.objects.filter(pk=purchase_id, sales_order=order).update(
            sales_order_id=successor
        )
    for purchase in cancel:
        purchasing.cancel_order(
            order=purchase,
            user=user,
            reason=f"Sales order {order.number} was cancelled",
            sales_order=order,
        )
