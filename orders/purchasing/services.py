"""Purchase orders: create, set lines, send, cancel, close.

Every function is keyword-only and atomic, locks the order row before it reads the
status, records each status change as a ``PurchaseOrderEvent`` and raises an
``orders.purchasing.errors.PurchasingError`` subclass with nothing written when it refuses.
"""

import math
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Max, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import ngettext

from common.dates import out_of_range
from inventory.errors import LedgerError
from inventory.ledger import checks
from inventory.ledger.checks import MAX_QUANTITY
from inventory.models import Product
from orders.models import (
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    SalesOrder,
    SalesOrderLine,
    Supplier,
    SupplierProduct,
)
from orders.purchasing import email as purchase_email
from orders.purchasing import errors
from orders.purchasing.documents import order_csv, order_pdf
from warehouses.models import Warehouse

__all__ = [
    "add_dropship_line",
    "cancel_order",
    "close_order",
    "create_order",
    "mark_sent",
    "order_csv",
    "order_pdf",
    "remove_line",
    "requeue_email",
    "rounded_quantity",
    "send_order",
    "set_line",
    "units",
]

Status = PurchaseOrder.Status
EmailStatus = PurchaseOrder.EmailStatus


# --- helpers ------------------------------------------------------------------------


def units(quantity: int) -> str:
    """Write a number of units: “1 unit”, “3 units”."""
    return ngettext("%(n)s unit", "%(n)s units", quantity) % {"n": quantity}


def _check_date(value, *, field: str, what: str) -> date | None:
    if value is None:
        return None
    if not isinstance(value, date) or isinstance(value, datetime):
        raise errors.InvalidDate(f"“{value}” is not a date for {what}.", field=field)
    problem = out_of_range(value, what=f"The date for {what}")
    if problem:
        raise errors.InvalidDate(problem, field=field)
    return value


def _check_quantity(quantity, product: Product) -> int:
    """The ledger's quantity check, refused as a purchasing error."""
    try:
        return checks.check_quantity(quantity, product)
    except LedgerError as exc:
        raise errors.InvalidQuantity(exc.message, field="quantity") from None


def _check_cost(unit_cost, product: Product) -> Decimal:
    """The ledger's unit cost check (rounded to 6 places), refused as a purchasing error."""
    try:
        return checks.check_cost(unit_cost, product)
    except LedgerError as exc:
        raise errors.InvalidCost(exc.message, field="unit_cost") from None


def order_lock_query() -> QuerySet:
    """The read every change of a purchase order starts with: its row, locked, with its
    supplier and warehouse (a caller may annotate it before ``lock_order``)."""
    return PurchaseOrder.objects.select_for_update(of=("self",)).select_related(
        "supplier", "warehouse"
    )


def lock_order(order: PurchaseOrder, query: QuerySet | None = None) -> PurchaseOrder:
    """Lock the order row and return it as it is now; copy the fresh fields onto ``order``.

    ``query``: ``order_lock_query()`` with something more read in the same statement.
    """
    locked = (order_lock_query() if query is None else query).get(pk=order.pk)
    order.status = locked.status
    return locked


def _record(order: PurchaseOrder, from_status: str, to_status: str, user, note: str = ""):
    PurchaseOrderEvent.objects.create(
        order=order,
        from_status=from_status,
        to_status=to_status,
        user=user,
        note=(note or "")[:255],
    )


def change_status(
    order: PurchaseOrder, locked: PurchaseOrder, to_status: str, user, note: str = "", **fields
):
    """Move the locked order (and the caller's copy) to ``to_status`` and record the event."""
    from_status = locked.status
    PurchaseOrder.objects.filter(pk=locked.pk).update(status=to_status, **fields)
    for target in (order, locked):
        target.status = to_status
        for name, value in fields.items():
            setattr(target, name, value)
    _record(locked, from_status, to_status, user, note)


def status_label(status: str) -> str:
    """The status as a sentence writes it: ``sent``, ``partially received``."""
    return Status(status).label.lower()


def rounded_quantity(quantity: int, supplier_product: SupplierProduct) -> tuple[int, str]:
    """Round ``quantity`` up to the minimum order, then to whole packs; return it and a note.

    The note is empty when nothing was rounded, else e.g.
    “Rounded up from 7 to 12: packs of 6”.
    """
    minimum = supplier_product.minimum_order_quantity or 1
    pack = supplier_product.pack_size or 1
    wanted = max(quantity, minimum)
    rounded = math.ceil(wanted / pack) * pack
    if rounded == quantity:
        return rounded, ""
    reasons = []
    if quantity < minimum:
        reasons.append(f"minimum order {minimum}")
    if rounded != wanted:
        reasons.append(f"packs of {pack}")
    return rounded, f"Rounded up from {quantity} to {rounded}: {', '.join(reasons)}"


