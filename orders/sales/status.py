"""A sales order's status: lock the row, change the status, record who and when.

Every sales service (``services``, ``dropship``) changes an order's status here.
"""

from django.utils import timezone

from inventory import ledger
from inventory.models import Product
from orders.models import SalesOrder, SalesOrderEvent
from orders.sales import errors

Status = SalesOrder.Status
# What a service may change on the order row, copied back to the caller's object.
COPIED = ("status", "updated_at", "shipped_at", "carrier", "tracking_number", "cancelled_at")


def record_event(
    order: SalesOrder, from_status: str, to_status: str, user, note: str = ""
) -> None:
    """Record a status change of the order: who, from → to, why."""
    SalesOrderEvent.objects.create(
        order=order, from_status=from_status, to_status=to_status, user=user, note=note[:255]
    )


def set_status(order: SalesOrder, to_status: str, user, note: str = "", **fields) -> None:
    """Move the order to ``to_status`` (saving ``fields`` with it) and record the event."""
    from_status = order.status
    now = timezone.now()
    SalesOrder.objects.filter(pk=order.pk).update(status=to_status, updated_at=now, **fields)
    order.status = to_status
    order.updated_at = now
    for name, value in fields.items():
        setattr(order, name, value)
    record_event(order, from_status, to_status, user, note)


def lock_order(order: SalesOrder) -> SalesOrder:
    """Lock the order's products, then the order row; return the row as it is now."""
    product_ids = set(order.lines.values_list("product_id", flat=True))
    ledger.lock_products(Product(pk=pk) for pk in product_ids)
    return (
        SalesOrder.objects.select_for_update(of=("self",))
        .select_related("channel")
        .get(pk=order.pk)
    )


def copy_back(locked: SalesOrder, order: SalesOrder) -> SalesOrder:
    """Bring the caller's object up to date once nothing can refuse any more."""
    if order is not locked:
        for name in COPIED:
            setattr(order, name, getattr(locked, name))
    return order


def status_label(status: str) -> str:
    """The status as a sentence writes it: ``backordered``, ``shipped``."""
    return Status(status).label.lower()


def refuse_done(order: SalesOrder, what: str) -> None:
    """Refuse ``what`` (a past participle) on a shipped or cancelled order."""
    if order.status in (Status.SHIPPED, Status.CANCELLED):
        raise errors.InvalidSalesTransition(
            f"{order.number} is {status_label(order.status)}: it cannot be {what}.", field="status"
        )
