"""A database of their own for servers that tests start (gunicorn, db_worker, manage.py).

The test database lives inside the test process (SQLite in memory) or is emptied
between tests, so a server started as `make run` starts it needs another one: a SQLite
file in the test's folder, or, when the suite runs on PostgreSQL, one more database on
the same server, dropped afterwards.
"""

import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg
from django.db import connection


@contextmanager
def server_database(folder: Path):
    """Yield a DATABASE_URL for an empty database of the suite's kind."""
    if connection.vendor != "postgresql":
        yield f"sqlite:///{folder / 'server.sqlite3'}"
        return
    settings = connection.settings_dict
    host, port = settings["HOST"], settings["PORT"] or 5432
    user, password = settings["USER"], settings["PASSWORD"]
    name = f"server_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(
        host=host, port=port, user=user, password=password or None, dbname="postgres"
    )
    admin.autocommit = True
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        auth = user + (f":{password}" if password else "")
        yield f"postgres://{auth}@{host}:{port}/{name}"
    finally:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.close()
