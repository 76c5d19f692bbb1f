"""``manage.py backup`` under write load, then ``manage.py restore`` into a new database.

The backup is taken while threads keep posting ledger moves; the restore goes into a
database that did not exist (a new SQLite file, a new PostgreSQL database) in a separate
process, as an operator would run it. Every move committed before the backup started
must be there, the copy must be one consistent moment (``check_ledger`` clean), and a
restore never overwrites a database that holds tables unless told to.
"""

import os
import sqlite3
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from common.testing import run_threads
from inventory import ledger
from inventory.backup import BackupError, backup, restore
from inventory.models import StockMove

MANAGE = Path(settings.BASE_DIR) / "manage.py"


def manage(*args: str, database_url: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": "restore-test-key-not-secret-" + "x" * 40,
    }
    return subprocess.run(
        [sys.executable, str(MANAGE), *args], env=env, capture_output=True, text=True, timeout=300
    )


def backup_under_load(product, locations, path: Path) -> tuple[set[int], set[int]]:
    """Back up while two writers post receipts and transfers; return the move ids
    committed before the backup started, and all of them once the writers stopped."""
    busy, stop = threading.Event(), threading.Event()
    failures: list[BaseException] = []
    running = threading.Barrier(2, action=busy.set)

    def work(index):
        running.wait(timeout=30)
        source, target = (locations["bin1"], locations["bin2"])[:: 1 if index else -1]
        while not stop.is_set():
            ledger.receive(product=product, location=source, quantity=3, unit_cost="2.00")
            ledger.transfer(product=product, from_location=source, to_location=target, quantity=1)

    writers = threading.Thread(target=lambda: failures.extend(run_threads(2, work)))
    writers.start()
    assert busy.wait(30)
    before = set(StockMove.objects.values_list("id", flat=True))
    try:
        call_command("backup", str(path))
    finally:
        stop.set()
        writers.join(120)
    assert not failures, failures
    after = set(StockMove.objects.values_list("id", flat=True))
    assert len(after) > len(before), "the writers did not write during the backup"
    return before, after


@pytest.mark.django_db(transaction=True)
def test_sqlite_backup_under_load_restores_into_a_new_file(product, locations, tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite online backup API; the PostgreSQL test is below")
    path = tmp_path / "nightly.sqlite3"
    before, after = backup_under_load(product, locations, path)

    target = tmp_path / "restored.sqlite3"
    run = manage("restore", str(path), database_url=f"sqlite:///{target}")
    assert run.returncode == 0, run.stderr
    assert "ledger and balances agree" in run.stdout
    restored = sqlite3.connect(target)
    ids = {row[0] for row in restored.execute("SELECT id FROM inventory_stockmove")}
    assert before <= ids <= after
    restored.close()

    again = manage("restore", str(path), database_url=f"sqlite:///{target}")
    assert again.returncode == 1
    assert "already holds a database; add --replace" in again.stderr


@pytest.mark.django_db(transaction=True)
def test_postgres_backup_under_load_restores_into_a_new_database(product, locations, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("pg_dump / pg_restore; the SQLite test is above")
    path = tmp_path / "nightly.dump"
    before, after = backup_under_load(product, locations, path)

    name = f"stockroom_restore_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    params = connection.settings_dict
    url = (
        f"postgres://{params['USER']}:{params['PASSWORD'] or ''}@{params['HOST'] or 'localhost'}"
        f":{params['PORT'] or 5432}/{name}"
    )
    try:
        run = manage("restore", str(path), database_url=url)
        assert run.returncode == 0, run.stderr
        assert "ledger and balances agree" in run.stdout
        count = manage("shell", "--no-imports", "-c", COUNT_MOVES, database_url=url)
        ids = {int(v) for v in count.stdout.split()}
        assert before <= ids <= after
        again = manage("restore", str(path), database_url=url)
        assert again.returncode == 1
        assert "already holds tables; add --replace" in again.stderr
    finally:
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


COUNT_MOVES = (
    "from inventory.models import StockMove\n"
    "print(' '.join(str(i) for i in StockMove.objects.values_list('id', flat=True)))"
)


@pytest.mark.django_db
def test_backup_never_overwrites_and_restore_refuses_what_is_not_a_backup(tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("keep me")
    with pytest.raises(BackupError, match="already exists"):
        backup(taken)
    assert taken.read_text() == "keep me"
    with pytest.raises(CommandError, match="No backup file"):
        call_command("restore", str(tmp_path / "missing"))
    with pytest.raises(BackupError, match=r"is not an? (SQLite|PostgreSQL) backup"):
        restore(taken)
