"""Atomic blocks that retry a whole top-level transaction lost to a lock conflict."""

import contextvars
import functools
import random
import time
from contextlib import contextmanager

from django.db import OperationalError, connection, transaction
from django.db.transaction import TransactionManagementError

MAX_ATTEMPTS = 5
RETRYABLE_PGCODES = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure
# Set by ``joined()``: the next atomic_with_retry call joins the enclosing block.
JOIN = contextvars.ContextVar("atomic_join", default=False)


@contextmanager
def joined():
    """Let the next ``atomic_with_retry`` call run in the enclosing block without a savepoint.

    A savepoint costs two round trips (SAVEPOINT, RELEASE). Use this only where every
    refusal of the call propagates out of an enclosing atomic block that has its own
    savepoint or is the whole transaction (nothing catches it and writes on in between),
    e.g. a service re-raising a ledger refusal as its own error. Only the next call is
    joined: calls nested inside it take their savepoints as usual.
    """
    if not connection.in_atomic_block:
        raise TransactionManagementError("joined() needs an atomic block.")
    token = JOIN.set(True)
    try:
        yield
    finally:
        JOIN.reset(token)


def is_retryable(exc: OperationalError) -> bool:
    """Say whether ``exc`` is a lost race (deadlock, serialization, SQLite busy) worth a retry."""
    cause = exc.__cause__
    if getattr(cause, "sqlstate", None) in RETRYABLE_PGCODES:
        return True
    return "database is locked" in str(exc)


def atomic_with_retry(func):
    """Run ``func`` atomically; retry a whole top-level transaction lost to a deadlock.

    Inside an outer transaction it only adds a savepoint: the outer caller owns the
    retry, since a lost race aborts its whole transaction.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if connection.in_atomic_block:
            join = JOIN.get()
            token = JOIN.set(False)
            try:
                with transaction.atomic(savepoint=not join):
                    return func(*args, **kwargs)
            finally:
                JOIN.reset(token)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with transaction.atomic():
                    return func(*args, **kwargs)
            except OperationalError as exc:
                if attempt == MAX_ATTEMPTS or not is_retryable(exc):
                    raise
                time.sleep(random.uniform(0.005, 0.02) * attempt)
        raise AssertionError("unreachable")

    return wrapper
