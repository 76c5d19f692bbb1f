"""Delivery of the stock outbox to channels' webhook URLs.

A delivery claims a channel's undelivered outbox rows, reads each product's
*current* available-to-sell and POSTs one JSON body to the channel's URL::

    {"channel": "WEB", "delivery": 12, "sent_at": "…",
     "items": [{"sku": "MUG-001", "available": 7, "updated_at": "…", "sequence": 31}]}

signed with ``X-Stockroom-Signature: sha256=<hex HMAC-SHA256 of the body>``. Many
rows for one product become one item (its latest value).

``sequence`` is the channel's send counter (``Channel.webhook_sequence``), raised
under the channel row lock for every attempt, retries included; the values are read
only after the number is taken, and at most one delivery per channel is in flight.
So a higher sequence always carries a value read later, and a receiver can drop any
value whose sequence is lower than one it already holds for that SKU. (Outbox ids
would not do: on PostgreSQL a row with a lower id can commit after a higher one.)
``updated_at`` is when the value was read.

A failed attempt keeps its rows and is tried again after an exponential backoff,
sending the then-current values and folding in rows written since; no other
delivery starts for the channel while it waits, so nothing overtakes it. The lease
(status ``pending`` with the time it started) outlives any attempt: the whole POST
has a deadline well under the lease. The claim runs in a short transaction with the
channel row locked, and the HTTP request runs outside any transaction so SQLite
writers are never held up by a slow receiver.
"""

import json
import logging
import random
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Exists, F, Max, Min, OuterRef, Q
from django.tasks import TaskResultStatus, task
from django.utils import timezone

from common.compiled import CompiledCache, CompiledQuery
from inventory.models import Product
from orders.channels import tokens as channel_secrets
from orders.channels import webhook_http
from orders.channels.availability import available_to_sell
from orders.channels.webhook_http import post, short
from orders.models import Channel, StockOutbox, WebhookDelivery

logger = logging.getLogger(__name__)

BATCH_PRODUCTS = 1000  # distinct products per delivery
SCAN_ROWS = 20_000  # outbox rows read to find them (a hot product can have many)
MAX_BATCHES_PER_RUN = 20  # then the task enqueues itself again
BACKOFF_SECONDS = 30  # first retry; doubles per attempt
BACKOFF_CAP_SECONDS = 3600
# A delivery still "pending" after its lease (settings.STOCKROOM_WEBHOOK_LEASE_SECONDS,
# two minutes by default) was abandoned by a worker that stopped.
DEFAULT_LEASE_SECONDS = 120
RECLAIM_MARGIN = timedelta(seconds=1)  # the reclaim task runs this long after the lease ends
KEEP_DELIVERED = timedelta(days=7)
HOUSEKEEPING_BATCH = 200  # deliveries (and their outbox rows) removed per run
USER_AGENT = "Stockroom-Webhooks/1"

Status = WebhookDelivery.Status


def lease() -> timedelta:
    """How long a claimed delivery belongs to the worker that claimed it."""
    seconds = getattr(settings, "STOCKROOM_WEBHOOK_LEASE_SECONDS", DEFAULT_LEASE_SECONDS)
    return timedelta(seconds=seconds)


def send_deadline() -> float:
    """Seconds the whole POST may take: well under the lease, so a live send keeps it."""
    return min(webhook_http.TOTAL_SECONDS, lease().total_seconds() / 2)


# --- scheduling ----------------------------------------------------------------------


def schedule_delivery(channel_ids: Iterable[int], *, force: bool = False) -> list[int]:
    """Enqueue the delivery task for each channel that needs one; return those channels.

    Runs after every stock commit, so it stays cheap: a channel whose failed delivery
    waits for its retry time is skipped (new rows join that retry), and so is one that
    already has a queued task that has not started (it will see the new rows). Two
    commits racing here may both enqueue; the second task then finds nothing to do.

    With a gathering window (``gather()``, database backend) the task is queued to run
    that long after the change: the changes of the window go out in one delivery, and
    for the first half of it this process knows, without asking the database, that a
    task will still see a new row (no worker takes a task before its time).
    """
    ids = sorted(set(channel_ids))
    window = gather()
    if ids and not force:
        now = timezone.now()
        ids = [pk for pk in ids if not _is_gathering(pk, now)]
        if ids:
            # The queued-task check first: while a worker is behind (a burst of stock
            # changes), it settles every channel in one query.
            queued = _queued_channel_ids(deliver_webhooks, until=now + window)
            for pk, run_after in queued.items():
                _gathering(pk, run_after, window)
            ids = [pk for pk in ids if not _covered(queued.get(pk), now, window)]
        if ids:
            waiting = dict(
                WebhookDelivery.objects.filter(
                    channel_id__in=ids, status=Status.FAILED, next_attempt_at__gt=timezone.now()
                ).values_list("channel_id", "next_attempt_at")
            )
            for pk, retry_at in waiting.items():
                _gathering(pk, retry_at, window)  # its retry task waits for that time
            ids = [pk for pk in ids if pk not in waiting]
    for channel_id in ids:
        if window:
            run_after = timezone.now() + window
            deliver_webhooks.using(run_after=run_after).enqueue(channel_id)
            _gathering(channel_id, run_after, window)
        else:
            deliver_webhooks.enqueue(channel_id)
    return ids


