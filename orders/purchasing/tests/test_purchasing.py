"""Purchase orders: numbering, lines and rounding, sending, cancelling and closing."""

import smtplib
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.mail import EmailMessage
from django.utils import timezone

from orders.models import PurchaseOrder, SupplierProduct
from orders.purchasing import errors, receiving
from orders.purchasing import services as purchasing

Status = PurchaseOrder.Status
EmailStatus = PurchaseOrder.EmailStatus


@pytest.fixture
def empty_order(supplier, warehouse, buyer):
    return purchasing.create_order(supplier=supplier, warehouse=warehouse, user=buyer)


# --- create_order -------------------------------------------------------------------


def test_orders_are_numbered_from_their_key(supplier, warehouse, buyer):
    first = purchasing.create_order(
        supplier=supplier, warehouse=warehouse, user=buyer, notes="Call before delivery"
    )
    second = purchasing.create_order(supplier=supplier, warehouse=warehouse)
    assert first.number == f"PO-{first.pk:06d}"
    assert second.number == f"PO-{second.pk:06d}"
    first.refresh_from_db()
    assert first.number == f"PO-{first.pk:06d}" and first.status == Status.DRAFT
    assert (first.created_by, first.notes) == (buyer, "Call before delivery")
    event = first.events.get()
    assert (event.from_status, event.to_status, event.user) == ("", Status.DRAFT, buyer)


def test_inactive_suppliers_and_warehouses_get_no_orders(supplier, warehouse, refused):
    supplier.active = False
    with refused(errors.SupplierInactive, "supplier_inactive", "ACME"):
        purchasing.create_order(supplier=supplier, warehouse=warehouse)
    supplier.active = True
    warehouse.active = False
    with refused(errors.WarehouseInactive, "warehouse_inactive", "WH1"):
        purchasing.create_order(supplier=supplier, warehouse=warehouse)


def test_an_expected_date_must_be_a_date(supplier, warehouse, refused):
    with refused(errors.InvalidDate, "invalid_date"):
        purchasing.create_order(supplier=supplier, warehouse=warehouse, expected_on="soon")


# --- set_line -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minimum", "pack", "asked", "ordered", "note"),
    [
        (1, 6, 7, 12, "Rounded up from 7 to 12: packs of 6"),
        (1, 6, 12, 12, ""),
        (10, 1, 3, 10, "Rounded up from 3 to 10: minimum order 10"),
        (10, 6, 3, 12, "Rounded up from 3 to 12: minimum order 10, packs of 6"),
        (10, 6, 13, 18, "Rounded up from 13 to 18: packs of 6"),
        (12, 6, 12, 12, ""),
        (1, 1, 1, 1, ""),
    ],
)
def test_quantities_round_up_to_minimum_order_and_pack_size(
    empty_order, supplier_product, minimum, pack, asked, ordered, note
):
    supplier_product.minimum_order_quantity = minimum
    supplier_product.pack_size = pack
    supplier_product.save()
    line = purchasing.set_line(order=empty_order, product=supplier_product.product, quantity=asked)
    line.refresh_from_db()
    assert (line.quantity_ordered, line.note) == (ordered, note)
    assert line.quantity_received == 0


def test_unit_cost_defaults_from_the_supplier_and_may_be_given(empty_order, supplier_product):
    line = purchasing.set_line(order=empty_order, product=supplier_product.product, quantity=2)
    assert line.unit_cost == Decimal("2.50")
    line = purchasing.set_line(
        order=empty_order, product=supplier_product.product, quantity=2, unit_cost="2.123456789"
    )
    line.refresh_from_db()
    assert line.unit_cost == Decimal("2.123457")


def test_setting_a_product_again_replaces_its_line(empty_order, supplier_product):
    today = timezone.localdate()
    first = purchasing.set_line(order=empty_order, product=supplier_product.product, quantity=5)
    second = purchasing.set_line(
        order=empty_order,
        product=supplier_product.product,
        quantity=8,
        unit_cost=Decimal("2.20"),
        expected_on=today,
    )
    assert second.pk == first.pk
    (line,) = empty_order.lines.all()
    assert (line.quantity_ordered, line.unit_cost, line.expected_on) == (
        8,
        Decimal("2.2"),
        today,
    )


def test_a_product_the_supplier_does_not_sell_is_refused(empty_order, lot_product, refused):
    with refused(errors.ProductNotSold, "product_not_sold", "ACME", "TEA-100"):
        purchasing.set_line(order=empty_order, product=lot_product, quantity=5)