# --- orders and lines ---------------------------------------------------------------


@transaction.atomic
def create_order(
    *,
    supplier: Supplier,
    warehouse: Warehouse,
    user=None,
    expected_on: date | None = None,
    notes: str = "",
    dropship: bool = False,
    sales_order=None,
    ship_to: str = "",
) -> PurchaseOrder:
    """Open a draft purchase order numbered ``PO-000123`` (from its primary key).

    A ``dropship`` order ships to ``ship_to`` (the customer) for ``sales_order``;
    ``warehouse`` is then only the one it is filed under. Without ``expected_on`` the
    order is expected today plus the supplier's lead time.
    """
    if not supplier.active:
        raise errors.SupplierInactive(
            f"Supplier {supplier.code} is inactive: no new orders can go to it.", field="supplier"
        )
    if not warehouse.active and not dropship:
        raise errors.WarehouseInactive(
            f"Warehouse {warehouse.code} is inactive: it cannot receive orders.",
            field="warehouse",
        )
    expected_on = _check_date(expected_on, field="expected_on", what="the expected delivery")
    if expected_on is None:
        expected_on = timezone.localdate() + timedelta(days=supplier.default_lead_time_days)
    # The number comes from the primary key, unique under any concurrency; a
    # placeholder keeps the unique column filled until the row has its key.
    order = PurchaseOrder.objects.create(
        number=f"new-{uuid.uuid4().hex[:16]}",
        supplier=supplier,
        warehouse=warehouse,
        expected_on=expected_on,
        notes=notes or "",
        created_by=user,
        dropship=bool(dropship),
        sales_order=sales_order,
        ship_to=ship_to or "",
    )
    order.number = f"PO-{order.pk:06d}"
    PurchaseOrder.objects.filter(pk=order.pk).update(number=order.number)
    _record(order, "", Status.DRAFT, user, "Created")
    return order


@transaction.atomic
def set_line(
    *,
    order: PurchaseOrder,
    product: Product,
    quantity: int,
    unit_cost=None,
    expected_on: date | None = None,
    user=None,
) -> PurchaseOrderLine:
    """Order ``quantity`` of ``product`` (rounded up to minimum order and pack size).

    An existing line for the product is replaced. ``unit_cost`` defaults to the
    supplier's price. Only a draft can change.
    """
    locked = lock_order(order)
    supplier_product = _orderable(locked, product)
    quantity = _check_quantity(quantity, product)
    cost = _check_cost(supplier_product.unit_cost if unit_cost is None else unit_cost, product)
    expected_on = _check_date(expected_on, field="expected_on", what=f"{product.sku}")
    if locked.dropship:
        # The supplier ships exactly what the customer bought: no packs, no minimum.
        rounded, note = quantity, ""
    else:
        rounded, note = rounded_quantity(quantity, supplier_product)
    if rounded > MAX_QUANTITY:
        raise errors.InvalidQuantity(
            f"{units(rounded)} of {product.sku} is not a plausible quantity.", field="quantity"
        )
    line, _ = PurchaseOrderLine.objects.update_or_create(
        order=locked,
        product=product,
        sales_line=None,
        defaults={
            "quantity_ordered": rounded,
            "unit_cost": cost,
            "expected_on": expected_on,
            "note": note,
        },
    )
    return line


def _orderable(locked: PurchaseOrder, product: Product) -> SupplierProduct:
    """The supplier's offer of ``product``, if the locked order may take a line of it."""
    if locked.status != Status.DRAFT:
        raise errors.NotEditable(
            f"{locked.number} is {status_label(locked.status)}: lines change only in a draft.",
            field="product",
        )
    if not product.active:
        raise errors.ProductInactive(
            f"{product.sku} is inactive: it cannot be ordered.", field="product"
        )
    if locked.dropship and product.is_stocked:
        raise errors.DropshipProduct(
            f"{locked.number} is a dropship order: the supplier ships it to the customer, so "
            f"stocked product {product.sku} cannot be on it. Order it into a warehouse instead.",
            field="product",
        )
    if not product.is_stocked and not locked.dropship:
        raise errors.DropshipProduct(
            f"{product.sku} is a dropship product: the supplier ships it to the customer, so it "
            f"is not ordered into warehouse {locked.warehouse.code}.",
            field="product",
        )
    supplier_product = (
        SupplierProduct.objects.filter(supplier=locked.supplier, product=product, active=True)
        .select_related("supplier")
        .first()
    )
    if supplier_product is None:
        raise errors.ProductNotSold(
            f"{locked.supplier.code} does not sell {product.sku}: add it to the supplier's "
            "products first.",
            field="product",
        )
    return supplier_product