def gather() -> timedelta:
    """How long a delivery task waits for more changes (``STOCKROOM_WEBHOOK_GATHER_MS``);
    none without a backend that can defer a task (the immediate backend in tests)."""
    milliseconds = getattr(settings, "STOCKROOM_WEBHOOK_GATHER_MS", 0)
    if milliseconds <= 0 or not deliver_webhooks.get_backend().supports_defer:
        return timedelta(0)
    return timedelta(milliseconds=milliseconds)


# Per process: channel → until when its queued delivery task is sure not to have started
# (half the window before the task's time, a margin for clocks of other hosts).
GATHERING: dict[tuple[str, int], datetime] = {}


def _gathering(channel_id: int, run_after: datetime, window: timedelta) -> None:
    if window and run_after != _date_max():
        GATHERING[(DEFAULT_DB_ALIAS, channel_id)] = run_after - window / 2


def _covered(run_after: datetime | None, now: datetime, window: timedelta) -> bool:
    """Whether a queued task with this time will send rows committed now. Any will; but
    with a window, one due now may be taken at any moment, so this process could not
    skip the question for the next commits: queue one for the window instead (at most
    one per channel and process every half window, however far behind the workers are)."""
    if run_after is None:
        return False
    return not window or (run_after != _date_max() and run_after - window / 2 > now)


def _is_gathering(channel_id: int, now: datetime) -> bool:
    until = GATHERING.get((DEFAULT_DB_ALIAS, channel_id))
    return until is not None and now < until


def _date_max() -> datetime:
    from django_tasks_db.models import get_date_max

    return get_date_max()


def _queued_channel_ids(task, until: datetime | None = None) -> dict[int, datetime]:
    """Channels with a runnable, not yet started delivery task (database backend only),
    with that task's time: one ready now or without a time, or one due by ``until``.

    Asked after commits: one statement compiled once per process and task, reading each
    ready task's first argument (its channel) out of its JSON in SQL and answering one
    row per channel, however many tasks wait (they pile up while no worker runs).
    """
    # Imported here for a reason other than a cycle: the check only applies to the
    # database backend, and settings may choose another one.
    try:
        from django_tasks_db.backend import DatabaseBackend
        from django_tasks_db.models import DBTaskResult, get_date_max
    except ImportError:  # pragma: no cover - django-tasks-db is a dependency
        return {}
    backend = task.get_backend()
    if not isinstance(backend, DatabaseBackend):
        return {}
    key = (id(connections[DEFAULT_DB_ALIAS]), backend.alias, task.module_path)
    unset = get_date_max()  # as DBTaskResult.objects.ready()

    def compile_ready() -> CompiledQuery:
        rows = DBTaskResult.objects.filter(
            status=TaskResultStatus.READY, backend_name=backend.alias, task_path=task.module_path
        )
        per_channel = (
            rows.order_by()
            .values("args_kwargs__args__0")
            .annotate(
                earliest=Min("run_after"),
                latest_timed=Max("run_after", filter=~Q(run_after=unset)),
                latest=Max("run_after"),
            )
            .values_list("args_kwargs__args__0", "earliest", "latest_timed", "latest")
        )
        return CompiledQuery(per_channel, {})

    until = until or timezone.now()
    found: dict[int, datetime] = {}
    for first, earliest, latest_timed, latest in QUEUED.get(key, compile_ready).rows():
        if type(first) is not int:
            continue
        # The latest time says longest that a new row will be seen; when a task further
        # off (a retry) hides it, the earliest is a safe, shorter answer; a task without
        # a time may start at once.
        if latest_timed is not None and latest_timed <= until:
            found[first] = latest_timed
        elif earliest <= until and earliest != unset:
            found[first] = earliest
        elif latest == unset:
            found[first] = unset
    return found


