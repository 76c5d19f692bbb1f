"""The daily housekeeping run: lots that expire at midnight reach channels by themselves.

The soak crossed midnight on PostgreSQL: a lot with ``expires_on`` = the old day stopped
counting at 00:00, a product's available dropped without a stock move, and no outbox row
was written because nothing ran ``manage.py sweep``. Now the worker runs it a few
seconds after each local midnight and queues the next run itself.
"""

import subprocess
import sys
import time as clock
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from inventory import ledger
from orders.channels import daily, webhooks
from orders.channels.availability import available_to_sell
from orders.channels.tests.test_webhook_leases import ROOT, database_url, wait_for
from orders.channels.tests.test_webhooks import Receiver
from orders.models import StockOutbox

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


def local(day, hour=0, minute=0, second=0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute, second)))


def stock_expiring(lot_product, locations, day):
    """Three units of a lot that expires on ``day`` and five of a lot good for a year."""
    for code, quantity, expires_on in (("OLD", 3, day), ("NEW", 5, day + timedelta(days=365))):
        ledger.receive(
            product=lot_product,
            location=locations["bin1"],
            quantity=quantity,
            unit_cost="1",
            lot_code=code,
            expires_on=expires_on,
        )
    StockOutbox.objects.all().delete()


def queued():
    return DBTaskResult.objects.filter(
        task_path=daily.daily_housekeeping.module_path, status="READY"
    ).order_by("run_after")


def test_midnight_writes_the_outbox_row_and_the_webhook_sends_the_new_value(
    web_store, receiver, lot_product, locations, django_capture_on_commit_callbacks
):
    web_store.webhook_url = receiver.url
    web_store.save()
    today = timezone.localdate()
    yesterday = today - timedelta(days=1)
    stock_expiring(lot_product, locations, yesterday)  # its last day was yesterday
    assert available_to_sell(web_store, [lot_product], yesterday)[lot_product.pk] == 8
    assert available_to_sell(web_store, [lot_product], today)[lot_product.pk] == 5

    # Just before midnight (yesterday 23:59:59) the run finds nothing expired.
    with django_capture_on_commit_callbacks(execute=True):
        assert daily.run_daily(yesterday)["expired_lot_rows"] == 0
    assert not StockOutbox.objects.exists()
    assert receiver.requests == []

    # The run due at 00:00:05: a row for the product and channel, and the webhook
    # (tests' immediate task backend) sends the value after midnight.
    assert daily.next_run_time(local(yesterday, 23, 59, 59)) == local(today, 0, 0, 5)
    with django_capture_on_commit_callbacks(execute=True):
        summary = daily.run_daily(today)
    assert summary["expired_lot_rows"] == 1
    assert list(StockOutbox.objects.values_list("channel__code", "product__sku")) == [
        ("WEB", "TEA-100")
    ]
    assert [item["available"] for payload in receiver.payloads for item in payload["items"]] == [
        available_to_sell(web_store, [lot_product])[lot_product.pk]
    ]
    assert receiver.latest()["TEA-100"][0] == 5


def test_scheduling_queues_one_run_for_the_next_midnight(db, settings):
    settings.TASKS = DATABASE_TASKS
    today = timezone.localdate()
    tomorrow_run = local(today + timedelta(days=1), 0, 0, 5)

    # The run itself queues the next one: the following midnight, a few seconds after.
    assert daily.schedule_daily(now=local(today, 0, 0, 6), after_run=True) == tomorrow_run
    assert daily.schedule_daily(now=local(today, 0, 0, 7)) is None, "a second call is a no-op"
    assert daily.schedule_daily(now=local(today, 0, 0, 7), after_run=True) is None
    assert [row.run_after for row in queued()] == [tomorrow_run]


def test_a_missed_midnight_runs_at_once_and_a_run_done_today_waits_for_the_next(db, settings):
    settings.TASKS = DATABASE_TASKS
    today = timezone.localdate()
    afternoon = local(today, 14)

    # Nothing ever ran (a fresh database) or the worker was down at midnight: due now.
    assert daily.schedule_daily(now=afternoon) == afternoon
    assert daily.schedule_daily(now=afternoon) is None
    assert queued().count() == 1

    # The last run started yesterday after midnight: today's was missed, run now.
    queued().update(status="SUCCESSFUL", started_at=local(today - timedelta(days=1), 0, 0, 5))
    assert daily.schedule_daily(now=afternoon) == afternoon

    # Today's run has happened: the next is tomorrow's.
    queued().update(status="SUCCESSFUL", started_at=local(today, 0, 0, 5))
    assert daily.schedule_daily(now=afternoon) == local(today + timedelta(days=1), 0, 0, 5)
    assert queued().count() == 1


def run_manage(*args: str) -> subprocess.CompletedProcess:
    """``manage.py`` with `make run`'s settings (DEBUG off) on the test database."""
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": "test-daily-" + "x" * 50,
        "DATABASE_URL": database_url(),
        "STOCKROOM_WEBHOOK_ALLOW_PRIVATE": "1",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.django_db(transaction=True)
def test_make_run_queues_the_daily_run_once_and_the_worker_runs_it(
    web_store, receiver, lot_product, locations, settings
):
    """The real machinery: ``schedule_daily`` twice as run.sh starts, then ``db_worker``."""
    settings.TASKS = DATABASE_TASKS
    web_store.webhook_url = receiver.url
    web_store.save()
    today = timezone.localdate()
    stock_expiring(lot_product, locations, today - timedelta(days=1))

    for _ in range(2):
        done = run_manage("schedule_daily")
        assert done.returncode == 0, done.stderr
    assert queued().count() == 1, "a second call queued nothing"
    assert "already queued" in done.stdout

    # Its midnight was missed (nothing ran before): the worker runs it at once; the
    # webhook delivery it queued gathers changes for STOCKROOM_WEBHOOK_GATHER_MS (500)
    # and then a worker sends it; the next run waits for the next midnight.
    worked = run_manage("db_worker", "--batch", "--no-reload")
    assert worked.returncode == 0, worked.stderr
    delivery = DBTaskResult.objects.get(
        task_path=webhooks.deliver_webhooks.module_path, status="READY"
    )
    assert delivery.run_after - delivery.enqueued_at == pytest.approx(
        timedelta(milliseconds=500), abs=timedelta(milliseconds=100)
    )
    clock.sleep(max((delivery.run_after - timezone.now()).total_seconds(), 0))
    worked = run_manage("db_worker", "--batch", "--no-reload")
    assert worked.returncode == 0, worked.stderr
    assert wait_for(lambda: receiver.requests, 10)
    assert receiver.latest()["TEA-100"][0] == 5
    assert DBTaskResult.objects.filter(
        task_path=daily.daily_housekeeping.module_path, status="SUCCESSFUL"
    ).exists()
    assert [row.run_after for row in queued()] == [local(today + timedelta(days=1), 0, 0, 5)]
