"""Receiving purchase orders into stock through the ledger.

A receipt posts ``inventory.ledger.receive`` at the line's unit cost (a FIFO cost
layer), raises the line's received quantity, moves the order to partially received
or received and writes a ``ReceiptLine`` (the lead-time history) — in one
transaction. Lock order: the products (primary-key order), then the order row, then
all its lines (primary-key order), then whatever the ledger locks (not the products
again: the ledger calls run inside ``ledger.holding_products``). Two people receiving
the same line at once therefore queue on PostgreSQL, and the second one reads the
quantity the first one received before it decides; SQLite runs one writer at a time.
"""

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_FLOOR, Decimal

from django.db.models import F, JSONField, OuterRef, QuerySet, Subquery
from django.db.models.functions import JSONObject
from django.utils import timezone

from common.dates import out_of_range
from common.transactions import atomic_with_retry, joined
from inventory import errors as ledger_errors
from inventory import ledger
from inventory.errors import LedgerError
from inventory.ledger import checks
from inventory.models import Lot, Product
from orders.models import PurchaseOrder, PurchaseOrderLine, ReceiptLine
from orders.purchasing import errors
from orders.purchasing.services import change_status, lock_order, order_lock_query, status_label
from warehouses.models import Location

Status = PurchaseOrder.Status
# Receipts of extra units within the tolerance may still come after the last one.
RECEIVABLE_STATUSES = (Status.SENT, Status.PARTIALLY_RECEIVED, Status.RECEIVED)


@dataclass
class _Entry:
    line: PurchaseOrderLine
    quantity: int
    location: Location | None = None
    lot_code: str | None = None
    expires_on: date | None = None


def allowance(line: PurchaseOrderLine, tolerance_percent) -> int:
    """Return the most units the line may receive in total: ordered × (1 + tolerance %), floor.

    Never more than ``quantity_received``'s column holds (32-bit on PostgreSQL).
    """
    exact = Decimal(line.quantity_ordered) * (100 + Decimal(tolerance_percent)) / 100
    return min(int(exact.to_integral_value(rounding=ROUND_FLOOR)), checks.MAX_BALANCE)


def _percent(value) -> str:
    text = format(Decimal(value).normalize(), "f")
    return f"{text} %"


def receiving_docks(warehouse) -> QuerySet:
    """The warehouse's active receiving docks, the default one (lowest key) first."""
    return Location.objects.filter(
        warehouse=warehouse, kind=Location.Kind.RECEIVING, active=True
    ).order_by("pk")


def receiving_location(warehouse) -> Location | None:
    """Return the warehouse's default receiving location: its first active receiving dock."""
    return receiving_docks(warehouse).first()


# Every column of a location, as the JSON object the order lock reads the dock with.
DOCK_FIELDS = [field.attname for field in Location._meta.concrete_fields]


def _lock_order(order: PurchaseOrder, *, dock: bool) -> PurchaseOrder:
    """Lock the order row (``services.lock_order``); with ``dock``, read its warehouse's
    default receiving location in the same statement (``locked.dock``: a Location or None).
    """
    orders = order_lock_query()
    if dock:
        columns = JSONObject(**{name: name for name in DOCK_FIELDS})
        first = receiving_docks(OuterRef("warehouse_id")).values(json=columns)[:1]
        orders = orders.annotate(dock_json=Subquery(first, output_field=JSONField()))
    locked = lock_order(order, orders)
    locked.dock = _location(locked.dock_json) if dock else None
    return locked


def _location(data: dict | None) -> Location | None:
    """Make the dock's JSON object a Location as if read by the ORM (booleans included)."""
    if data is None:
        return None
    fields = {field.attname: field for field in Location._meta.concrete_fields}
    values = [fields[name].to_python(data[name]) for name in DOCK_FIELDS]
    return Location.from_db(PurchaseOrder.objects.db, DOCK_FIELDS, values)