QUEUED = CompiledCache(size=8)


def schedule_retry(delivery: WebhookDelivery) -> bool:
    """Enqueue the channel's task for the delivery's retry time, if the backend can defer.

    Without deferral (the immediate backend in tests) ``manage.py deliver_webhooks``
    picks the retry up once it is due.
    """
    if delivery.next_attempt_at is None or not deliver_webhooks.get_backend().supports_defer:
        return False
    deliver_webhooks.using(run_after=delivery.next_attempt_at).enqueue(delivery.channel_id)
    return True


def schedule_reclaim(channel_id: int, claimed_at: datetime) -> bool:
    """Enqueue the channel's task for just after the lease of a claim made at ``claimed_at``.

    Called inside the claim's transaction, so the claim and its reclaim commit together
    (the database backend writes the task in the same database). If the worker is
    killed mid-send, no later stock change is needed: any running worker takes this
    task once the lease has run out and sends the delivery again. If the send finished,
    the task finds nothing due. Without deferral (tests' immediate backend),
    ``manage.py deliver_webhooks`` reclaims.
    """
    if not reclaim_webhooks.get_backend().supports_defer:
        return False
    run_after = claimed_at + lease() + RECLAIM_MARGIN
    reclaim_webhooks.using(run_after=run_after).enqueue(channel_id)
    return True


def backoff(attempts: int) -> timedelta:
    """The wait after ``attempts`` failures: 30 s doubling, at most an hour, plus 0–10 %."""
    seconds = min(BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_CAP_SECONDS)
    return timedelta(seconds=seconds * random.uniform(1.0, 1.1))


# --- one delivery --------------------------------------------------------------------


def deliver(channel: Channel, *, now: datetime | None = None) -> WebhookDelivery | None:
    """Send one batch of the channel's outbox; return the delivery, or None if nothing was due.

    The returned delivery is ``delivered`` or ``failed`` (then retried from
    ``next_attempt_at``).
    """
    now = now or timezone.now()
    claim = _claim(channel.pk, now)
    if claim is None:
        return None
    delivery, channel, sequence = claim
    response_status = None
    try:
        items = _items(delivery, channel, sequence)
        if not items:
            # Its products were deleted meanwhile; there is nothing left to say.
            ok, error = True, ""
        else:
            body = _body(channel, delivery, items)
            response_status, error = post(
                channel.webhook_url,
                body,
                {
                    "Content-Type": "application/json",
                    "User-Agent": USER_AGENT,
                    "X-Stockroom-Signature": channel_secrets.sign(channel.webhook_secret, body),
                    "X-Stockroom-Delivery": str(delivery.pk),
                },
                total_seconds=send_deadline(),
            )
            ok = response_status is not None and 200 <= response_status < 300
    except Exception as exc:
        logger.exception("Webhook delivery %s to %s failed", delivery.pk, channel.code)
        ok, error = False, short(f"Internal error while sending: {type(exc).__name__}: {exc}")
    return _finish(delivery, claimed_at=now, ok=ok, status=response_status, error=error)


def _claim(channel_id: int, now: datetime) -> tuple[WebhookDelivery, Channel, int] | None:
    """Take the channel's open delivery when due (or start one) and claim outbox rows for it.

    Returns the delivery, the channel and the sequence number of this attempt.
    The channel row lock (PostgreSQL; SQLite's IMMEDIATE transactions serialise
    writers) makes the check for a delivery in flight, the claim and the sequence
    number one step, so two workers never send for one channel at once nor the same
    rows twice, and numbers are handed out in the order attempts start.

    ``FOR NO KEY UPDATE``: every transaction that wrote an outbox row checks the
    channel foreign key at COMMIT (deferred) with a key-share lock on the channel row,
    which a plain ``FOR UPDATE`` would block; the no-key lock still excludes another
    claim.
    """
    with transaction.atomic():
        channel = Channel.objects.select_for_update(no_key=True).filter(pk=channel_id).first()
        if channel is None or not channel.is_hooked:
            return None
        delivery = _open_delivery(channel)
        if delivery is not None and not _due(delivery, now):
            return None
        products = set()
        if delivery is not None:
            products = set(
                StockOutbox.objects.filter(delivery=delivery)
                .order_by()
                .values_list("product_id", flat=True)
                .distinct()
            )
        max_id, new_products = _next_rows(channel, products)
        if delivery is None and max_id is None:
            return None
        if delivery is None:
            delivery = WebhookDelivery(channel=channel, created_at=now)
        delivery.status = Status.PENDING
        delivery.last_attempt_at = now
        delivery.next_attempt_at = None
        delivery.save()
        if max_id is not None:
            # Later rows of the same products coalesce into this delivery too.
            StockOutbox.objects.filter(channel=channel, delivery__isnull=True).filter(
                Q(id__lte=max_id) | Q(product_id__in=sorted(products | new_products))
            ).update(delivery=delivery)
        if not channel.webhook_secret:
            channel_secrets.rotate_webhook_secret(channel)
        sequence = next_sequence(channel.pk)
        schedule_reclaim(channel.pk, now)
        return delivery, channel, sequence


