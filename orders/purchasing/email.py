"""Purchase order emails: queued by the send, delivered by a task, retried, recorded.

``queue`` runs inside the service that sends the order: it marks the email queued and
enqueues ``send_purchase_order_email`` (below) once that transaction commits, so
the status change never waits on (or fails with) a mail server. ``deliver`` is the
task's body: it claims the queued email under the order's row lock, sends it outside
any transaction and records the attempt (``PurchaseOrderEmailAttempt``). A failure is
tried again after a backoff while attempts are left and the task backend can run a
task later; otherwise the email is marked failed with the reason and the order page
offers "Send again" (``requeue``).
"""

from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.tasks import task
from django.template.loader import render_to_string
from django.utils import timezone

from orders.models import PurchaseOrder, PurchaseOrderEmailAttempt
from orders.purchasing.documents import order_csv, order_pdf

EmailStatus = PurchaseOrder.EmailStatus
MAX_ATTEMPTS = 4
# Waits after the 1st, 2nd and 3rd failure.
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30))
# An email "sending" for longer than this was abandoned by a worker that stopped.
LEASE = timedelta(minutes=10)
NOT_EMAILED_STATUSES = (PurchaseOrder.Status.DRAFT, PurchaseOrder.Status.CANCELLED)


def backoff(attempts: int) -> timedelta:
    """The wait before the next attempt after ``attempts`` failed ones."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


def message(order: PurchaseOrder) -> EmailMessage:
    """The email to the supplier: a short text, the order as PDF and its lines as CSV."""
    lines = list(order.lines.select_related("product").order_by("id"))
    user = order.sent_by
    context = {
        "order": order,
        "lines": lines,
        "user": user,
        "currency": settings.STOCKROOM_CURRENCY,
    }
    subject = render_to_string("orders/email/purchase_order_subject.txt", context)
    body = render_to_string("orders/email/purchase_order.txt", context)
    reply_to = [user.email] if user is not None and user.email else []
    email = EmailMessage(
        subject=" ".join(subject.split()),
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[order.supplier.email],
        reply_to=reply_to,
    )
    email.attach(f"{order.number}.pdf", order_pdf(order), "application/pdf")
    email.attach(f"{order.number}.csv", order_csv(order), "text/csv")
    return email


def is_busy(order: PurchaseOrder, now=None) -> bool:
    """A worker is sending the email right now (and has not been gone for a lease)."""
    now = now or timezone.now()
    return order.email_status == EmailStatus.SENDING and (
        order.email_at is not None and order.email_at > now - LEASE
    )


def can_requeue(order: PurchaseOrder) -> bool:
    """Whether the order page offers "Send again": sent, an email address, nothing pending."""
    return (
        order.status not in NOT_EMAILED_STATUSES
        and bool(order.supplier.email)
        and not is_busy(order)
        and not (order.email_status == EmailStatus.QUEUED and order.email_attempts == 0)
    )


def queue(order: PurchaseOrder) -> None:
    """Mark the email of a locked, sent order queued and enqueue it after commit.

    Call inside the transaction that holds the order's row lock.
    """
    fields = {
        "email_status": EmailStatus.QUEUED,
        "email_attempts": 0,
        "email_error": "",
        "email_at": timezone.now(),
    }
    PurchaseOrder.objects.filter(pk=order.pk).update(**fields)
    for name, value in fields.items():
        setattr(order, name, value)
    order_id = order.pk
    # robust: the order is sent either way; a queue that is down leaves the email
    # "queued", and "Send again" enqueues it anew.
    transaction.on_commit(lambda: _enqueue(order_id), robust=True)


def _enqueue(order_id: int, run_after=None) -> None:
    task = send_purchase_order_email
    (task.using(run_after=run_after) if run_after else task).enqueue(order_id)


def _can_retry_later() -> bool:
    return send_purchase_order_email.get_backend().supports_defer


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    name = type(exc).__name__
    return (f"{name}: {text}" if text else name)[:500]


def _set(order_id: int, **fields) -> None:
    PurchaseOrder.objects.filter(pk=order_id).update(**fields)


def deliver(*, order_id: int) -> str:
    """Send the order's queued email once; record the attempt; return the outcome.

    The outcome is ``sent``, ``retry``, ``failed`` or ``skipped`` (nothing queued: it
    went already, another worker has it, or the order is gone).
    """
    now = timezone.now()
    with transaction.atomic():
        order = (
            PurchaseOrder.objects.select_for_update(of=("self",))
            .select_related("supplier", "warehouse", "sent_by")
            .filter(pk=order_id)
            .first()
        )
        if order is None or not (
            order.email_status == EmailStatus.QUEUED
            or (order.email_status == EmailStatus.SENDING and not is_busy(order, now))
        ):
            return "skipped"
        refusal = ""
        if order.status in NOT_EMAILED_STATUSES:
            refusal = f"Not emailed: {order.number} is {order.get_status_display().lower()}."
        elif not order.supplier.email:
            refusal = f"Supplier {order.supplier.code} has no contact email."
        if refusal:
            _set(order.pk, email_status=EmailStatus.FAILED, email_error=refusal, email_at=now)
            return "failed"
        attempt = order.email_attempts + 1
        _set(order.pk, email_status=EmailStatus.SENDING, email_attempts=attempt, email_at=now)
    to = order.supplier.email
    try:
        message(order).send()
    except Exception as exc:  # whatever the mailer raises is this attempt's outcome
        error = _reason(exc)
    else:
        error = ""
    return _record(order_id=order.pk, attempt=attempt, to=to, error=error)


@transaction.atomic
def _record(*, order_id: int, attempt: int, to: str, error: str) -> str:
    now = timezone.now()
    order = PurchaseOrder.objects.select_for_update(of=("self",)).get(pk=order_id)
    PurchaseOrderEmailAttempt.objects.create(
        order=order, attempt=attempt, to=to, at=now, delivered=not error, error=error
    )
    if order.email_status != EmailStatus.SENDING or order.email_attempts != attempt:
        # "Send again" queued it anew while this attempt ran: that sending decides.
        return "sent" if not error else "failed"
    if not error:
        _set(order_id, email_status=EmailStatus.SENT, email_error="", email_at=now)
        return "sent"
    if attempt < MAX_ATTEMPTS and _can_retry_later():
        _set(order_id, email_status=EmailStatus.QUEUED, email_error=error, email_at=now)
        run_after = now + backoff(attempt)
        transaction.on_commit(lambda: _enqueue(order_id, run_after), robust=True)
        return "retry"
    _set(order_id, email_status=EmailStatus.FAILED, email_error=error, email_at=now)
    return "failed"


# Defined here, beside the work it runs: ``queue`` and the retries of ``deliver`` enqueue it.
@task()
def send_purchase_order_email(order_id: int) -> str:
    """Email a sent purchase order to its supplier (``manage.py db_worker`` runs it)."""
    return deliver(order_id=order_id)
