"""The ``demo_server`` fixture: Stockroom started the way ``make run`` starts it.

It runs ``scripts/run.sh`` itself — the same settings (DEBUG off, plain HTTP on
localhost), migrations, ``seed_demo``, ``collectstatic``, gunicorn with
``config/gunicorn.conf.py`` and a ``db_worker`` beside it — with a fresh SQLite file,
static root and free port in a temporary folder, no ``EMAIL_*`` settings, and without
re-installing the venv. It stops both processes at the end of the session.

Use it from a test module with ``from tests.browser.demo_server import demo_server``.
"""

import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# migrate + seed_demo + collectstatic on two busy cores.
STARTUP_SECONDS = 300
# Settings run.sh chooses for make run; the caller's values must not leak in.
RUN_SETTINGS = {
    "DEBUG",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "DJANGO_SETTINGS_MODULE",
    "DATABASE_URL",
    "SECRET_KEY",
    "STATIC_ROOT",
    "PORT",
}

# gunicorn's access log: 127.0.0.1 - - [date] "GET /path HTTP/1.1" 404 ...
ACCESS_LINE = re.compile(r'"[A-Z]+ \S+ HTTP/[\d.]+" (?P<status>\d{3}) ')


@dataclass(frozen=True)
class DemoServer:
    url: str
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def log_size(self) -> int:
        return self.log.stat().st_size

    def failed_requests_since(self, offset: int) -> list[str]:
        """Return the access-log lines after ``offset`` whose status is 400 or more.

        This also sees what the browser asks for on its own, such as /favicon.ico,
        which Playwright does not report as a response of the page.
        """
        with self.log.open(errors="replace") as log:
            log.seek(offset)
            lines = log.read().splitlines()
        return [
            line
            for line in lines
            if (match := ACCESS_LINE.search(line)) and int(match.group("status")) >= 400
        ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_environment(folder: Path, port: int) -> dict[str, str]:
    """Return the environment for run.sh: the caller's, minus settings, plus a fresh setup."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in RUN_SETTINGS and not key.startswith("EMAIL_")
    }
    env.update(
        DATABASE_URL=f"sqlite:///{folder / 'stockroom.sqlite3'}",
        SECRET_KEY=secrets.token_urlsafe(50),
        STATIC_ROOT=str(folder / "static"),
        PORT=str(port),
        STOCKROOM_SKIP_BOOTSTRAP="1",
        PYTHONUNBUFFERED="1",
    )
    return env


def fetch(url: str) -> tuple[int | None, str]:
    """Return the status and body of a GET (None when nothing answers)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except OSError:
        return None, ""


def wait_until_up(server: DemoServer, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"scripts/run.sh exited with {process.returncode}:\n{server.log_tail()}")
        if fetch(f"{server.url}/healthz")[0] == 200:
            return
        time.sleep(0.5)
    pytest.fail(f"scripts/run.sh did not answer within {STARTUP_SECONDS} s:\n{server.log_tail()}")


def stop(process: subprocess.Popen) -> None:
    """Stop run.sh, which stops gunicorn and the worker; kill its own group if it hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=40)
    # Whatever run.sh started and left behind (it has a process group of its own).
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo-server")
    port = free_port()
    server = DemoServer(url=f"http://127.0.0.1:{port}", log=folder / "run.log")
    with server.log.open("w") as log:
        process = subprocess.Popen(
            [str(ROOT / "scripts" / "run.sh")],
            cwd=ROOT,
            env=run_environment(folder, port),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_up(server, process)
        # DEBUG is off: an unknown address gets the app's 404 page, not Django's debug one.
        status, body = fetch(f"{server.url}/no-such-page/")
        assert status == 404 and "Nothing lives at this address" in body, server.log_tail()
        yield server
    finally:
        stop(process)
