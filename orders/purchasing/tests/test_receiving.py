"""Receiving purchase orders: ledger receipts, lots, locations, tolerance, status, lead times."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from common.testing import run_threads
from inventory import errors as ledger_errors
from inventory import ledger
from inventory.integrity import find_differences
from inventory.models import CostLayer, Lot, StockLevel, StockMove
from orders.models import PurchaseOrder, PurchaseOrderEvent, ReceiptLine
from orders.purchasing import errors, receiving
from orders.purchasing import services as purchasing
from warehouses.models import Location, Warehouse

Status = PurchaseOrder.Status


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def mug_line(sent_order, product):
    return sent_order.lines.get(product=product)


@pytest.fixture
def tea_line(sent_order, lot_product):
    return sent_order.lines.get(product=lot_product)


def test_a_receipt_posts_the_ledger_at_the_line_cost_into_the_receiving_dock(
    mug_line, locations, clerk, today
):
    order = mug_line.order
    receipt = receiving.receive_line(line=mug_line, quantity=4, user=clerk)

    move = receipt.move
    assert move.kind == StockMove.Kind.RECEIPT
    assert (move.product_id, move.quantity, move.to_location) == (
        mug_line.product_id,
        4,
        locations["receiving"],
    )
    assert move.unit_cost == Decimal("2.5") and move.total_cost == Decimal("10")
    assert move.reference == order.number and move.user == clerk
    assert move.document_type == ContentType.objects.get_for_model(mug_line)
    assert move.document_id == mug_line.pk
    layer = CostLayer.objects.get(move=move)
    assert (layer.quantity, layer.remaining, layer.unit_cost) == (4, 4, Decimal("2.5"))
    assert StockLevel.objects.get(product=mug_line.product).on_hand == 4

    mug_line.refresh_from_db()
    assert mug_line.quantity_received == 4
    order.refresh_from_db()
    assert order.status == Status.PARTIALLY_RECEIVED
    event = order.events.last()
    assert (event.from_status, event.to_status, event.user) == (
        Status.SENT,
        Status.PARTIALLY_RECEIVED,
        clerk,
    )
    assert "4 × MUG-001" in event.note

    assert receipt.quantity == 4 and receipt.user == clerk
    assert receipt.ordered_on == timezone.localdate(order.sent_at) == today
    assert receipt.expected_on == order.expected_on == today + timedelta(days=7)
    assert receipt.received_on == today and receipt.lead_time_days == 0
    assert receipt.days_late == -7
    assert list(find_differences()) == []


def test_the_caller_objects_follow_the_receipt(mug_line, tea_line):
    receiving.receive_line(line=mug_line, quantity=10)
    assert mug_line.quantity_received == 10
    assert mug_line.order.status == Status.PARTIALLY_RECEIVED


def test_receiving_every_line_in_full_makes_the_order_received(
    sent_order, mug_line, tea_line, locations, clerk, today
):
    receiving.receive_order(
        order=sent_order,
        lines=[
            {"line": mug_line, "quantity": 10, "location": locations["bin1"]},
            {
                "line": tea_line,
                "quantity": 20,
                "location": locations["bin2"],
                "lot_code": "T-1",
                "expires_on": today + timedelta(days=200),
            },
        ],
        user=clerk,
    )
    assert sent_order.status == Status.RECEIVED
    sent_order.refresh_from_db()
    assert sent_order.status == Status.RECEIVED
    # One event for the whole delivery: straight from sent to received.
    assert list(sent_order.events.values_list("from_status", "to_status")) == [
        ("", Status.DRAFT),
        (Status.DRAFT, Status.SENT),
        (Status.SENT, Status.RECEIVED),
    ]
    lot = Lot.objects.get(product=tea_line.product, code="T-1")
    assert lot.expires_on == today + timedelta(days=200)
    assert StockLevel.objects.get(product=tea_line.product, lot=lot).location == locations["bin2"]
    assert StockLevel.objects.get(product=mug_line.product).location == locations["bin1"]
    assert ReceiptLine.objects.count() == 2


def test_a_lot_of_a_tracked_product_is_required(tea_line, refused):
    with refused(ledger_errors.LotRequired, "lot_required", "TEA-100", "lot code"):
        receiving.receive_line(line=tea_line, quantity=5)
    with refused(ledger_errors.LotRequired, "lot_required"):
        receiving.receive_line(line=tea_line, quantity=5, lot_code="   ")


def test_a_lot_on_an_untracked_product_is_refused(mug_line, refused, today):
    with refused(ledger_errors.LotNotAllowed, "lot_not_allowed", "MUG-001", "L-1"):
        receiving.receive_line(line=mug_line, quantity=5, lot_code="L-1")
    with refused(ledger_errors.LotNotAllowed, "lot_not_allowed", "expiry"):
        receiving.receive_line(line=mug_line, quantity=5, expires_on=today + timedelta(9))


def test_a_new_lot_without_expiry_surfaces_the_ledger_refusal(tea_line, refused):
    with refused(errors.StockRefused, "expiry_required", "TEA-100", "expiry date") as caught:
        receiving.receive_line(line=tea_line, quantity=5, lot_code="NEW-1")
    assert caught.value.field == "expires_on"


def test_a_lot_with_another_expiry_surfaces_the_ledger_refusal(tea_line, refused, today):
    receiving.receive_line(
        line=tea_line, quantity=5, lot_code="L-9", expires_on=today + timedelta(30)
    )
    with refused(errors.StockRefused, "lot_expiry_conflict", "L-9"):
        receiving.receive_line(
            line=tea_line, quantity=5, lot_code="L-9", expires_on=today + timedelta(31)
        )


def test_an_expired_lot_needs_confirmation(tea_line, refused, today):
    yesterday = today - timedelta(days=1)
    with refused(errors.ExpiredConfirm, "expired_confirm", "OLD-1", yesterday.isoformat()):
        receiving.receive_line(line=tea_line, quantity=5, lot_code="OLD-1", expires_on=yesterday)
    receipt = receiving.receive_line(
        line=tea_line, quantity=5, lot_code="OLD-1", expires_on=yesterday, confirm_expired=True
    )
    assert receipt.move.lot.expires_on == yesterday
    # A known lot that has expired asks as well, also without an expiry date given.
    with refused(errors.ExpiredConfirm, "expired_confirm", "OLD-1"):
        receiving.receive_line(line=tea_line, quantity=1, lot_code="OLD-1")


def test_an_expiry_date_of_today_is_not_past(tea_line, today):
    receipt = receiving.receive_line(line=tea_line, quantity=1, lot_code="D-0", expires_on=today)
    assert receipt.quantity == 1


def test_quarantine_is_refused_unless_allowed(mug_line, locations, refused):
    with refused(errors.QuarantineLocation, "quarantine_location", "WH1-QUA"):
        receiving.receive_line(line=mug_line, quantity=2, location=locations["quarantine"])
    receipt = receiving.receive_line(
        line=mug_line, quantity=2, location=locations["quarantine"], allow_quarantine=True
    )
    assert receipt.move.to_location == locations["quarantine"]


def test_a_location_of_another_warehouse_is_refused(mug_line, refused):
    other = Warehouse.objects.create(code="WH2", name="Other")
    dock = Location.objects.create(
        warehouse=other, code="RCV", barcode="WH2-RCV", kind=Location.Kind.RECEIVING
    )
    with refused(errors.WrongWarehouse, "wrong_warehouse", "WH1", mug_line.order.number):
        receiving.receive_line(line=mug_line, quantity=2, location=dock)


def test_shipping_and_inactive_locations_are_refused(mug_line, locations, refused):
    with refused(errors.LocationNotReceivable, "location_not_receivable", "shipping"):
        receiving.receive_line(line=mug_line, quantity=2, location=locations["shipping"])
    Location.objects.filter(pk=locations["bin1"].pk).update(active=False)
    locations["bin1"].refresh_from_db()
    with refused(errors.LocationNotReceivable, "location_not_receivable", "inactive"):
        receiving.receive_line(line=mug_line, quantity=2, location=locations["bin1"])


def test_without_a_receiving_location_the_location_must_be_given(mug_line, locations, refused):
    Location.objects.filter(pk=locations["receiving"].pk).update(active=False)
    with refused(errors.NoReceivingLocation, "no_receiving_location", "WH1"):
        receiving.receive_line(line=mug_line, quantity=2)
    assert receiving.receive_line(line=mug_line, quantity=2, location=locations["bin1"])


def test_the_first_active_receiving_location_is_the_default(mug_line, locations, warehouse):
    Location.objects.create(
        warehouse=warehouse, code="RCV2", barcode="WH1-RCV2", kind=Location.Kind.RECEIVING
    )
    assert receiving.receiving_location(warehouse) == locations["receiving"]
    assert (
        receiving.receive_line(line=mug_line, quantity=1).move.to_location
        == (locations["receiving"])
    )


@pytest.mark.parametrize("quantity", [0, -3, 2.5, "4", True, None])
def test_quantities_must_be_positive_whole_numbers(mug_line, refused, quantity):
    with refused(errors.InvalidQuantity, "invalid_quantity", "MUG-001"):
        receiving.receive_line(line=mug_line, quantity=quantity)


def test_over_receipt_is_refused_without_tolerance(mug_line, refused):
    with refused(errors.OverReceipt, "over_receipt", "10 ordered", "at most 10", "0 %"):
        receiving.receive_line(line=mug_line, quantity=11)
    receiving.receive_line(line=mug_line, quantity=7)
    with refused(errors.OverReceipt, "over_receipt", "7 already received", "at most 3 more"):
        receiving.receive_line(line=mug_line, quantity=4)
    receiving.receive_line(line=mug_line, quantity=3)
    mug_line.refresh_from_db()
    assert mug_line.quantity_received == 10


def test_over_receipt_within_the_tolerance_is_accepted_floor(mug_line, supplier, refused):
    supplier.receipt_tolerance_percent = Decimal("15")  # 10 × 1.15 = 11.5 → 11
    supplier.save()
    with refused(errors.OverReceipt, "over_receipt", "at most 11", "15 %", "at most 11 more"):
        receiving.receive_line(line=mug_line, quantity=12)
    receiving.receive_line(line=mug_line, quantity=10)
    assert mug_line.order.status == Status.PARTIALLY_RECEIVED  # the tea is still open
    receiving.receive_line(line=mug_line, quantity=1)
    with refused(errors.OverReceipt, "over_receipt", "11 already received", "at most 0 more"):
        receiving.receive_line(line=mug_line, quantity=1)
    assert receiving.allowance(mug_line, Decimal("15")) == 11
    assert receiving.allowance(mug_line, Decimal("10")) == 11
    assert receiving.allowance(mug_line, Decimal("9.99")) == 10


def test_a_received_order_still_takes_units_within_the_tolerance(
    sent_order, mug_line, tea_line, supplier, today
):
    supplier.receipt_tolerance_percent = Decimal("10")
    supplier.save()
    receiving.receive_line(line=mug_line, quantity=10)
    receiving.receive_line(
        line=tea_line, quantity=20, lot_code="A", expires_on=today + timedelta(90)
    )
    assert sent_order.status == Status.RECEIVED
    receiving.receive_line(line=mug_line, quantity=1)
    sent_order.refresh_from_db()
    assert sent_order.status == Status.RECEIVED


@pytest.mark.parametrize(
    ("prepare", "fragment"),
    [
        (lambda order, user: None, "draft"),
        (lambda order, user: purchasing.cancel_order(order=order, user=user), "cancelled"),
    ],
)
def test_drafts_and_cancelled_orders_cannot_be_received(
    draft_order, buyer, refused, prepare, fragment
):
    prepare(draft_order, buyer)
    line = draft_order.lines.first()
    with refused(errors.NotReceivable, "not_receivable", draft_order.number, fragment):
        receiving.receive_line(line=line, quantity=1)


def test_a_closed_order_cannot_be_received(mug_line, buyer, refused):
    receiving.receive_line(line=mug_line, quantity=5)
    purchasing.close_order(order=mug_line.order, user=buyer, reason="rest out of stock")
    with refused(errors.NotReceivable, "not_receivable", "closed"):
        receiving.receive_line(line=mug_line, quantity=1)


def test_receive_order_is_all_or_nothing(sent_order, mug_line, tea_line, locations, refused):
    with refused(ledger_errors.LotRequired, "lot_required", "TEA-100") as caught:
        receiving.receive_order(
            order=sent_order,
            lines=[{"line": mug_line, "quantity": 5}, {"line": tea_line, "quantity": 5}],
        )
    assert caught.value.index == 1 and caught.value.line == tea_line
    assert mug_line.quantity_received == 0 and sent_order.status == Status.SENT
    # A refusal found only after the first line was posted rolls that one back too.
    with refused(errors.QuarantineLocation, "quarantine_location") as caught:
        receiving.receive_order(
            order=sent_order,
            lines=[
                {"line": mug_line, "quantity": 5},
                {"line": mug_line, "quantity": 1, "location": locations["quarantine"]},
            ],
        )
    assert caught.value.index == 1
    assert mug_line.quantity_received == 0


def test_receive_order_counts_two_entries_for_one_line_together(sent_order, mug_line, refused):
    with refused(errors.OverReceipt, "over_receipt", "6 already received"):
        receiving.receive_order(
            order=sent_order,
            lines=[{"line": mug_line, "quantity": 6}, {"line": mug_line, "quantity": 5}],
        )


def test_receive_order_refuses_lines_of_another_order(
    sent_order, supplier_product, warehouse, buyer, refused
):
    other = purchasing.create_order(supplier=supplier_product.supplier, warehouse=warehouse)
    line = purchasing.set_line(order=other, product=supplier_product.product, quantity=3)
    with refused(errors.WrongOrder, "wrong_order", sent_order.number):
        receiving.receive_order(order=sent_order, lines=[{"line": line, "quantity": 1}])


def test_receive_order_refuses_an_empty_or_malformed_list(sent_order, mug_line, refused):
    with refused(errors.NothingToReceive, "nothing_to_receive"):
        receiving.receive_order(order=sent_order, lines=[])
    with refused(errors.PurchasingError, "purchasing_error", "needs a line and a quantity"):
        receiving.receive_order(order=sent_order, lines=[{"line": mug_line}])
    with refused(errors.PurchasingError, "purchasing_error", "colour"):
        receiving.receive_order(
            order=sent_order, lines=[{"line": mug_line, "quantity": 1, "colour": "red"}]
        )


def test_a_backdated_receipt_records_its_lead_time(sent_order, mug_line, today, monkeypatch):
    sent_at = timezone.now() - timedelta(days=12)
    PurchaseOrder.objects.filter(pk=sent_order.pk).update(sent_at=sent_at)
    receipt = receiving.receive_line(line=mug_line, quantity=2, received_on=today - timedelta(2))
    assert receipt.ordered_on == timezone.localdate(sent_at)
    assert receipt.lead_time_days == 10
    assert timezone.localdate(receipt.move.created_at) == today - timedelta(2)


def test_receipt_dates_in_the_future_or_before_sending_are_refused(mug_line, today, refused):
    with refused(errors.InvalidDate, "invalid_date", "future"):
        receiving.receive_line(line=mug_line, quantity=1, received_on=today + timedelta(1))
    with refused(errors.InvalidDate, "invalid_date", "before"):
        receiving.receive_line(line=mug_line, quantity=1, received_on=today - timedelta(1))
    with refused(errors.InvalidDate, "invalid_date"):
        receiving.receive_line(line=mug_line, quantity=1, received_on="yesterday")


def test_line_expected_date_wins_over_the_order_date(draft_order, product, buyer, today):
    line = purchasing.set_line(
        order=draft_order, product=product, quantity=10, expected_on=today + timedelta(3)
    )
    purchasing.send_order(order=draft_order, user=buyer)
    receipt = receiving.receive_line(line=line, quantity=1)
    assert receipt.expected_on == today + timedelta(3)
    assert receipt.days_late == -3


def test_the_done_when_flow(
    supplier,
    product,
    lot_product,
    warehouse,
    locations,
    buyer,
    clerk,
    mailoutbox,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    """Create, set lines with rounding, send (PDF + CSV email), two partial deliveries."""
    from orders.models import SupplierProduct
    from orders.purchasing.selectors import incoming_by_product, lead_time_stats

    SupplierProduct.objects.create(
        supplier=supplier, product=product, supplier_sku="M", unit_cost="2.40", pack_size=6
    )
    tea = SupplierProduct.objects.create(
        supplier=supplier,
        product=lot_product,
        supplier_sku="T",
        unit_cost="1.125",
        minimum_order_quantity=20,
    )
    # A receipt before the order, at another cost: FIFO keeps the layers apart.
    ledger.receive(product=product, location=locations["bin1"], quantity=3, unit_cost="2.00")
    now = timezone.now()
    today = timezone.localdate()
    sent_day = now - timedelta(days=10)

    order = purchasing.create_order(
        supplier=supplier, warehouse=warehouse, user=buyer, expected_on=today - timedelta(3)
    )
    mug = purchasing.set_line(order=order, product=product, quantity=7, user=buyer)
    tea_line = purchasing.set_line(order=order, product=lot_product, quantity=15, user=buyer)
    assert (mug.quantity_ordered, mug.note) == (12, "Rounded up from 7 to 12: packs of 6")
    assert (tea_line.quantity_ordered, tea_line.note) == (
        20,
        "Rounded up from 15 to 20: minimum order 20",
    )
    assert tea_line.unit_cost == Decimal("1.125")

    monkeypatch.setattr(timezone, "now", lambda: sent_day)
    with django_capture_on_commit_callbacks(execute=True):  # the email goes after commit
        purchasing.send_order(order=order, user=buyer)
    monkeypatch.undo()
    assert order.status == Status.SENT and order.sent_by == buyer
    (email,) = mailoutbox
    assert email.to == [supplier.email]
    (pdf_name, pdf, pdf_type), (csv_name, csv_text, csv_type) = email.attachments
    assert (pdf_name, pdf_type) == (f"{order.number}.pdf", "application/pdf")
    assert pdf.startswith(b"%PDF")
    assert (csv_name, csv_type) == (f"{order.number}.csv", "text/csv")
    assert csv_text.splitlines() == [
        "supplier_sku,sku,name,quantity,unit_cost,line_total",
        "M,MUG-001,Enamel mug,12,2.40,28.80",
        "T,TEA-100,Green tea 100 g,20,1.125,22.50",
    ]
    assert incoming_by_product() == {product.pk: 12, lot_product.pk: 20}

    expiry = today + timedelta(days=180)
    first = receiving.receive_order(
        order=order,
        lines=[
            {"line": mug, "quantity": 5, "location": locations["bin1"]},
            {"line": tea_line, "quantity": 8, "lot_code": "T-A", "expires_on": expiry},
        ],
        user=clerk,
        received_on=today - timedelta(days=2),
    )
    assert order.status == Status.PARTIALLY_RECEIVED
    assert incoming_by_product() == {product.pk: 7, lot_product.pk: 12}
    second = receiving.receive_order(
        order=order,
        lines=[
            {"line": mug, "quantity": 7, "location": locations["bin2"]},
            {"line": tea_line, "quantity": 12, "lot_code": "T-B", "expires_on": expiry},
        ],
        user=clerk,
    )
    order.refresh_from_db()
    assert order.status == Status.RECEIVED
    assert incoming_by_product() == {}

    def on_hand(item, **where):
        rows = StockLevel.objects.filter(product=item, **where)
        return rows.aggregate(total=Sum("on_hand"))["total"]

    assert on_hand(product, location=locations["bin1"]) == 8
    assert on_hand(product, location=locations["bin2"]) == 7
    assert on_hand(lot_product, location=locations["receiving"], lot__code="T-A") == 8
    assert on_hand(lot_product, location=locations["receiving"], lot__code="T-B") == 12
    assert list(
        CostLayer.objects.filter(product=product)
        .order_by("id")
        .values_list("quantity", "remaining", "unit_cost")
    ) == [(3, 3, Decimal("2")), (5, 5, Decimal("2.4")), (7, 7, Decimal("2.4"))]
    assert list(
        CostLayer.objects.filter(product=lot_product).order_by("id").values_list("unit_cost")
    ) == [(Decimal("1.125"),), (Decimal("1.125"),)]
    # FIFO: shipping 4 takes the 3 older units at 2.00 and one at 2.40.
    shipped = ledger.ship(product=product, location=locations["bin1"], quantity=4)
    assert shipped.total_cost == Decimal("8.40")

    assert [r.lead_time_days for r in first] == [8, 8]
    assert [r.lead_time_days for r in second] == [10, 10]
    assert [r.days_late for r in first + second] == [1, 1, 3, 3]
    stats = lead_time_stats(supplier=supplier)
    assert stats["n"] == 4 and stats["mean_days"] == 9 and stats["mean_days_late"] == 2
    assert stats["stdev_days"] == pytest.approx((4 / 3) ** 0.5)
    assert lead_time_stats(supplier_product=tea)["n"] == 2
    assert list(order.events.values_list("to_status", flat=True)) == [
        Status.DRAFT,
        Status.SENT,
        Status.PARTIALLY_RECEIVED,
        Status.RECEIVED,
    ]
    assert PurchaseOrderEvent.objects.filter(order=order, user=clerk).count() == 2
    assert list(find_differences()) == []


# --- two people receiving the same line at once ---------------------------------------


def race_on_one_line(threads: int, supplier, product, lot_product, warehouse, locations):
    """Every thread receives 2 units at a time of a line of 10 with 15 % tolerance (11)."""
    from orders.models import SupplierProduct

    supplier.receipt_tolerance_percent = Decimal("15")
    supplier.save()
    SupplierProduct.objects.create(supplier=supplier, product=product, unit_cost="3")
    SupplierProduct.objects.create(supplier=supplier, product=lot_product, unit_cost="1")
    order = purchasing.create_order(supplier=supplier, warehouse=warehouse)
    line = purchasing.set_line(order=order, product=product, quantity=10)
    tea = purchasing.set_line(order=order, product=lot_product, quantity=40)
    purchasing.send_order(order=order, user=None)
    expiry = timezone.localdate() + timedelta(days=60)
    accepted = [0] * threads
    refusals = [0] * threads

    def work(index):
        from orders.models import PurchaseOrderLine

        mine = PurchaseOrderLine.objects.get(pk=line.pk)
        tea_mine = PurchaseOrderLine.objects.get(pk=tea.pk)
        for round_ in range(6):
            try:
                receiving.receive_order(
                    order=mine.order,
                    lines=[
                        {
                            "line": tea_mine,
                            "quantity": 1,
                            "lot_code": f"L{index}-{round_}",
                            "expires_on": expiry,
                        },
                        {
                            "line": mine,
                            "quantity": 2,
                            "location": [locations["bin1"], locations["bin2"]][index % 2],
                        },
                    ],
                )
                accepted[index] += 2
            except errors.OverReceipt:
                refusals[index] += 1

    failures = run_threads(threads, work)
    assert failures == [], failures
    line.refresh_from_db()
    tea.refresh_from_db()
    # Each accepted delivery took 2: the most that fits in 11 is 10, never 12.
    assert line.quantity_received == sum(accepted) == 10
    assert tea.quantity_received == 5
    assert sum(refusals) == threads * 6 - 5
    assert ReceiptLine.objects.filter(line=line).aggregate(t=Sum("quantity"))["t"] == 10
    assert StockLevel.objects.filter(product=product).aggregate(t=Sum("on_hand"))["t"] == 10
    assert StockMove.objects.filter(product=product).count() == 5
    assert list(find_differences()) == []
    order.refresh_from_db()
    assert order.status == Status.PARTIALLY_RECEIVED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_people_receiving_one_line_on_postgresql(
    supplier, product, lot_product, warehouse, locations
):
    race_on_one_line(8, supplier, product, lot_product, warehouse, locations)


@pytest.mark.django_db(transaction=True)
def test_two_people_receiving_one_line_on_sqlite(
    supplier, product, lot_product, warehouse, locations
):
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite variant")
    race_on_one_line(2, supplier, product, lot_product, warehouse, locations)


@pytest.mark.django_db(transaction=True)
def test_a_receipt_and_a_cancellation_at_once_never_both_happen(
    supplier, product, lot_product, warehouse, locations
):
    """Either the order is cancelled with nothing received, or received and not cancelled."""
    from orders.models import SupplierProduct

    SupplierProduct.objects.create(supplier=supplier, product=product, unit_cost="3")
    outcomes = []
    for _ in range(4):
        order = purchasing.create_order(supplier=supplier, warehouse=warehouse)
        line = purchasing.set_line(order=order, product=product, quantity=10)
        purchasing.send_order(order=order, user=None)
        results = {}

        def work(index, order=order, line=line, results=results):
            try:
                if index == 0:
                    receiving.receive_line(line=line, quantity=3)
                else:
                    purchasing.cancel_order(order=order, user=None)
                results[index] = "done"
            except (errors.NotReceivable, errors.CloseInstead) as exc:
                results[index] = exc.code

        assert run_threads(2, work) == []
        order.refresh_from_db()
        line.refresh_from_db()
        if order.status == Status.CANCELLED:
            assert results == {0: "not_receivable", 1: "done"}
            assert line.quantity_received == 0 and not line.receipts.exists()
        else:
            assert order.status == Status.PARTIALLY_RECEIVED
            assert results == {0: "done", 1: "close_instead"}
            assert line.quantity_received == 3
        outcomes.append(order.status)
    on_hand = StockLevel.objects.filter(product=product).aggregate(t=Sum("on_hand"))["t"]
    assert (on_hand or 0) == 3 * outcomes.count(Status.PARTIALLY_RECEIVED)
    assert list(find_differences()) == []


def test_a_failed_enqueue_never_fails_a_committed_receipt(
    mug_line, web_store, place_order, monkeypatch, django_capture_on_commit_callbacks
):
    from orders.sales import tasks

    # A backorder waits for mugs: the receipt's stock_changed signal queues re-allocation.
    place_order(web_store, ("MUG-001", 1))

    def down(*args, **kwargs):
        raise RuntimeError("task queue down")

    monkeypatch.setattr(type(tasks.reallocate_backorders), "enqueue", down)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        receipt = receiving.receive_line(line=mug_line, quantity=4)

    assert callbacks, "the re-allocation is enqueued after commit"
    assert ReceiptLine.objects.filter(pk=receipt.pk).exists()
    mug_line.refresh_from_db()
    assert mug_line.quantity_received == 4


def test_an_expiry_date_out_of_range_is_refused(tea_line, refused):
    with refused(errors.InvalidDate, "invalid_date", "9999-12-31", "out of range"):
        receiving.receive_line(
            line=tea_line, quantity=5, lot_code="FAR-1", expires_on=date(9999, 12, 31)
        )