def _open_delivery(channel: Channel) -> WebhookDelivery | None:
    """The channel's oldest delivery that is pending or failed, if any."""
    return (
        WebhookDelivery.objects.filter(channel=channel, status__in=[Status.PENDING, Status.FAILED])
        .order_by("id")
        .first()
    )


def _due(delivery: WebhookDelivery, now: datetime) -> bool:
    """Whether an open delivery may be sent now; a pending one abandoned counts an attempt."""
    if delivery.status == Status.PENDING:
        if delivery.last_attempt_at and delivery.last_attempt_at > now - lease():
            return False  # another worker is sending it
        delivery.attempts += 1
        delivery.last_error = "The worker stopped while sending; sent again."
    elif delivery.next_attempt_at and delivery.next_attempt_at > now:
        return False  # waiting for its retry time
    return True


def _next_rows(channel: Channel, products: set[int]) -> tuple[int | None, set[int]]:
    """The last undelivered row to claim and the new products it brings, within the batch."""
    rows = (
        StockOutbox.objects.filter(channel=channel, delivery__isnull=True)
        .order_by("id")
        .values_list("id", "product_id")[:SCAN_ROWS]
    )
    max_id = None
    new_products = set()
    for row_id, product_id in rows:
        if product_id not in products and product_id not in new_products:
            if len(products) + len(new_products) >= BATCH_PRODUCTS:
                break
            new_products.add(product_id)
        max_id = row_id
    return max_id, new_products


def next_sequence(channel_id: int) -> int:
    """Raise the channel's webhook sequence by one and return it (call under the row lock)."""
    Channel.objects.filter(pk=channel_id).update(webhook_sequence=F("webhook_sequence") + 1)
    return Channel.objects.filter(pk=channel_id).values_list("webhook_sequence", flat=True).get()


def _items(delivery: WebhookDelivery, channel: Channel, sequence: int) -> list[dict]:
    """The delivery's products with their current available-to-sell, by SKU.

    Runs after the claim has taken ``sequence``, so every value read here is at least
    as new as any value sent with a lower number.
    """
    product_ids = list(
        StockOutbox.objects.filter(delivery=delivery)
        .order_by()
        .values_list("product_id", flat=True)
        .distinct()
    )
    if not product_ids:
        return []
    products = list(
        Product.objects.filter(pk__in=product_ids).only("id", "sku", "fulfilment").order_by("sku")
    )
    read_at = timezone.now().isoformat()
    available = available_to_sell(channel, products)
    return [
        {
            "sku": product.sku,
            "available": available[product.pk],
            "updated_at": read_at,
            "sequence": sequence,
        }
        for product in products
    ]


def _body(channel: Channel, delivery: WebhookDelivery, items: list[dict]) -> bytes:
    payload = {
        "channel": channel.code,
        "delivery": delivery.pk,
        "sent_at": timezone.now().isoformat(),
        "items": items,
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _finish(
    delivery: WebhookDelivery, *, claimed_at: datetime, ok: bool, status: int | None, error: str
) -> WebhookDelivery:
    """Record the attempt; a failure gets its retry time and a deferred task."""
    finished_at = timezone.now()
    item_count = StockOutbox.objects.filter(delivery=delivery).values("product_id").distinct()
    delivery.item_count = item_count.count()
    delivery.attempts += 1
    delivery.response_status = status
    if ok:
        delivery.status = Status.DELIVERED
        delivery.delivered_at = finished_at
        delivery.next_attempt_at = None
    else:
        delivery.status = Status.FAILED
        delivery.last_error = error
        delivery.next_attempt_at = finished_at + backoff(delivery.attempts)
    fields = [
        "status",
        "item_count",
        "attempts",
        "response_status",
        "last_error",
        "delivered_at",
        "next_attempt_at",
    ]
    # Only the worker that holds the lease records its result (a stopped worker's
    # delivery may have been taken over after the lease).
    updated = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=Status.PENDING, last_attempt_at=claimed_at
    ).update(**{name: getattr(delivery, name) for name in fields})
    if updated and not ok:
        transaction.on_commit(lambda: schedule_retry(delivery))
    return delivery