def _check_received_on(received_on, order: PurchaseOrder) -> date:
    today = timezone.localdate()
    if received_on is None:
        return today
    if not isinstance(received_on, date) or isinstance(received_on, datetime):
        raise errors.InvalidDate(f"“{received_on}” is not a date of receipt.", field="received_on")
    if received_on > today:
        raise errors.InvalidDate(
            f"A receipt cannot be dated in the future ({received_on.isoformat()}).",
            field="received_on",
        )
    sent_on = _ordered_on(order)
    if received_on < sent_on:
        raise errors.InvalidDate(
            f"{order.number} was sent on {sent_on.isoformat()}: goods cannot be received "
            f"before that ({received_on.isoformat()}).",
            field="received_on",
        )
    return received_on


def _ordered_on(order: PurchaseOrder) -> date:
    return timezone.localdate(order.sent_at or order.created_at)


def _check_entry(entry: _Entry, *, today: date, confirm_expired: bool) -> None:
    """Refuse what can be refused before any lock is taken."""
    product = entry.line.product
    quantity = entry.quantity
    if not checks.is_whole(quantity):
        raise errors.InvalidQuantity(
            f"The quantity of {product.sku} received must be a whole number, not “{quantity}”.",
            field="quantity",
        )
    if quantity <= 0:
        raise errors.InvalidQuantity(
            f"The quantity of {product.sku} received must be more than zero (got {quantity}).",
            field="quantity",
        )
    lot_code = entry.lot_code.strip() if isinstance(entry.lot_code, str) else entry.lot_code
    entry.lot_code = lot_code or None
    if not product.is_lot_tracked:
        if entry.lot_code:
            raise ledger_errors.LotNotAllowed(
                f"{product.sku} is not tracked by lot, but lot {entry.lot_code} was given.",
                field="lot_code",
            )
        if entry.expires_on is not None:
            raise ledger_errors.LotNotAllowed(
                f"{product.sku} is not tracked by lot: it takes no expiry date.",
                field="expires_on",
            )
        return
    if not entry.lot_code:
        raise ledger_errors.LotRequired(
            f"{product.sku} is tracked by lot: give the lot code of the units received.",
            field="lot_code",
        )
    if entry.expires_on is not None and (
        not isinstance(entry.expires_on, date) or isinstance(entry.expires_on, datetime)
    ):
        raise errors.InvalidDate(
            f"“{entry.expires_on}” is not an expiry date.", field="expires_on"
        )
    problem = entry.expires_on and out_of_range(entry.expires_on, what="The expiry date")
    if problem:
        raise errors.InvalidDate(problem, field="expires_on")
    expiry = entry.expires_on
    if expiry is None:
        expiry = (
            Lot.objects.filter(product=product, code=entry.lot_code)
            .values_list("expires_on", flat=True)
            .first()
        )
    if expiry is not None and expiry < today and not confirm_expired:
        raise errors.ExpiredConfirm(
            f"Lot {entry.lot_code} of {product.sku} expired on {expiry.isoformat()}. "
            "Receive it anyway?",
            field="expires_on",
        )


def _check_location(
    entry: _Entry, order: PurchaseOrder, default: Location | None, *, allow_quarantine: bool
) -> Location:
    product = entry.line.product
    location = entry.location or default
    if location is None:
        raise errors.NoReceivingLocation(
            f"Warehouse {order.warehouse.code} has no active receiving location: choose where "
            f"the {product.sku} goes.",
            field="location",
        )
    if location.warehouse_id != order.warehouse_id:
        raise errors.WrongWarehouse(
            f"{location} is not in warehouse {order.warehouse.code}, where {order.number} is "
            "delivered.",
            field="location",
        )
    if not location.active:
        raise errors.LocationNotReceivable(
            f"Location {location} is inactive: receive {product.sku} somewhere else.",
            field="location",
        )
    if location.kind == Location.Kind.SHIPPING:
        raise errors.LocationNotReceivable(
            f"{location} is a shipping location: receive {product.sku} into a receiving or "
            "storage location.",
            field="location",
        )
    if location.kind == Location.Kind.QUARANTINE and not allow_quarantine:
        raise errors.QuarantineLocation(
            f"{location} is a quarantine location: goods received there cannot be sold. "
            "Confirm to receive into quarantine.",
            field="location",
        )
    return location