def test_a_product_the_supplier_no_longer_sells_is_refused(empty_order, supplier_product, refused):
    SupplierProduct.objects.filter(pk=supplier_product.pk).update(active=False)
    with refused(errors.ProductNotSold, "product_not_sold", "MUG-001"):
        purchasing.set_line(order=empty_order, product=supplier_product.product, quantity=5)


def test_a_product_of_another_supplier_is_refused(empty_order, product, refused):
    from orders.models import Supplier

    other = Supplier.objects.create(code="OTHER", name="Other")
    SupplierProduct.objects.create(supplier=other, product=product, unit_cost="1")
    with refused(errors.ProductNotSold, "product_not_sold", "ACME does not sell MUG-001"):
        purchasing.set_line(order=empty_order, product=product, quantity=5)


def test_inactive_products_are_refused(empty_order, supplier_product, refused):
    product = supplier_product.product
    product.active = False
    product.save()
    with refused(errors.ProductInactive, "product_inactive", "MUG-001"):
        purchasing.set_line(order=empty_order, product=product, quantity=5)


def test_dropship_products_are_not_ordered_into_a_warehouse(
    empty_order, supplier, dropship_product, refused
):
    SupplierProduct.objects.create(supplier=supplier, product=dropship_product, unit_cost="90")
    with refused(errors.DropshipProduct, "dropship_product", "SOFA-9", "dropship", "WH1"):
        purchasing.set_line(order=empty_order, product=dropship_product, quantity=1)


@pytest.mark.parametrize("quantity", [0, -1, 2.5, "3", True, None, 10**10])
def test_line_quantities_must_be_positive_whole_numbers(
    empty_order, supplier_product, refused, quantity
):
    with refused(errors.InvalidQuantity, "invalid_quantity", "MUG-001"):
        purchasing.set_line(order=empty_order, product=supplier_product.product, quantity=quantity)


@pytest.mark.parametrize("cost", ["-1", "abc", "NaN", True, "99999999999"])
def test_line_costs_must_be_plausible(empty_order, supplier_product, refused, cost):
    with refused(errors.InvalidCost, "invalid_cost", "MUG-001"):
        purchasing.set_line(
            order=empty_order, product=supplier_product.product, quantity=1, unit_cost=cost
        )


def test_a_line_expected_date_must_be_a_date(empty_order, supplier_product, refused):
    with refused(errors.InvalidDate, "invalid_date", "MUG-001"):
        purchasing.set_line(
            order=empty_order, product=supplier_product.product, quantity=1, expected_on="1/2"
        )


def test_lines_change_only_in_a_draft(sent_order, product, refused):
    line = sent_order.lines.get(product=product)
    with refused(errors.NotEditable, "not_editable", sent_order.number, "sent", "draft"):
        purchasing.set_line(order=sent_order, product=product, quantity=50)
    with refused(errors.NotEditable, "not_editable", "sent"):
        purchasing.remove_line(line=line)


def test_a_stale_order_object_cannot_edit_a_sent_order(draft_order, product, buyer, refused):
    stale = PurchaseOrder.objects.get(pk=draft_order.pk)
    purchasing.send_order(order=draft_order, user=buyer)
    assert stale.status == Status.DRAFT
    with refused(errors.NotEditable, "not_editable", "sent"):
        purchasing.set_line(order=stale, product=product, quantity=50)
    assert stale.status == Status.SENT


def test_remove_line(draft_order, product):
    line = draft_order.lines.get(product=product)
    purchasing.remove_line(line=line)
    assert list(draft_order.lines.values_list("product__sku", flat=True)) == ["TEA-100"]


# --- send_order ---------------------------------------------------------------------


