"""Purchase orders: numbering, lines and rounding, sending, cancelling and closing."""

from django.core import mail

from orders.models import PurchaseOrder


def test_the_fixtures_build_a_sent_order(sent_order, buyer):
    assert sent_order.number == f"PO-{sent_order.pk:06d}"
    assert sent_order.status == PurchaseOrder.Status.SENT
    assert sent_order.lines.count() == 2
    assert len(mail.outbox) == 1
    pdf = mail.outbox[0].attachments[0]
    assert pdf[0].endswith(".pdf") and pdf[1].startswith(b"%PDF")