@transaction.atomic
def add_dropship_line(*, order: PurchaseOrder, sales_line, unit_cost, user=None):
    """Add a line to a draft dropship order for one sales order line (its exact quantity)."""
    locked = lock_order(order)
    product = sales_line.product
    if not locked.dropship:
        raise errors.NotEditable(
            f"{locked.number} is not a dropship order: sales lines cannot be added to it.",
            field="order",
        )
    if locked.status != Status.DRAFT:
        raise errors.NotEditable(
            f"{locked.number} is {status_label(locked.status)}: lines change only in a draft.",
            field="product",
        )
    cost = _check_cost(unit_cost, product)
    return PurchaseOrderLine.objects.create(
        order=locked,
        product=product,
        quantity_ordered=_check_quantity(sales_line.quantity, product),
        unit_cost=cost,
        sales_line=sales_line,
        note=f"For {sales_line.order.number}"[:255],
    )


def _serving(lines, exempt=None) -> list:
    """Sales lines of active sales orders the purchase lines ship (``exempt``'s aside)."""
    served = SalesOrderLine.objects.filter(
        dropship_line__in=lines, order__status__in=SalesOrder.ACTIVE_STATUSES
    )
    if exempt is not None:
        served = served.exclude(order=exempt)
    return list(served.select_related("order", "product").order_by("order_id", "id"))


def _refuse_serving(
    locked: PurchaseOrder, served, what: str, field: str, error=errors.NotEditable
) -> None:
    if served:
        numbers = ", ".join(sorted({line.order.number for line in served}))
        skus = ", ".join(sorted({line.product.sku for line in served}))
        raise error(
            f"{what} ships {skus} to the customer of sales order {numbers}: cancel the sales "
            f"order instead (that takes its dropship lines off {locked.number}).",
            field=field,
        )


@transaction.atomic
def remove_line(*, line: PurchaseOrderLine, user=None, sales_order=None) -> None:
    """Delete a line of a draft order.

    A line that ships a sales line of an active sales order is refused: cancel the
    sales order instead. ``sales_order`` is for ``orders.sales.cancel_order`` only: its
    own lines may go.
    """
    locked = lock_order(line.order)
    if locked.status != Status.DRAFT:
        raise errors.NotEditable(
            f"{locked.number} is {status_label(locked.status)}: lines change only in a draft.",
            field="line",
        )
    _refuse_serving(
        locked,
        _serving(PurchaseOrderLine.objects.filter(pk=line.pk), sales_order),
        f"This line of {locked.number}",
        "line",
    )
    deleted, _ = PurchaseOrderLine.objects.filter(pk=line.pk, order=locked).delete()
    if not deleted:
        raise errors.WrongOrder(f"That line is no longer on {locked.number}.", field="line")


# --- status changes -----------------------------------------------------------------


def _lead_time_days(order: PurchaseOrder, lines) -> int:
    """The longest lead time of the order's products at its supplier (override or default)."""
    longest = SupplierProduct.objects.filter(
        supplier=order.supplier, product__in=[line.product_id for line in lines]
    ).aggregate(days=Max(Coalesce("lead_time_days", "supplier__default_lead_time_days")))["days"]
    return longest if longest is not None else order.supplier.default_lead_time_days


def _lock_for_sending(order: PurchaseOrder, *, email: bool) -> tuple[PurchaseOrder, list]:
    """Lock a draft that may go to its supplier (by ``email``); return it and its lines."""
    locked = lock_order(order)
    if locked.status != Status.DRAFT:
        raise errors.InvalidTransition(
            f"{locked.number} is {status_label(locked.status)}: only a draft can be sent.",
            field="status",
        )
    supplier = locked.supplier
    if not supplier.active:
        raise errors.SupplierInactive(
            f"Supplier {supplier.code} is inactive: {locked.number} cannot be sent to it.",
            field="supplier",
        )
    if email and not supplier.email:
        raise errors.NoSupplierEmail(
            f"Supplier {supplier.code} has no contact email: add one before emailing "
            f"{locked.number}, or mark it as sent and send the PDF yourself.",
            field="supplier",
        )
    lines = list(locked.lines.order_by("id"))
    if not lines:
        raise errors.EmptyOrder(
            f"{locked.number} has no lines: add what to order before sending it.", field="lines"
        )
    return locked, lines