def test_sending_emails_the_supplier_after_commit_and_records_who_and_when(
    draft_order, buyer, mailoutbox, django_capture_on_commit_callbacks
):
    buyer.email = "buyer@shop.example"
    buyer.save()
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = purchasing.send_order(order=draft_order, user=buyer)
        # Nothing leaves before the status change commits.
        assert mailoutbox == []
        assert PurchaseOrder.objects.get(pk=draft_order.pk).email_status == EmailStatus.QUEUED
    assert len(callbacks) == 1
    assert result is draft_order and draft_order.status == Status.SENT
    draft_order.refresh_from_db()
    assert draft_order.status == Status.SENT and draft_order.sent_by == buyer
    assert draft_order.sent_at >= before
    assert (draft_order.email_status, draft_order.email_attempts) == (EmailStatus.SENT, 1)
    assert draft_order.email_at >= draft_order.sent_at and draft_order.email_error == ""
    event = draft_order.events.last()
    assert (event.from_status, event.to_status, event.user) == (Status.DRAFT, Status.SENT, buyer)
    assert "orders@acme.example" in event.note
    (attempt,) = draft_order.email_attempt_log.all()
    assert (attempt.attempt, attempt.to, attempt.delivered) == (1, "orders@acme.example", True)

    (email,) = mailoutbox
    assert email.to == ["orders@acme.example"]
    assert email.reply_to == ["buyer@shop.example"]
    assert email.subject == f"Purchase order {draft_order.number} from Main warehouse"
    assert draft_order.number in email.body and "10 × MUG-001 Enamel mug" in email.body
    assert "Acme Trading" in email.body
    names = [name for name, _, _ in email.attachments]
    assert names == [f"{draft_order.number}.pdf", f"{draft_order.number}.csv"]
    assert email.attachments[0][1].startswith(b"%PDF")
    assert email.attachments[1][1].splitlines() == [
        "supplier_sku,sku,name,quantity,unit_cost,line_total",
        "ACME-MUG,MUG-001,Enamel mug,10,2.50,25.00",
        "ACME-TEA,TEA-100,Green tea 100 g,20,1.20,24.00",
    ]


def test_an_empty_order_is_not_sent(empty_order, buyer, refused):
    with refused(errors.EmptyOrder, "empty_order", empty_order.number, "no lines"):
        purchasing.send_order(order=empty_order, user=buyer)


def test_a_supplier_without_email_is_not_emailed_but_can_be_marked_sent(
    draft_order, supplier, buyer, refused, mailoutbox, django_capture_on_commit_callbacks
):
    supplier.email = ""
    supplier.save()
    with refused(errors.NoSupplierEmail, "no_supplier_email", "ACME", "mark it as sent"):
        purchasing.send_order(order=draft_order, user=buyer)
    assert draft_order.status == Status.DRAFT

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        purchasing.mark_sent(order=draft_order, user=buyer, note="PDF by post")
    assert callbacks == [] and mailoutbox == []
    draft_order.refresh_from_db()
    assert (draft_order.status, draft_order.sent_by) == (Status.SENT, buyer)
    assert draft_order.email_status == EmailStatus.OUTSIDE
    assert draft_order.events.last().note == "Sent outside Stockroom (not emailed): PDF by post"
    # Its lines now count as incoming, as for an emailed order.
    from orders.purchasing.selectors import incoming_by_product

    assert sum(incoming_by_product().values()) == 30


def test_mark_sent_refuses_what_send_refuses(empty_order, sent_order, buyer, refused):
    with refused(errors.EmptyOrder, "empty_order", empty_order.number):
        purchasing.mark_sent(order=empty_order, user=buyer)
    with refused(errors.InvalidTransition, "invalid_transition", "only a draft"):
        purchasing.mark_sent(order=sent_order, user=buyer)


def test_an_inactive_supplier_is_not_sent_to(draft_order, supplier, buyer, refused):
    supplier.active = False
    supplier.save()
    with refused(errors.SupplierInactive, "supplier_inactive", "ACME"):
        purchasing.send_order(order=draft_order, user=buyer)


def test_an_order_is_sent_once(sent_order, buyer, refused):
    with refused(errors.InvalidTransition, "invalid_transition", "sent", "only a draft"):
        purchasing.send_order(order=sent_order, user=buyer)


def test_when_the_email_fails_the_order_stays_sent_and_the_failure_is_recorded(
    draft_order, buyer, mailoutbox, monkeypatch, django_capture_on_commit_callbacks
):
    def fail(self, fail_silently=False):
        raise smtplib.SMTPServerDisconnected("connection lost")

    monkeypatch.setattr(EmailMessage, "send", fail)
    with django_capture_on_commit_callbacks(execute=True):
        purchasing.send_order(order=draft_order, user=buyer)
    draft_order.refresh_from_db()
    assert (draft_order.status, draft_order.sent_by) == (Status.SENT, buyer)
    # The immediate backend cannot run a task later: no retry, failed at once.
    assert (draft_order.email_status, draft_order.email_attempts) == (EmailStatus.FAILED, 1)
    assert draft_order.email_error == "SMTPServerDisconnected: connection lost"
    (attempt,) = draft_order.email_attempt_log.all()
    assert (attempt.delivered, attempt.error) == (False, draft_order.email_error)
    assert mailoutbox == []

    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        purchasing.requeue_email(order=draft_order, user=buyer)
    draft_order.refresh_from_db()
    assert (draft_order.email_status, draft_order.email_attempts) == (EmailStatus.SENT, 1)
    assert [a.delivered for a in draft_order.email_attempt_log.all()] == [False, True]
    assert len(mailoutbox) == 1


