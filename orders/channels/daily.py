"""The daily housekeeping run, just after local midnight, by the task worker itself.

At 00:00 (``settings.TIME_ZONE``) every lot whose ``expires_on`` was the day before stops
counting as available (``availability.expiry_moment``) without any stock move, so no
``stock_changed`` signal fires and channels would keep a stale number. ``run_daily``
does what ``manage.py sweep`` does — the sales sweep and the outbox rows for lots
expired in the last week — and the ``daily_housekeeping`` task runs it a few seconds
after each midnight, then queues itself for the next one. ``make run`` has no cron, so
``manage.py schedule_daily`` (run before each ``db_worker`` starts) makes sure exactly one
future run is queued: a second call is a no-op, and a run missed while no worker was up
is queued at once (the outbox rows look back a week, so it catches up).
"""

from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.tasks import TaskResultStatus, task
from django.utils import timezone

from orders.channels import outbox
from orders.sales import services as sales

AFTER_MIDNIGHT = timedelta(seconds=5)  # the run waits this long past 00:00
# A Postgres advisory lock key ("daily" in ASCII): two schedulers starting together
# queue one run. SQLite's IMMEDIATE transactions serialise them already.
SCHEDULE_LOCK = 0x6461696C79


def run_daily(today: date | None = None) -> dict[str, int]:
    """The nightly housekeeping (``manage.py sweep`` and the daily task); return its counts.

    ``today`` is the day whose midnight has passed (the local date by default); it
    decides which lots count as expired for the outbox. The sales sweep always works
    with the current local date.
    """
    today = today or timezone.localdate()
    summary = sales.sweep()
    with transaction.atomic():
        summary["expired_lot_rows"] = outbox.record_expired_lots(today)
    return summary


def run_time(day: date) -> datetime:
    """When the run for ``day`` is due: ``AFTER_MIDNIGHT`` past its local 00:00."""
    return timezone.make_aware(datetime.combine(day, time.min)) + AFTER_MIDNIGHT


def next_run_time(now: datetime) -> datetime:
    """The first run time after ``now``."""
    today = timezone.localdate(now)
    due = run_time(today)
    return due if due > now else run_time(today + timedelta(days=1))


def schedule_daily(*, now: datetime | None = None, after_run: bool = False) -> datetime | None:
    """Queue the next daily run unless one is queued already; return its time, or None.

    Without a queued run: a run that finished since today's run time means the next is
    tomorrow's; otherwise (a fresh database, or the worker was down at midnight) it is
    due now, and catches up. ``after_run`` (the task queueing its successor) always
    means the next midnight. Returns None, queueing nothing, when a run is queued
    already or the backend is not the database one (tests' immediate backend), whose
    queue this cannot see.
    """
    now = now or timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SCHEDULE_LOCK])
        results = _results()
        if results is None:
            return None
        if results.filter(status=TaskResultStatus.READY).exists():
            return None
        done_today = results.filter(
            status=TaskResultStatus.SUCCESSFUL, started_at__gte=run_time(timezone.localdate(now))
        ).exists()
        when = next_run_time(now) if after_run or done_today else now
        daily_housekeeping.using(run_after=when).enqueue()
    return when


def _results():
    """This task's rows in the database backend's table (None for another backend)."""
    # Imported here for a reason other than a cycle: only the database backend keeps
    # results to look at, and settings may choose another one.
    try:
        from django_tasks_db.backend import DatabaseBackend
        from django_tasks_db.models import DBTaskResult
    except ImportError:  # pragma: no cover - django-tasks-db is a dependency
        return None
    backend = daily_housekeeping.get_backend()
    if not isinstance(backend, DatabaseBackend):
        return None
    return DBTaskResult.objects.filter(
        backend_name=backend.alias, task_path=daily_housekeeping.module_path
    )


@task()
def daily_housekeeping() -> dict[str, int]:
    """Run the nightly housekeeping, then queue the run after the next midnight."""
    try:
        return run_daily()
    finally:
        # Also after a failure: tomorrow's run must not depend on today's.
        schedule_daily(after_run=True)