def _mark_sent(order, locked, lines, user, note: str) -> None:
    now = timezone.now()
    fields = {"sent_by": user, "sent_at": now}
    if locked.expected_on is None:
        # Orders made without a date (admin, imports) get one when they go out.
        fields["expected_on"] = timezone.localtime(now).date() + timedelta(
            days=_lead_time_days(locked, lines)
        )
    change_status(order, locked, Status.SENT, user, note, **fields)


@transaction.atomic
def send_order(*, order: PurchaseOrder, user) -> PurchaseOrder:
    """Mark a draft with lines as sent and queue its email to the supplier.

    The status change commits on its own; the email (PDF and CSV attached) goes out
    after the commit from a task (``orders.purchasing.email``), which retries and
    records each attempt. A supplier without an email: use ``mark_sent``.
    """
    locked, lines = _lock_for_sending(order, email=True)
    _mark_sent(order, locked, lines, user, f"Email to {locked.supplier.email} queued")
    purchase_email.queue(order)
    return order


@transaction.atomic
def mark_sent(*, order: PurchaseOrder, user, note: str = "") -> PurchaseOrder:
    """Mark a draft with lines as sent outside Stockroom (by hand, phone, a portal): no email."""
    locked, lines = _lock_for_sending(order, email=False)
    text = "Sent outside Stockroom (not emailed)"
    _mark_sent(order, locked, lines, user, f"{text}: {note}" if note else text)
    fields = {"email_status": EmailStatus.OUTSIDE, "email_at": order.sent_at}
    PurchaseOrder.objects.filter(pk=locked.pk).update(**fields)
    for name, value in fields.items():
        setattr(order, name, value)
    return order


@transaction.atomic
def requeue_email(*, order: PurchaseOrder, user) -> PurchaseOrder:
    """Queue the email of a sent order again ("Send again"), e.g. after it failed."""
    locked = lock_order(order)
    if locked.status in purchase_email.NOT_EMAILED_STATUSES:
        hint = "send it first" if locked.status == Status.DRAFT else "it is not emailed"
        raise errors.InvalidTransition(
            f"{locked.number} is {status_label(locked.status)}: {hint}.", field="status"
        )
    if not locked.supplier.email:
        raise errors.NoSupplierEmail(
            f"Supplier {locked.supplier.code} has no contact email: add one on the supplier "
            f"page, then send {locked.number} again.",
            field="supplier",
        )
    if purchase_email.is_busy(locked):
        raise errors.InvalidTransition(
            f"The email of {locked.number} is being sent right now: wait a moment.",
            field="status",
        )
    purchase_email.queue(order)
    return order


@transaction.atomic
def cancel_order(
    *, order: PurchaseOrder, user, reason: str = "", sales_order=None
) -> PurchaseOrder:
    """Cancel a draft or sent order of which nothing was received.

    A dropship order that ships lines of active sales orders is refused: cancel the
    sales orders instead. ``sales_order`` is for ``orders.sales.cancel_order`` only:
    its own lines do not hold the purchase order.
    """
    locked = lock_order(order)
    if locked.status == Status.PARTIALLY_RECEIVED or (
        locked.status == Status.SENT and locked.lines.filter(quantity_received__gt=0).exists()
    ):
        raise errors.CloseInstead(
            f"{locked.number} is {status_label(locked.status)}: goods have arrived, so it "
            "cannot be cancelled. Close it instead to accept the short delivery.",
            field="status",
        )
    if locked.status not in (Status.DRAFT, Status.SENT):
        raise errors.InvalidTransition(
            f"{locked.number} is {status_label(locked.status)}: it cannot be cancelled.",
            field="status",
        )
    if locked.dropship:
        _refuse_serving(
            locked,
            _serving(locked.lines.all(), sales_order),
            f"Dropship order {locked.number}",
            "status",
            errors.InvalidTransition,
        )
    change_status(order, locked, Status.CANCELLED, user, reason)
    return order


@transaction.atomic
def close_order(*, order: PurchaseOrder, user, reason: str = "") -> PurchaseOrder:
    """Accept a short delivery: close a partially received order; nothing more will come."""
    locked = lock_order(order)
    if locked.status == Status.SENT:
        raise errors.InvalidTransition(
            f"Nothing of {locked.number} has been received yet: cancel it instead of closing it.",
            field="status",
        )
    if locked.status != Status.PARTIALLY_RECEIVED:
        raise errors.InvalidTransition(
            f"{locked.number} is {status_label(locked.status)}: only a partially received "
            "order can be closed.",
            field="status",
        )
    change_status(order, locked, Status.CLOSED, user, reason)
    return order