def test_send_again_is_refused_for_drafts_cancelled_orders_and_suppliers_without_email(
    draft_order, empty_order, supplier, buyer, refused
):
    with refused(errors.InvalidTransition, "invalid_transition", "draft", "send it first"):
        purchasing.requeue_email(order=draft_order, user=buyer)
    purchasing.cancel_order(order=empty_order, user=buyer)
    with refused(errors.InvalidTransition, "invalid_transition", "cancelled"):
        purchasing.requeue_email(order=empty_order, user=buyer)
    purchasing.send_order(order=draft_order, user=buyer)
    supplier.email = ""
    supplier.save()
    with refused(errors.NoSupplierEmail, "no_supplier_email", "ACME", "supplier page"):
        purchasing.requeue_email(order=draft_order, user=buyer)


def test_an_order_without_a_date_is_expected_after_the_supplier_lead_time(
    supplier, supplier_product, lot_supplier_product, warehouse, buyer
):
    today = timezone.localdate()
    order = purchasing.create_order(supplier=supplier, warehouse=warehouse, user=buyer)
    assert order.expected_on == today + timedelta(days=7)
    order.refresh_from_db()
    assert order.expected_on == today + timedelta(days=7)

    # An order without a date (made in the admin) gets one when it goes out: the
    # longest lead time of its products at this supplier.
    lot_supplier_product.lead_time_days = 12
    lot_supplier_product.save()
    PurchaseOrder.objects.filter(pk=order.pk).update(expected_on=None)
    order.refresh_from_db()
    purchasing.set_line(order=order, product=supplier_product.product, quantity=1)
    purchasing.set_line(order=order, product=lot_supplier_product.product, quantity=1)
    purchasing.send_order(order=order, user=buyer)
    order.refresh_from_db()
    assert order.expected_on == today + timedelta(days=12)


def test_a_chosen_date_is_kept(supplier, warehouse):
    day = timezone.localdate() + timedelta(days=30)
    order = purchasing.create_order(supplier=supplier, warehouse=warehouse, expected_on=day)
    assert PurchaseOrder.objects.get(pk=order.pk).expected_on == day


@pytest.mark.parametrize(("quantity", "text"), [(1, "1 unit"), (3, "3 units"), (0, "0 units")])
def test_units_are_pluralised(quantity, text):
    assert purchasing.units(quantity) == text


# --- cancel and close ---------------------------------------------------------------


def test_a_sent_order_can_be_cancelled(sent_order, buyer):
    purchasing.cancel_order(order=sent_order, user=buyer, reason="Supplier cannot deliver")
    sent_order.refresh_from_db()
    assert sent_order.status == Status.CANCELLED
    event = sent_order.events.last()
    assert (event.from_status, event.to_status, event.user, event.note) == (
        Status.SENT,
        Status.CANCELLED,
        buyer,
        "Supplier cannot deliver",
    )


def test_a_draft_can_be_cancelled(empty_order, buyer):
    purchasing.cancel_order(order=empty_order, user=buyer)
    assert PurchaseOrder.objects.get(pk=empty_order.pk).status == Status.CANCELLED


def test_a_partially_received_order_must_be_closed_not_cancelled(sent_order, product, refused):
    receiving.receive_line(line=sent_order.lines.get(product=product), quantity=4)
    with refused(errors.CloseInstead, "close_instead", "partially received", "Close it instead"):
        purchasing.cancel_order(order=sent_order, user=None)


def test_a_received_order_can_be_neither_cancelled_nor_closed(
    sent_order, product, lot_product, buyer, refused
):
    today = timezone.localdate()
    receiving.receive_line(line=sent_order.lines.get(product=product), quantity=10)
    receiving.receive_line(
        line=sent_order.lines.get(product=lot_product),
        quantity=20,
        lot_code="X",
        expires_on=today + timedelta(9),
    )
    with refused(errors.InvalidTransition, "invalid_transition", "is received"):
        purchasing.cancel_order(order=sent_order, user=buyer)
    with refused(errors.InvalidTransition, "invalid_transition", "is received"):
        purchasing.close_order(order=sent_order, user=buyer)


def test_a_cancelled_order_stays_cancelled(empty_order, buyer, refused):
    purchasing.cancel_order(order=empty_order, user=buyer)
    with refused(errors.InvalidTransition, "invalid_transition", "cancelled"):
        purchasing.cancel_order(order=empty_order, user=buyer)
    with refused(errors.InvalidTransition, "invalid_transition", "cancelled"):
        purchasing.close_order(order=empty_order, user=buyer)
    with refused(errors.InvalidTransition, "invalid_transition", "cancelled"):
        purchasing.send_order(order=empty_order, user=buyer)


