"""common.sqlite: transactions queue on a lock file beside the database before BEGIN."""

import fcntl
import os
import threading
import time

import pytest
from django.db import OperationalError, connection, transaction

from common.sqlite.base import WriterLock
from inventory.models import Product

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite backend")


def lock_path() -> str:
    return f"{connection.settings_dict['NAME']}-writer.lock"


def is_locked(path: str) -> bool:
    """Whether another open file description holds ``path``'s exclusive lock."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


@pytest.mark.django_db(transaction=True)
def test_a_transaction_holds_the_lock_until_it_commits_or_rolls_back():
    assert connection.vendor == "sqlite" and not is_locked(lock_path())
    with transaction.atomic():
        assert is_locked(lock_path())
        Product.objects.create(sku="LOCK-1", name="Lock one")
    assert not is_locked(lock_path())
    with pytest.raises(RuntimeError), transaction.atomic():
        Product.objects.create(sku="LOCK-2", name="Lock two")
        assert is_locked(lock_path())
        raise RuntimeError("rolled back")
    assert not is_locked(lock_path())
    assert list(Product.objects.filter(sku__startswith="LOCK-").values_list("sku", flat=True)) == [
        "LOCK-1"
    ]


@pytest.mark.django_db(transaction=True)
def test_a_writer_waits_for_the_holder_and_goes_on_as_soon_as_it_lets_go():
    holder = os.open(lock_path(), os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    release = threading.Timer(0.3, lambda: fcntl.flock(holder, fcntl.LOCK_UN))
    started = time.monotonic()
    release.start()
    try:
        with transaction.atomic():
            waited = time.monotonic() - started
            Product.objects.create(sku="LOCK-3", name="Lock three")
    finally:
        release.join()
        os.close(holder)
    assert 0.29 <= waited < 0.3 + 0.25  # not a sleep of SQLite's busy handler (≥ 25 ms steps)
    assert Product.objects.filter(sku="LOCK-3").exists()


def test_the_wait_ends_with_database_is_locked_at_the_timeout(tmp_path):
    path = str(tmp_path / "db.sqlite3-writer.lock")
    holder = os.open(path, os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    lock = WriterLock(path, timeout=0.2)
    started = time.monotonic()
    with pytest.raises(OperationalError, match="database is locked"):
        lock.acquire()
    assert time.monotonic() - started >= 0.2 and not lock.held
    fcntl.flock(holder, fcntl.LOCK_UN)
    lock.acquire()
    assert lock.held and is_locked(path)
    lock.close()
    assert not is_locked(path)
    os.close(holder)


def test_a_place_that_cannot_hold_the_lock_file_runs_without_it(tmp_path):
    lock = WriterLock(str(tmp_path / "missing-dir" / "db.sqlite3-writer.lock"), timeout=0.1)
    lock.acquire()  # no lock file can be made there: SQLite's own lock only
    assert not lock.held and not lock.usable
    lock.release()
    lock.close()


@pytest.mark.django_db
def test_statements_are_rewritten_as_django_does_and_remembered():
    from django.db.backends.sqlite3.base import SQLiteCursorWrapper

    from common.sqlite.base import qmark

    statements = [
        "SELECT %s, '%%s', 'a%%b' WHERE 1 = %s",
        "SELECT COUNT(*) FROM inventory_product WHERE sku LIKE %s",
    ]
    for sql in statements:
        assert qmark(sql) == SQLiteCursorWrapper.convert_query(None, sql)
    qmark.cache_clear()
    with connection.cursor() as cursor:
        for _ in range(3):
            cursor.execute(statements[0], ["x", 1])
            assert cursor.fetchone() == ("x", "%s", "a%b")
        cursor.execute("SELECT %(name)s", {"name": "named"})  # pyformat: Django's own way
        assert cursor.fetchone() == ("named",)
    assert qmark.cache_info().hits == 2 and qmark.cache_info().misses == 1
