"""Incoming quantities and lead-time statistics."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import PurchaseOrder, SupplierProduct
from orders.purchasing import receiving
from orders.purchasing import services as purchasing
from orders.purchasing.selectors import incoming_by_product, lead_time_stats


def test_incoming_counts_sent_and_partly_received_orders_only(
    draft_order, supplier_product, lot_supplier_product, warehouse, buyer, product, lot_product
):
    assert incoming_by_product() == {}  # a draft is not incoming
    purchasing.send_order(order=draft_order, user=buyer)
    assert incoming_by_product() == {product.pk: 10, lot_product.pk: 20}
    receiving.receive_line(line=draft_order.lines.get(product=product), quantity=4)
    assert incoming_by_product() == {product.pk: 6, lot_product.pk: 20}

    second = purchasing.create_order(supplier=supplier_product.supplier, warehouse=warehouse)
    purchasing.set_line(order=second, product=product, quantity=5)
    purchasing.send_order(order=second, user=buyer)
    assert incoming_by_product() == {product.pk: 11, lot_product.pk: 20}
    assert incoming_by_product([lot_product.pk]) == {lot_product.pk: 20}
    assert incoming_by_product([]) == {}

    purchasing.cancel_order(order=second, user=buyer)
    purchasing.close_order(order=draft_order, user=buyer)
    assert incoming_by_product() == {}


def test_an_over_received_line_never_counts_negative(
    sent_order, supplier, product, lot_product, warehouse, buyer
):
    supplier.receipt_tolerance_percent = Decimal("50")
    supplier.save()
    receiving.receive_line(line=sent_order.lines.get(product=product), quantity=15)
    # The mug line is 5 over; another open order for it still counts in full.
    other = purchasing.create_order(supplier=supplier, warehouse=warehouse)
    purchasing.set_line(order=other, product=product, quantity=3)
    purchasing.send_order(order=other, user=buyer)
    assert incoming_by_product() == {product.pk: 3, lot_product.pk: 20}


def test_incoming_is_one_query(sent_order, django_assert_num_queries):
    with django_assert_num_queries(1):
        incoming_by_product()
    with django_assert_num_queries(1):
        incoming_by_product([1, 2, 3])


def _receive_after(order, line, days, *, expected_in=None, quantity=1):
    """Receive ``quantity`` of ``line`` ``days`` after ``order`` was sent."""
    received_on = timezone.localdate(order.sent_at) + timedelta(days=days)
    return receiving.receive_line(line=line, quantity=quantity, received_on=received_on)


@pytest.fixture
def sent_long_ago(
    supplier, supplier_product, lot_supplier_product, warehouse, locations, buyer, monkeypatch
):
    """Send orders 30 days ago so receipts can be dated after it."""

    def make(expected_after: int | None = None):
        sent = timezone.now() - timedelta(days=30)
        expected = timezone.localdate(sent) + timedelta(expected_after) if expected_after else None
        order = purchasing.create_order(
            supplier=supplier, warehouse=warehouse, expected_on=expected
        )
        purchasing.set_line(order=order, product=supplier_product.product, quantity=10)
        purchasing.set_line(order=order, product=lot_supplier_product.product, quantity=10)
        with monkeypatch.context() as patch:
            patch.setattr(timezone, "now", lambda: sent)
            purchasing.send_order(order=order, user=buyer)
        if expected is None:
            # Orders get a date from the lead time now; older ones may have none.
            PurchaseOrder.objects.filter(pk=order.pk).update(expected_on=None)
            order.expected_on = None
        return order

    return make


def test_lead_time_statistics_per_supplier_and_supplier_product(
    sent_long_ago, supplier, supplier_product, lot_supplier_product, product, lot_product
):
    today = timezone.localdate()
    first = sent_long_ago(expected_after=6)
    second = sent_long_ago()  # no expected date: counts for lead time, not for lateness
    mug1, tea1 = first.lines.get(product=product), first.lines.get(product=lot_product)
    _receive_after(first, mug1, 5)
    _receive_after(first, mug1, 9)
    receiving.receive_line(
        line=tea1,
        quantity=2,
        lot_code="L",
        expires_on=today + timedelta(99),
        received_on=timezone.localdate(first.sent_at) + timedelta(7),
    )
    _receive_after(second, second.lines.get(product=product), 7)

    everything = lead_time_stats(supplier=supplier)
    assert everything["n"] == 4
    assert everything["mean_days"] == 7
    # Sample standard deviation of 5, 9, 7, 7: sqrt((4 + 4 + 0 + 0) / 3).
    assert everything["stdev_days"] == pytest.approx((8 / 3) ** 0.5)
    # Late against day 6: -1, +3, +1 (the second order had no expected date).
    assert everything["mean_days_late"] == pytest.approx(1)

    mug = lead_time_stats(supplier_product=supplier_product)
    assert mug["n"] == 3 and mug["mean_days"] == 7 and mug["stdev_days"] == 2
    assert mug["mean_days_late"] == 1  # -1 and +3
    tea = lead_time_stats(supplier_product=lot_supplier_product)
    assert tea == {"n": 1, "mean_days": 7, "stdev_days": None, "mean_days_late": 1}
    assert lead_time_stats() == everything


def test_lead_time_statistics_without_receipts(supplier, supplier_product, product):
    from orders.models import Supplier

    other = Supplier.objects.create(code="NEW", name="New supplier")
    empty = {"n": 0, "mean_days": None, "stdev_days": None, "mean_days_late": None}
    assert lead_time_stats(supplier=other) == empty
    assert lead_time_stats(supplier_product=supplier_product) == empty


def test_lead_time_statistics_of_one_supplier_leave_others_out(
    sent_long_ago, supplier, product, warehouse, buyer
):
    from orders.models import Supplier

    order = sent_long_ago()
    _receive_after(order, order.lines.get(product=product), 4)
    other = Supplier.objects.create(code="OTHER", name="Other", email="o@example.com")
    other_product = SupplierProduct.objects.create(supplier=other, product=product, unit_cost=1)
    assert lead_time_stats(supplier=other)["n"] == 0
    assert lead_time_stats(supplier_product=other_product)["n"] == 0
    assert lead_time_stats(supplier=supplier)["mean_days"] == 4


def test_lead_time_statistics_are_one_query(sent_long_ago, supplier, django_assert_num_queries):
    with django_assert_num_queries(1):
        lead_time_stats(supplier=supplier)