def _check_receivable(order: PurchaseOrder) -> None:
    if order.dropship:
        raise errors.NotReceivable(
            f"{order.number} is a dropship order: the supplier ships it straight to the "
            "customer, so nothing is received into stock. Record the supplier's shipment "
            "(tracking number) instead.",
            field="order",
        )
    if order.status not in RECEIVABLE_STATUSES:
        hint = {
            Status.DRAFT: "send it first",
            Status.CANCELLED: "nothing more can arrive on it",
            Status.CLOSED: "the short delivery was accepted; order the rest on a new order",
        }.get(order.status, "")
        raise errors.NotReceivable(
            f"{order.number} is {status_label(order.status)}: it cannot be received"
            + (f" ({hint})." if hint else "."),
            field="order",
        )


def _post(
    entry: _Entry,
    line: PurchaseOrderLine,
    order: PurchaseOrder,
    location: Location,
    *,
    user,
    received_on: date,
    at: datetime | None,
) -> ReceiptLine:
    product = line.product
    limit = allowance(line, order.supplier.receipt_tolerance_percent)
    total = line.quantity_received + entry.quantity
    if total > limit:
        tolerance = order.supplier.receipt_tolerance_percent
        left = max(limit - line.quantity_received, 0)
        raise errors.OverReceipt(
            f"{product.sku}: {line.quantity_ordered} ordered, {line.quantity_received} already "
            f"received; {entry.quantity} more would make {total}. {order.supplier.code} allows "
            f"at most {limit} ({_percent(tolerance)} over-receipt tolerance), so at most {left} "
            f"more {'unit' if left == 1 else 'units'} can be received.",
            field="quantity",
        )
    try:
        # No savepoint of its own: a refusal leaves through this receipt's atomic block,
        # which rolls back to its savepoint (or the whole transaction).
        with joined():
            move = ledger.receive(
                product=product,
                location=location,
                quantity=entry.quantity,
                unit_cost=line.unit_cost,
                lot_code=entry.lot_code,
                expires_on=entry.expires_on,
                user=user,
                document=line,
                reference=order.number,
                at=at,
            )
    except LedgerError as exc:
        raise errors.StockRefused.from_ledger(exc) from exc
    PurchaseOrderLine.objects.filter(pk=line.pk).update(
        quantity_received=F("quantity_received") + entry.quantity
    )
    line.quantity_received += entry.quantity
    ordered_on = _ordered_on(order)
    return ReceiptLine.objects.create(
        line=line,
        move=move,
        quantity=entry.quantity,
        ordered_on=ordered_on,
        expected_on=line.expected_on or order.expected_on,
        received_on=received_on,
        lead_time_days=(received_on - ordered_on).days,
        user=user,
    )


def _update_status(
    order: PurchaseOrder, locked: PurchaseOrder, lines: dict, user, note: str
) -> None:
    """Set received or partially received from the order's locked lines (all of them)."""
    complete = all(line.quantity_received >= line.quantity_ordered for line in lines.values())
    status = Status.RECEIVED if complete else Status.PARTIALLY_RECEIVED
    if status != locked.status:
        change_status(order, locked, status, user, note)


def _receive(
    *,
    order: PurchaseOrder,
    entries: list[_Entry],
    user,
    confirm_expired: bool,
    allow_quarantine: bool,
    received_on,
) -> list[ReceiptLine]:
    today = timezone.localdate()
    _check_entries(order, entries, today=today, confirm_expired=confirm_expired)
    # The ledger calls below post these products: they are not locked a second time.
    with ledger.holding_products(
        Product(pk=pk) for pk in sorted({entry.line.product_id for entry in entries})
    ):
        locked = _lock_order(order, dock=any(entry.location is None for entry in entries))
        _check_receivable(locked)
        received_on = _check_received_on(received_on, locked)
        at = None
        if received_on != today:
            at = timezone.make_aware(datetime.combine(received_on, time(12)))
        lines = _lock_lines(locked)
        default = locked.dock
        receipts = []
        for index, entry in enumerate(entries):
            line = lines.get(entry.line.pk)
            try:
                if line is None:
                    raise errors.WrongOrder(
                        f"{entry.line.product.sku} is no longer on {locked.number}.",
                        field="line",
                    )
                location = _check_location(
                    entry, locked, default, allow_quarantine=allow_quarantine
                )
                receipts.append(
                    _post(entry, line, locked, location, user=user, received_on=received_on, at=at)
                )
            except errors.PurchasingError as exc:
                _tag(exc, index, entry)
                raise
        summary = ", ".join(f"{r.quantity} × {lines[r.line_id].product.sku}" for r in receipts)
        _update_status(order, locked, lines, user, f"Received {summary}"[:255])
    # The caller's objects change only once nothing can refuse any more.
    for entry in entries:
        entry.line.quantity_received = lines[entry.line.pk].quantity_received
    return receipts


