"""The PostgreSQL connection pool, read from the environment (README "Several app servers").

Django's built-in psycopg pool (``OPTIONS["pool"]``) is switched on with
``STOCKROOM_DB_POOL=1`` and sized with ``STOCKROOM_DB_POOL_MIN``, ``_MAX`` and
``_TIMEOUT``. Each process (a gunicorn worker, a ``db_worker``) has its own pool,
so the connections one host opens are its processes times the pool's maximum.
Every mistake stops the start with ``ImproperlyConfigured`` naming the variable.
"""

import importlib.util
import math
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

POSTGRESQL_ENGINES = frozenset({"django.db.backends.postgresql"})
# A sync gunicorn worker or a db_worker uses one connection at a time; under load it was
# measured holding two (one in use while the pool readies the one just given back), and
# no more with a larger maximum (tests/test_multi_server.py).
DEFAULT_MIN_SIZE = 1
DEFAULT_MAX_SIZE = 2
# Seconds a request waits for a free connection before it fails (and answers 503);
# well under gunicorn's 60 s timeout.
DEFAULT_TIMEOUT = 10.0
ON = frozenset({"1", "true", "yes", "on"})
OFF = frozenset({"", "0", "false", "no", "off"})
SIZE_VARIABLES = ("STOCKROOM_DB_POOL_MIN", "STOCKROOM_DB_POOL_MAX", "STOCKROOM_DB_POOL_TIMEOUT")


def _value(env: Mapping[str, str], name: str) -> str:
    return (env.get(name) or "").strip()


def _switched_on(env: Mapping[str, str]) -> bool:
    raw = _value(env, "STOCKROOM_DB_POOL")
    if raw.lower() in ON:
        return True
    if raw.lower() in OFF:
        return False
    raise ImproperlyConfigured(
        f"STOCKROOM_DB_POOL={raw!r} is not understood: use 1 to pool PostgreSQL connections "
        "or 0 (the default) for one persistent connection per process."
    )


def _size(env: Mapping[str, str], name: str, default: int, least: int) -> int:
    raw = _value(env, name)
    if not raw:
        return default
    try:
        number = int(raw)
    except ValueError:
        number = None
    if number is None or number < least:
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a whole number of connections of at least {least}."
        )
    return number


def _timeout(env: Mapping[str, str]) -> float:
    raw = _value(env, "STOCKROOM_DB_POOL_TIMEOUT")
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise ImproperlyConfigured(
            f"STOCKROOM_DB_POOL_TIMEOUT={raw!r} is not a number of seconds above 0 "
            f"(how long a request waits for a free connection; default {DEFAULT_TIMEOUT:g})."
        )
    return seconds


def pool_options(env: Mapping[str, str], engine: str) -> dict | None:
    """Return the ``OPTIONS["pool"]`` dict the environment asks for, or None for no pool.

    Raises ImproperlyConfigured for a value that is not understood, sizes without
    ``STOCKROOM_DB_POOL=1``, a pool on a database other than PostgreSQL, or a pool
    without the ``psycopg_pool`` package.
    """
    if not _switched_on(env):
        stray = [name for name in SIZE_VARIABLES if _value(env, name)]
        if stray:
            raise ImproperlyConfigured(
                f"{', '.join(stray)} set, but the pool is off: set STOCKROOM_DB_POOL=1 to "
                "use a connection pool, or remove them."
            )
        return None
    if engine not in POSTGRESQL_ENGINES:
        raise ImproperlyConfigured(
            "STOCKROOM_DB_POOL=1 needs PostgreSQL (DATABASE_URL=postgres://…); the database "
            f"is {engine.rsplit('.', 1)[-1]}, which runs on one host and needs no pool."
        )
    min_size = _size(env, "STOCKROOM_DB_POOL_MIN", DEFAULT_MIN_SIZE, least=0)
    max_size = _size(env, "STOCKROOM_DB_POOL_MAX", max(DEFAULT_MAX_SIZE, min_size), least=1)
    if min_size > max_size:
        raise ImproperlyConfigured(
            f"STOCKROOM_DB_POOL_MIN={min_size} is more than STOCKROOM_DB_POOL_MAX={max_size}: "
            "a pool cannot keep more connections open than it may have."
        )
    timeout = _timeout(env)
    if importlib.util.find_spec("psycopg_pool") is None:
        raise ImproperlyConfigured(
            "STOCKROOM_DB_POOL=1 needs the psycopg_pool package: "
            ".venv/bin/pip install -r requirements.txt"
        )
    return {"min_size": min_size, "max_size": max_size, "timeout": timeout}


def apply_pool(database: dict, env: Mapping[str, str]) -> dict:
    """Add the pool the environment asks for to a ``DATABASES`` entry; return the entry.

    With a pool, connections are returned to it at the end of each request, so
    ``CONN_MAX_AGE`` must be 0 (Django refuses pooling with persistent connections).
    ``CONN_HEALTH_CHECKS`` stays: the pool then checks a connection before handing it out.
    """
    options = pool_options(env, database["ENGINE"])
    if options is not None:
        database.setdefault("OPTIONS", {})["pool"] = options
        database["CONN_MAX_AGE"] = 0
    return database
