"""The PostgreSQL connection pool from the environment (config/database.py, README "Several
app servers"): what each variable does, and every bad value stops the start with its name."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError, connection
from django.db.backends.postgresql.base import DatabaseWrapper

from common.unavailable import is_unavailable
from config import database
from tests.test_settings import effective_database, run_python

PG = "django.db.backends.postgresql"
SQLITE = "django.db.backends.sqlite3"
PG_URL = "postgres://stock:secret@db.internal:5432/stockroom"


def test_no_pool_unless_asked():
    assert database.pool_options({}, PG) is None
    assert database.pool_options({"STOCKROOM_DB_POOL": "0"}, PG) is None
    assert database.pool_options({"STOCKROOM_DB_POOL": ""}, SQLITE) is None
    entry = {"ENGINE": PG, "CONN_MAX_AGE": 600, "OPTIONS": {}}
    assert database.apply_pool(entry, {}) == {"ENGINE": PG, "CONN_MAX_AGE": 600, "OPTIONS": {}}


@pytest.mark.parametrize("switch", ["1", "true", "YES", " on "])
def test_the_pool_with_its_defaults(switch):
    assert database.pool_options({"STOCKROOM_DB_POOL": switch}, PG) == {
        "min_size": 1,
        "max_size": 2,
        "timeout": 10.0,
    }


def test_sizes_and_timeout_from_the_environment():
    env = {
        "STOCKROOM_DB_POOL": "1",
        "STOCKROOM_DB_POOL_MIN": "2",
        "STOCKROOM_DB_POOL_MAX": " 8 ",
        "STOCKROOM_DB_POOL_TIMEOUT": "2.5",
    }
    assert database.pool_options(env, PG) == {"min_size": 2, "max_size": 8, "timeout": 2.5}
    # A minimum above the default maximum raises the maximum with it.
    env = {"STOCKROOM_DB_POOL": "1", "STOCKROOM_DB_POOL_MIN": "3"}
    assert database.pool_options(env, PG)["max_size"] == 3
    env = {"STOCKROOM_DB_POOL": "1", "STOCKROOM_DB_POOL_MIN": "0", "STOCKROOM_DB_POOL_MAX": "1"}
    assert database.pool_options(env, PG) == {"min_size": 0, "max_size": 1, "timeout": 10.0}


def test_apply_pool_turns_persistent_connections_off_and_keeps_other_options():
    entry = {
        "ENGINE": PG,
        "CONN_MAX_AGE": 600,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {"sslmode": "require"},
    }
    database.apply_pool(entry, {"STOCKROOM_DB_POOL": "1", "STOCKROOM_DB_POOL_MAX": "3"})
    assert entry["CONN_MAX_AGE"] == 0
    assert entry["CONN_HEALTH_CHECKS"] is True
    assert entry["OPTIONS"] == {
        "sslmode": "require",
        "pool": {"min_size": 1, "max_size": 3, "timeout": 10.0},
    }


@pytest.mark.parametrize(
    ("env", "engine", "message"),
    [
        ({"STOCKROOM_DB_POOL": "maybe"}, PG, "STOCKROOM_DB_POOL='maybe' is not understood"),
        ({"STOCKROOM_DB_POOL": "1"}, SQLITE, "STOCKROOM_DB_POOL=1 needs PostgreSQL"),
        (
            {"STOCKROOM_DB_POOL": "1", "STOCKROOM_DB_POOL_MAX": "four"},
            PG,
            "STOCKROOM_DB_POOL_MAX='four' is not a whole number of connections of at least 1",
        ),
        (
            {"STOCKROOM_DB_POOL": "1", "STOCKROOM_DB_POOL_MAX": "0"},
            PG,
            "STOCKROOM_DB_POOL_MAX='0' is not a whole number of connections of at least 1",
        ),
        (
            {"STOCKROOM_DB_POOL": "1", "STOCKROOM_DB_POOL_MIN": "-1"},
            PG,
            "STOCKROOM_DB_POOL_MIN='-1' is not a whole number of connections of at least 0",
        ),
        (
            {"STOCKROOM_DB_POOL": "1", "STOCKROOM_DB_POOL_MIN": "2.5"},
            PG,
            "STOCKROOM_DB_POOL_MIN='2.5' is not a whole number",
        ),
        (
            {"STOCKROOM_DB_POOL": "1", "STOCKROOM_DB_POOL_MIN": "5", "STOCKROOM_DB_POOL_MAX": "2"},
            PG,
            "STOCKROOM_DB_POOL_MIN=5 is more than STOCKROOM_DB_POOL_MAX=2",
        ),
        *[
            (
                {"STOCKROOM_DB_POOL": "1", "STOCKROOM_DB_POOL_TIMEOUT": bad},
                PG,
                f"STOCKROOM_DB_POOL_TIMEOUT={bad!r} is not a number of seconds above 0",
            )
            for bad in ("0", "-3", "soon", "nan", "inf")
        ],
        (
            {"STOCKROOM_DB_POOL_MAX": "8", "STOCKROOM_DB_POOL_TIMEOUT": "5"},
            PG,
            "STOCKROOM_DB_POOL_MAX, STOCKROOM_DB_POOL_TIMEOUT set, but the pool is off",
        ),
        (
            {"STOCKROOM_DB_POOL": "0", "STOCKROOM_DB_POOL_MIN": "1"},
            PG,
            "STOCKROOM_DB_POOL_MIN set, but the pool is off",
        ),
    ],
)
def test_bad_values_are_refused_with_the_variable_named(env, engine, message):
    with pytest.raises(ImproperlyConfigured) as refused:
        database.pool_options(env, engine)
    assert message in str(refused.value)
    entry = {"ENGINE": engine, "CONN_MAX_AGE": 600, "OPTIONS": {}}
    with pytest.raises(ImproperlyConfigured):
        database.apply_pool(entry, env)
    assert entry == {"ENGINE": engine, "CONN_MAX_AGE": 600, "OPTIONS": {}}


def test_a_missing_psycopg_pool_package_is_named(monkeypatch):
    monkeypatch.setattr(database.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImproperlyConfigured, match="needs the psycopg_pool package"):
        database.pool_options({"STOCKROOM_DB_POOL": "1"}, PG)


def test_the_settings_read_the_pool_from_the_environment():
    """The real settings module, as gunicorn and db_worker load it."""
    pooled = effective_database(
        DEBUG="1",
        DATABASE_URL=PG_URL,
        STOCKROOM_DB_POOL="1",
        STOCKROOM_DB_POOL_MAX="6",
        STOCKROOM_DB_POOL_TIMEOUT="3",
    )
    assert pooled["CONN_MAX_AGE"] == 0
    assert pooled["CONN_HEALTH_CHECKS"] is True
    assert pooled["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 6, "timeout": 3.0}

    plain = effective_database(DEBUG="1", DATABASE_URL=PG_URL)
    assert plain["CONN_MAX_AGE"] == 600
    assert "pool" not in plain["OPTIONS"]


def test_a_pool_on_sqlite_stops_the_start_with_a_sentence(tmp_path):
    result = run_python(
        ["-c", "import config.settings"],
        DEBUG="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        STOCKROOM_DB_POOL="1",
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: STOCKROOM_DB_POOL=1 needs PostgreSQL" in result.stderr


@pytest.mark.postgres
def test_an_exhausted_pool_is_a_database_unavailable_error(db):
    """A request that waits past STOCKROOM_DB_POOL_TIMEOUT answers 503, not 500."""
    entry = {**connection.settings_dict, "CONN_MAX_AGE": 0}
    entry["OPTIONS"] = {**entry["OPTIONS"], "pool": {"min_size": 0, "max_size": 1, "timeout": 0.3}}
    holder = DatabaseWrapper(entry, alias="pool-test")
    waiter = DatabaseWrapper(entry, alias="pool-test")
    try:
        holder.ensure_connection()  # takes the pool's only connection
        with pytest.raises(OperationalError) as waited:
            waiter.ensure_connection()
        assert "couldn't get a connection after 0.30 sec" in str(waited.value)
        assert is_unavailable(waited.value)
        holder.close()  # back to the pool: the next request gets it
        waiter.ensure_connection()
        assert waiter.is_usable()
    finally:
        waiter.close()
        holder.close()
        holder.close_pool()
