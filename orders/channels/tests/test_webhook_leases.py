"""A delivery whose worker was killed mid-send is sent again by the next worker, unprompted.

Real processes: a ``manage.py db_worker`` subprocess on the test database, a receiver
that takes the POST and never answers, ``kill -9`` while it waits, nothing else
changed, a new worker, and the delivery completes within the lease plus a minute.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from inventory import ledger
from orders.channels.tests.test_webhooks import Receiver
from orders.models import WebhookDelivery

Status = WebhookDelivery.Status
LEASE_SECONDS = 10
ROOT = Path(django_settings.BASE_DIR)


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker() -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "1",
        "DATABASE_URL": database_url(),
        "STOCKROOM_WEBHOOK_LEASE_SECONDS": str(LEASE_SECONDS),
        "STOCKROOM_WEBHOOK_ALLOW_PRIVATE": "1",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--interval", "0.2", "--no-reload"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def wait_for(condition, seconds: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_send_is_reclaimed_by_the_next_worker(
    web_store, product, locations, settings
):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    settings.STOCKROOM_WEBHOOK_LEASE_SECONDS = LEASE_SECONDS
    receiver = Receiver()
    receiver.hold = threading.Event()  # takes the POST, answers only once set
    receiver.start()
    workers: list[subprocess.Popen] = []
    try:
        web_store.webhook_url = receiver.url
        web_store.save()
        ledger.receive(product=product, location=locations["bin1"], quantity=4, unit_cost="2")

        workers.append(start_worker())
        assert wait_for(lambda: len(receiver.requests) == 1, 60), "the first worker sent"
        os.kill(workers[0].pid, signal.SIGKILL)
        killed_at = timezone.now()
        workers[0].wait(10)
        delivery = WebhookDelivery.objects.get()
        assert delivery.status == Status.PENDING, "killed mid-send: still claimed"
        receiver.hold.set()  # from now on the receiver answers 200 at once

        workers.append(start_worker())
        bound = LEASE_SECONDS + 60
        delivered = wait_for(
            lambda: WebhookDelivery.objects.filter(
                pk=delivery.pk, status=Status.DELIVERED
            ).exists(),
            bound,
            step=0.25,
        )
        delivery.refresh_from_db()
        assert delivered, f"still {delivery.status} {bound} s after the kill"
        taken = (delivery.delivered_at - killed_at).total_seconds()
        print(f"delivered {taken:.1f} s after the kill (lease {LEASE_SECONDS} s)")
        assert len(receiver.requests) == 2
        assert receiver.latest() == {"MUG-001": (4, 2)}
        assert delivery.attempts == 2
        assert LEASE_SECONDS - 1 < taken < bound, "sent again after the lease, not before"
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(10)
        receiver.hold.set()
        receiver.stop()