def _check_entries(
    order: PurchaseOrder, entries: list[_Entry], *, today: date, confirm_expired: bool
) -> None:
    """Refuse an empty receipt, a line of another order, or an entry that cannot be."""
    if not entries:
        raise errors.NothingToReceive("Give at least one line and quantity to receive.")
    for index, entry in enumerate(entries):
        if entry.line.order_id != order.pk:
            raise _tag(
                errors.WrongOrder(
                    f"{entry.line.product.sku} is on another purchase order, not {order.number}.",
                    field="line",
                ),
                index,
                entry,
            )
    for index, entry in enumerate(entries):
        try:
            _check_entry(entry, today=today, confirm_expired=confirm_expired)
        except (errors.PurchasingError, LedgerError) as exc:
            _tag(exc, index, entry)
            raise


def _lock_lines(locked: PurchaseOrder) -> dict[int, PurchaseOrderLine]:
    """Lock every line of the order, by primary key, behind its order row.

    The status after the receipt is decided from all of them, read here once.
    """
    return {
        line.pk: line
        for line in PurchaseOrderLine.objects.select_for_update(of=("self",))
        .select_related("product")
        .filter(order=locked)
        .order_by("pk")
    }


def _tag(error: Exception, index: int, entry: _Entry) -> Exception:
    """Say which entry of a multi-line receipt was refused (``error.index``, ``error.line``)."""
    error.index = index
    error.line = entry.line
    return error


@atomic_with_retry
def receive_line(
    *,
    line: PurchaseOrderLine,
    quantity: int,
    location: Location | None = None,
    lot_code: str | None = None,
    expires_on: date | None = None,
    user=None,
    confirm_expired: bool = False,
    allow_quarantine: bool = False,
    received_on: date | None = None,
) -> ReceiptLine:
    """Receive ``quantity`` units of one order line into ``location`` (default: receiving dock).

    Tracked products need ``lot_code`` (and ``expires_on`` for a new lot with expiry);
    a past expiry raises ``ExpiredConfirm`` (code ``expired_confirm``) unless
    ``confirm_expired``; a quarantine location needs ``allow_quarantine``.
    ``received_on`` backdates the receipt (default today).
    """
    (receipt,) = _receive(
        order=line.order,
        entries=[_Entry(line, quantity, location, lot_code, expires_on)],
        user=user,
        confirm_expired=confirm_expired,
        allow_quarantine=allow_quarantine,
        received_on=received_on,
    )
    return receipt


@atomic_with_retry
def receive_order(
    *,
    order: PurchaseOrder,
    lines: list[dict],
    user=None,
    confirm_expired: bool = False,
    allow_quarantine: bool = False,
    received_on: date | None = None,
) -> list[ReceiptLine]:
    """Receive several lines of ``order`` in one transaction: all of them or none.

    Each dict holds ``line`` and ``quantity``, optionally ``location``, ``lot_code``,
    ``expires_on``. A refusal carries ``index`` (position in ``lines``) and ``line``.
    """
    entries = []
    for index, spec in enumerate(lines):
        unknown = set(spec) - {"line", "quantity", "location", "lot_code", "expires_on"}
        if "line" not in spec or "quantity" not in spec or unknown:
            error = errors.PurchasingError(
                f"Receipt entry {index + 1} needs a line and a quantity"
                + (f", not {', '.join(sorted(unknown))}." if unknown else "."),
                field="lines",
            )
            error.index = index
            raise error
        entries.append(
            _Entry(
                line=spec["line"],
                quantity=spec["quantity"],
                location=spec.get("location"),
                lot_code=spec.get("lot_code"),
                expires_on=spec.get("expires_on"),
            )
        )
    return _receive(
        order=order,
        entries=entries,
        user=user,
        confirm_expired=confirm_expired,
        allow_quarantine=allow_quarantine,
        received_on=received_on,
    )