def test_closing_accepts_a_short_delivery(sent_order, product, buyer):
    from orders.purchasing.selectors import incoming_by_product

    receiving.receive_line(line=sent_order.lines.get(product=product), quantity=4)
    assert incoming_by_product([product.pk]) == {product.pk: 6}
    purchasing.close_order(order=sent_order, user=buyer, reason="Rest discontinued")
    sent_order.refresh_from_db()
    assert sent_order.status == Status.CLOSED
    assert incoming_by_product() == {}
    assert list(sent_order.events.values_list("from_status", "to_status", "note"))[-1] == (
        Status.PARTIALLY_RECEIVED,
        Status.CLOSED,
        "Rest discontinued",
    )


def test_only_a_partially_received_order_can_be_closed(draft_order, buyer, refused):
    with refused(errors.InvalidTransition, "invalid_transition", "draft"):
        purchasing.close_order(order=draft_order, user=buyer)
    purchasing.send_order(order=draft_order, user=buyer)
    with refused(errors.InvalidTransition, "invalid_transition", "cancel it instead"):
        purchasing.close_order(order=draft_order, user=buyer)


# --- at the same time ---------------------------------------------------------------


def _threads() -> int:
    from django.db import connection

    return 8 if connection.vendor == "postgresql" else 2


@pytest.mark.django_db(transaction=True)
def test_orders_created_at_once_get_unique_numbers(supplier, warehouse):
    from common.testing import run_threads

    made = []

    def work(index):
        for _ in range(5):
            made.append(purchasing.create_order(supplier=supplier, warehouse=warehouse).pk)

    assert run_threads(_threads(), work) == []
    numbers = dict(PurchaseOrder.objects.values_list("pk", "number"))
    assert sorted(numbers) == sorted(made) and len(made) == 5 * _threads()
    assert all(number == f"PO-{pk:06d}" for pk, number in numbers.items())


@pytest.mark.django_db(transaction=True)
def test_an_order_sent_twice_at_once_is_sent_once(draft_order, buyer, mailoutbox):
    from common.testing import run_threads

    refusals = []

    def work(index):
        try:
            purchasing.send_order(order=PurchaseOrder.objects.get(pk=draft_order.pk), user=buyer)
        except errors.InvalidTransition as exc:
            refusals.append(exc)

    assert run_threads(_threads(), work) == []
    assert len(refusals) == _threads() - 1
    assert len(mailoutbox) == 1
    assert draft_order.events.filter(to_status=Status.SENT).count() == 1


# --- dropship orders serving sales orders ---------------------------------------------


@pytest.fixture
def sofa_order(web_store, dropship_supplier, place_order):
    """A sales order for 1 × SOFA-9: a draft dropship PO at DROPCO ships it."""
    return place_order(web_store, ("SOFA-9", 1))


def test_a_line_serving_a_sales_order_is_not_removed(sofa_order, buyer, refused):
    purchase = PurchaseOrder.objects.get(dropship=True)

    with refused(errors.NotEditable, "not_editable", "SOFA-9", sofa_order.number, "cancel"):
        purchasing.remove_line(line=purchase.lines.get(), user=buyer)


@pytest.mark.parametrize("sent", [False, True], ids=["draft", "sent"])
def test_a_dropship_order_serving_sales_orders_is_not_cancelled(sofa_order, buyer, refused, sent):
    purchase = PurchaseOrder.objects.get(dropship=True)
    if sent:
        purchasing.send_order(order=purchase, user=buyer)

    with refused(
        errors.InvalidTransition, "invalid_transition", sofa_order.number, "cancel the sales"
    ):
        purchasing.cancel_order(order=purchase, user=buyer)


def test_once_the_sales_order_is_cancelled_its_dropship_order_is_too(sofa_order, buyer):
    from orders.sales import services as sales

    purchase = PurchaseOrder.objects.get(dropship=True)
    purchasing.send_order(order=purchase, user=buyer)

    sales.cancel_order(order=sofa_order)

    purchase.refresh_from_db()
    assert purchase.status == PurchaseOrder.Status.CANCELLED


@pytest.mark.parametrize("day", [date(9999, 12, 31), date(1999, 12, 31)])
def test_an_expected_date_out_of_range_is_refused(supplier, warehouse, refused, day):
    with refused(errors.InvalidDate, "invalid_date", day.isoformat(), "out of range"):
        purchasing.create_order(supplier=supplier, warehouse=warehouse, expected_on=day)
