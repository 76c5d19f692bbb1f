"""A sales order's status: lock the row, change the status, record who and when.

Every sales service (``services``, ``dropship``) changes an order's status here.
"""

from django.utils import timezone

from inventory import ledger
from inventory.models import Product
from orders.models import SalesOrder, SalesOrderEvent
from orders.sales import errors
from orders.sales.selectors import units

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


def allocated_note(reserved: int, waiting: int) -> str:
    """The history's note for an allocation: “Allocated 3 units; 2 wait for stock”."""
    return f"Allocated {units(reserved)}" + (
        f"; {waiting} wait{'s' if waiting == 1 else ''} for stock" if waiting else ""
    )


def settle(order: SalesOrder, user, reserved: int, replaced: list[str] | None = None) -> None:
    """Set the order's status after an allocation (and a replacement of stale stock).

    A waiting order becomes allocated or backordered; an allocated or picking order
    whose stale units could not all be replaced becomes backordered.
    """
    status = order.status
    waiting = 0
    if order.status in SalesOrder.WAITING_STATUSES or replaced:
        waiting = sum(line.quantity_backordered for line in order.lines.all())
    if order.status in SalesOrder.WAITING_STATUSES:
        status = Status.BACKORDERED if waiting else Status.ALLOCATED
    elif replaced and waiting:
        status = Status.BACKORDERED
    parts = []
    if replaced:
        parts.append("Released what can no longer ship: " + "; ".join(replaced))
    if status != order.status or replaced:
        parts.append(allocated_note(reserved, waiting))
        set_status(order, status, user, ". ".join(parts))
    elif reserved:
        order.updated_at = timezone.now()
        SalesOrder.objects.filter(pk=order.pk).update(updated_at=order.updated_at)