# --- a channel's run, the pass over all channels, housekeeping ----------------------


def deliver_channel(channel_id: int, *, now: datetime | None = None) -> dict:
    """Deliver the channel's outbox batch after batch until it is empty or a send fails.

    After each delivery the outbox is read again, so rows committed while a batch
    was in flight (whose own task found the channel busy) still go out.
    """
    summary = {"channel": channel_id, "delivered": 0, "failed": 0, "items": 0}
    for _ in range(MAX_BATCHES_PER_RUN):
        channel = Channel.objects.filter(pk=channel_id).first()
        if channel is None:
            break
        delivery = deliver(channel, now=now)
        if delivery is None:
            break
        summary["items"] += delivery.item_count
        if delivery.status != Status.DELIVERED:
            summary["failed"] += 1
            break
        summary["delivered"] += 1
    else:
        if StockOutbox.objects.filter(channel_id=channel_id, delivery__isnull=True).exists():
            transaction.on_commit(lambda: schedule_delivery([channel_id], force=True))
    summary["removed"] = housekeeping(now=now)
    return summary


def due_channels(now: datetime | None = None):
    """Active channels with a webhook URL and work due: new rows, a retry due, a lost lease."""
    now = now or timezone.now()
    undelivered = StockOutbox.objects.filter(channel=OuterRef("pk"), delivery__isnull=True)
    retry_due = WebhookDelivery.objects.filter(channel=OuterRef("pk")).filter(
        Q(status=Status.FAILED, next_attempt_at__lte=now)
        | Q(status=Status.FAILED, next_attempt_at__isnull=True)
        | Q(status=Status.PENDING, last_attempt_at__lte=now - lease())
    )
    busy = WebhookDelivery.objects.filter(channel=OuterRef("pk")).filter(
        Q(status=Status.FAILED, next_attempt_at__gt=now)
        | Q(status=Status.PENDING, last_attempt_at__gt=now - lease())
    )
    return (
        Channel.objects.hooked()
        .filter(Exists(retry_due) | (Exists(undelivered) & ~Exists(busy)))
        .order_by("pk")
    )


def deliver_due(now: datetime | None = None) -> list[dict]:
    """One pass over every channel with due work (what ``manage.py deliver_webhooks`` runs)."""
    return [deliver_channel(pk, now=now) for pk in due_channels(now).values_list("pk", flat=True)]


def housekeeping(*, now: datetime | None = None) -> int:
    """Remove deliveries delivered more than a week ago with their outbox rows (one batch)."""
    cutoff = (now or timezone.now()) - KEEP_DELIVERED
    ids = list(
        WebhookDelivery.objects.filter(status=Status.DELIVERED, delivered_at__lt=cutoff)
        .order_by("id")
        .values_list("pk", flat=True)[:HOUSEKEEPING_BATCH]
    )
    if not ids:
        return 0
    with transaction.atomic():
        # Rows first: deleting a delivery would otherwise set its rows back to undelivered.
        StockOutbox.objects.filter(delivery_id__in=ids).delete()
        WebhookDelivery.objects.filter(pk__in=ids, status=Status.DELIVERED).delete()
    return len(ids)


def retry_now(deliveries: Iterable[WebhookDelivery]) -> list[int]:
    """Make failed deliveries due at once and enqueue their channels; return the channels."""
    ids = [d.pk for d in deliveries if d.status == Status.FAILED]
    if not ids:
        return []
    WebhookDelivery.objects.filter(pk__in=ids, status=Status.FAILED).update(
        next_attempt_at=timezone.now()
    )
    channel_ids = sorted(
        set(WebhookDelivery.objects.filter(pk__in=ids).values_list("channel_id", flat=True))
    )
    transaction.on_commit(lambda: schedule_delivery(channel_ids, force=True))
    return channel_ids


# Defined here, beside the work it runs: ``schedule_delivery`` and ``schedule_retry``
# enqueue it.
@task()
def deliver_webhooks(channel_id: int) -> dict:
    """Send the channel's stock outbox to its webhook URL (``manage.py db_worker`` runs it)."""
    return deliver_channel(channel_id)


@task()
def reclaim_webhooks(channel_id: int) -> dict:
    """After a claim's lease: send the channel's delivery again if its worker stopped."""
    return deliver_channel(channel_id)
