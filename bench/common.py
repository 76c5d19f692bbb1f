"""Start Django for a benchmark process against a chosen database."""

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import django
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def default_database_url(size: str) -> str:
    return f"sqlite:///{ROOT / 'var' / f'bench-{size}.sqlite3'}"


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    django.setup()


def analyze() -> None:
    """Collect planner statistics after a bulk load (SQLite plans badly without them)."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def database_description() -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("select sqlite_version()")
            return f"SQLite {cursor.fetchone()[0]}"
        cursor.execute("show server_version")
        return f"PostgreSQL {cursor.fetchone()[0]}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# As `make run` serves it (config/gunicorn.conf.py): the API's 500 `sku=` parameters fit.
GUNICORN_LIMIT_REQUEST_LINE = 8190


@contextmanager
def gunicorn(database_url: str, workers: int = 2):
    """Serve the project with gunicorn on a free port; yield ``(port, master pid)``."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "0",
    }
    command = [sys.executable, "-m", "gunicorn", "config.wsgi:application"]
    command += ["--workers", str(workers), "--bind", f"127.0.0.1:{port}"]
    command += ["--limit-request-line", str(GUNICORN_LIMIT_REQUEST_LINE)]
    server = subprocess.Popen([*command, "--log-level", "warning"], cwd=ROOT, env=env)
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        yield port, server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
