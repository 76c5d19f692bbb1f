"""Sending purchase orders the way `make run` does: the email after commit, never a 500.

The end-to-end tests are transactional, so ``transaction.on_commit`` runs the email
task (the immediate backend of the test settings) inside the request as it does in
production after the commit.
"""

import socket
from datetime import timedelta
from unittest import mock

import pytest
from django.core.mail import EmailMessage
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from common.testing import html_of, non_field_errors, text_of
from orders.models import PurchaseOrder, PurchaseOrderEmailAttempt, Supplier, SupplierProduct
from orders.purchasing import email as purchase_email
from orders.purchasing import services as purchasing
from orders.purchasing.tests.test_views import writes_nothing
from tests.test_settings import MAKE_RUN_ENV, SMTP, effective_mailer

Status = PurchaseOrder.Status
EmailStatus = PurchaseOrder.EmailStatus
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@pytest.fixture(scope="module")
def make_run_mailer():
    """The default mailer `make run` computes (a subprocess with its environment)."""
    return effective_mailer(**MAKE_RUN_ENV)


def closed_port() -> int:
    """A local TCP port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_client(client):
    """Answer a failing view with the 500 page, as gunicorn would, instead of raising."""
    client.raise_request_exception = False
    return client


def messages_of(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


# --- under make run's settings ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_make_run_creates_and_sends_an_order_end_to_end(
    client, buyer, supplier, supplier_product, warehouse, locations, make_run_mailer, tmp_path
):
    assert not (make_run_mailer["BACKEND"] == SMTP and not make_run_mailer["OPTIONS"].get("host"))
    mailer = {**make_run_mailer, "OPTIONS": {"file_path": str(tmp_path)}}
    client = production_client(client)
    client.force_login(buyer)
    with override_settings(DEBUG=False, MAILERS={"default": mailer}):
        created = client.post(
            reverse("purchase_order_create"), {"supplier": "ACME", "warehouse": "WH1"}
        )
        assert created.status_code == 302
        order = PurchaseOrder.objects.get()
        line = client.post(
            reverse("purchase_order_line_add", args=[order.number]),
            {"product": "MUG-001", "quantity": "3"},
        )
        assert line.status_code == 302
        sent = client.post(reverse("purchase_order_send", args=[order.number]), follow=True)
        assert sent.status_code == 200
        page = text_of(sent)

    order.refresh_from_db()
    assert (order.status, order.email_status, order.email_attempts) == (
        Status.SENT,
        EmailStatus.SENT,
        1,
    )
    assert f"{order.number} sent to orders@acme.example with the PDF and CSV attached" in page
    assert (
        f"Sent to orders@acme.example at {timezone.localtime(order.email_at):%Y-%m-%d %H:%M}"
        in page
    )
    assert "Send again" in page
    # The form's promise: an empty date is today plus the supplier's lead time.
    expected = timezone.localdate() + timedelta(days=7)
    assert order.expected_on == expected
    assert f"Expected delivery {expected:%Y-%m-%d}" in page
    (written,) = tmp_path.iterdir()
    content = written.read_text()
    assert "To: orders@acme.example" in content
    assert f"Subject: Purchase order {order.number}" in content
    assert f'filename="{order.number}.pdf"' in content


@pytest.mark.django_db(transaction=True)
def test_a_failing_mail_server_leaves_the_order_sent_and_offers_send_again(
    client, buyer, draft_order, mailoutbox
):
    mailer = {
        "BACKEND": SMTP,
        "OPTIONS": {"host": "127.0.0.1", "port": closed_port(), "timeout": 5},
    }
    client = production_client(client)
    client.force_login(buyer)
    with override_settings(DEBUG=False, MAILERS={"default": mailer}):
        response = client.post(
            reverse("purchase_order_send", args=[draft_order.number]), follow=True
        )
    assert response.status_code == 200
    draft_order.refresh_from_db()
    assert (draft_order.status, draft_order.email_status) == (Status.SENT, EmailStatus.FAILED)
    assert "Connection refused" in draft_order.email_error or "Errno" in draft_order.email_error
    (attempt,) = draft_order.email_attempt_log.all()
    assert (attempt.attempt, attempt.delivered, attempt.error) == (
        1,
        False,
        draft_order.email_error,
    )
    page = text_of(response)
    assert f"{draft_order.number} is marked as sent, but the email to orders@acme.example" in (
        page
    )
    assert f"Failed: {draft_order.email_error} (1 attempt)" in page
    resend = reverse("purchase_order_resend", args=[draft_order.number])
    assert f'action="{resend}"' in html_of(response) and "Send again" in page

    # The mail server is back (the test mailbox): Send again delivers it.
    response = client.post(resend, follow=True)
    draft_order.refresh_from_db()
    assert (draft_order.email_status, draft_order.email_attempts) == (EmailStatus.SENT, 1)
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["orders@acme.example"]
    assert f"{draft_order.number} sent to orders@acme.example" in messages_of(response)
    assert [a.delivered for a in draft_order.email_attempt_log.all()] == [False, True]


# --- retries ------------------------------------------------------------------------


def test_a_failed_attempt_is_retried_with_backoff_then_marked_failed(
    sent_order, monkeypatch, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    def fail(self, fail_silently=False):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(EmailMessage, "send", fail)
    PurchaseOrder.objects.filter(pk=sent_order.pk).update(email_status=EmailStatus.QUEUED)
    outcomes = []
    with override_settings(TASKS=DB_TASKS):
        for attempt in range(1, purchase_email.MAX_ATTEMPTS + 1):
            before = timezone.now()
            with django_capture_on_commit_callbacks(execute=True):
                outcomes.append(purchase_email.deliver(order_id=sent_order.pk))
            if attempt < purchase_email.MAX_ATTEMPTS:
                retry = DBTaskResult.objects.order_by("-enqueued_at", "-id").first()
                assert retry.task_path == "orders.purchasing.email.send_purchase_order_email"
                assert retry.args_kwargs["args"] == [sent_order.pk]
                wait = purchase_email.backoff(attempt)
                assert before + wait <= retry.run_after <= timezone.now() + wait
        assert purchase_email.deliver(order_id=sent_order.pk) == "skipped"

    assert outcomes == ["retry", "retry", "retry", "failed"]
    sent_order.refresh_from_db()
    assert (sent_order.status, sent_order.email_status, sent_order.email_attempts) == (
        Status.SENT,
        EmailStatus.FAILED,
        4,
    )
    assert sent_order.email_error == "ConnectionRefusedError: [Errno 111] Connection refused"
    log = PurchaseOrderEmailAttempt.objects.filter(order=sent_order).order_by("id")
    assert [(a.attempt, a.delivered) for a in log] == [(n, False) for n in range(1, 5)]


def test_the_email_waits_for_the_commit_and_a_queue_failure_does_not_undo_the_send(
    draft_order, buyer, mailoutbox, django_capture_on_commit_callbacks
):
    down = mock.patch("orders.purchasing.email._enqueue", side_effect=OSError("queue down"))
    with down, django_capture_on_commit_callbacks(execute=True):
        purchasing.send_order(order=draft_order, user=buyer)
    draft_order.refresh_from_db()
    assert (draft_order.status, draft_order.email_status) == (Status.SENT, EmailStatus.QUEUED)
    assert mailoutbox == []


def test_an_order_cancelled_before_its_email_went_is_not_emailed(sent_order, buyer, mailoutbox):
    PurchaseOrder.objects.filter(pk=sent_order.pk).update(email_status=EmailStatus.QUEUED)
    purchasing.cancel_order(order=sent_order, user=buyer)
    assert purchase_email.deliver(order_id=sent_order.pk) == "failed"
    sent_order.refresh_from_db()
    assert sent_order.email_status == EmailStatus.FAILED
    assert "cancelled" in sent_order.email_error and mailoutbox == []


# --- Send again: permission and bad requests ---------------------------------------------


def test_send_again_needs_the_send_permission(client, clerk, buyer, sent_order):
    url = reverse("purchase_order_resend", args=[sent_order.number])
    client.force_login(clerk)
    with writes_nothing():
        assert client.post(url).status_code == 403
    client.force_login(buyer)
    with writes_nothing():
        page = html_of(client.get(url))
    assert f'action="{url}"' in page and "orders@acme.example once more" in page
    html = html_of(client.get(sent_order.get_absolute_url()))
    # Just queued (the test transaction has not committed): nothing to send again yet.
    assert url not in html


def test_send_again_refuses_a_draft_and_changes_nothing(client, buyer, draft_order, mailoutbox):
    client.force_login(buyer)
    with writes_nothing(mailoutbox):
        response = client.post(reverse("purchase_order_resend", args=[draft_order.number]))
    assert response.status_code == 200
    assert f"{draft_order.number} is draft: send it first." in non_field_errors(html_of(response))


# --- a supplier without an email: mark as sent, then the PDF ----------------------------


@pytest.fixture
def mute_order(warehouse, product, buyer):
    mute = Supplier.objects.create(code="MUTE", name="No Email Ltd")
    SupplierProduct.objects.create(supplier=mute, product=product, unit_cost=3)
    order = purchasing.create_order(supplier=mute, warehouse=warehouse, user=buyer)
    purchasing.set_line(order=order, product=product, quantity=2)
    return order


def test_an_order_to_a_supplier_without_email_is_marked_sent_and_offers_the_pdf(
    client, buyer, mute_order, mailoutbox
):
    client.force_login(buyer)
    mark = reverse("purchase_order_mark_sent", args=[mute_order.number])
    pdf = reverse("purchase_order_pdf", args=[mute_order.number])
    detail = html_of(client.get(mute_order.get_absolute_url()))
    assert f'href="{mark}"' in detail
    assert reverse("purchase_order_send", args=[mute_order.number]) not in detail
    form = html_of(client.get(mark))
    assert f'href="{pdf}"' in form and "How was it sent?" in form

    response = client.post(mark, {"reason": "Handed over at the trade fair"}, follow=True)
    mute_order.refresh_from_db()
    assert (mute_order.status, mute_order.email_status) == (Status.SENT, EmailStatus.OUTSIDE)
    assert mute_order.sent_by == buyer and mailoutbox == []
    assert f"{mute_order.number} marked as sent (not emailed)" in messages_of(response)
    page = text_of(response)
    assert "Not emailed: marked as sent outside Stockroom. Download the PDF" in page
    assert f'href="{pdf}"' in html_of(response)
    assert "Handed over at the trade fair" in page
    assert client.get(pdf)["Content-Type"] == "application/pdf"


def test_mark_as_sent_refuses_bad_requests(client, clerk, buyer, mute_order, sent_order):
    mark = reverse("purchase_order_mark_sent", args=[mute_order.number])
    client.force_login(clerk)
    with writes_nothing():
        assert client.post(mark).status_code == 403
    client.force_login(buyer)
    with writes_nothing():
        response = client.post(reverse("purchase_order_mark_sent", args=[sent_order.number]))
    assert "only a draft can be sent" in non_field_errors(html_of(response))
    with writes_nothing():
        response = client.post(mark, {"reason": "x" * 300})
    assert "at most 255 characters" in html_of(response)


def test_the_admin_shows_each_email_attempt(
    client, django_user_model, sent_order, django_capture_on_commit_callbacks
):
    admin_user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        purchasing.requeue_email(order=sent_order, user=admin_user)
    page = text_of(client.get(reverse("admin:orders_purchaseorder_change", args=[sent_order.pk])))
    assert "attempt 1 to orders@acme.example: delivered" in page


# --- wording: units ----------------------------------------------------------------------


def test_purchasing_messages_count_one_unit_and_several_units(
    client, buyer, sent_order, product, refused
):
    from orders.purchasing import errors, receiving

    mug = sent_order.lines.get(product=product)
    receiving.receive_line(line=mug, quantity=9, user=buyer)
    with refused(errors.OverReceipt, "over_receipt", "so at most 1 more unit can be received."):
        receiving.receive_line(line=mug, quantity=2)
    tea = sent_order.lines.get(product__sku="TEA-100")
    expires = timezone.localdate() + timedelta(days=90)
    receiving.receive_line(line=tea, quantity=17, lot_code="A", expires_on=expires)
    client.force_login(buyer)
    close = reverse("purchase_order_close", args=[sent_order.number])
    assert "The 4 units still open are no longer expected" in text_of(client.get(close))
    receiving.receive_line(line=tea, quantity=3, lot_code="A", expires_on=expires)
    text = text_of(client.get(close))
    assert "The 1 unit still open is no longer expected and stops counting" in text
