"""Atomic blocks that retry a whole top-level transaction lost to a lock conflict."""

import functools
import random
import time

from django.db import OperationalError, connection, transaction

MAX_ATTEMPTS = 5
RETRYABLE_PGCODES = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure


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
            with transaction.atomic():
                return func(*args, **kwargs)
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
