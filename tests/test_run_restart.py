"""`make run` after a crash: kill -9 of the gunicorn master, then `make run` again serves.

Real processes through scripts/run.sh's own code path. Before the fix the master's
orphaned workers kept the port for ~27 s and the second run.sh exited at its port
check.
"""

import contextlib
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
PORT_FREE_BOUND_SECONDS = 3  # from the kill until the port can be bound again
RESTART_BOUND_SECONDS = 60  # run.sh's own start (migrate, collectstatic) included


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(folder: Path, port: int) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "SECRET_KEY", "DEBUG"}
        and not key.startswith("EMAIL_")
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


def start(env: dict, log: Path) -> subprocess.Popen:
    with log.open("a") as out:
        return subprocess.Popen(
            [str(ROOT / "scripts" / "run.sh")],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def status(url: str, timeout: float = 2) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def serving(url: str, process: subprocess.Popen) -> bool:
    """This run.sh's own gunicorn is up and the port answers (not an old orphan alone)."""
    try:
        gunicorn_master(process.pid)
    except (AssertionError, FileNotFoundError):
        return False
    return status(f"{url}/healthz") == 200


def wait_healthy(url: str, process: subprocess.Popen, seconds: float, log: Path) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if process.poll() is not None:
            pytest.fail(f"run.sh exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        if serving(url, process):
            return time.monotonic() - started
        time.sleep(0.2)
    pytest.fail(f"no 200 within {seconds} s:\n{log.read_text()[-3000:]}")


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(child) for child in text)
    return found


def gunicorn_master(run_pid: int) -> int:
    for child in children(run_pid):
        cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
        if b"gunicorn" in cmdline:
            return child
    raise AssertionError("no gunicorn under run.sh")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
def test_make_run_serves_again_soon_after_the_master_is_killed(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = environment(tmp_path, port)
    log = tmp_path / "run.log"
    first = start(env, log)
    second = None
    try:
        wait_healthy(url, first, 180, log)  # first start: migrations and demo data
        master = gunicorn_master(first.pid)
        workers = children(master)
        assert workers, "gunicorn forked its workers"
        # A worker busy with a request that waits for the database (another writer holds
        # SQLite's lock: /healthz tries a write), as under load when the master dies.
        lock = sqlite3.connect(
            tmp_path / "stockroom.sqlite3", isolation_level=None, check_same_thread=False
        )
        lock.execute("BEGIN IMMEDIATE")
        threading.Thread(target=status, args=(f"{url}/healthz", 60), daemon=True).start()
        time.sleep(1)
        os.kill(master, signal.SIGKILL)
        killed = time.monotonic()
        while not port_is_free(port) and time.monotonic() - killed < 40:
            time.sleep(0.05)
        freed = time.monotonic() - killed
        print(f"port free {freed:.1f} s after the master was killed")
        assert freed < PORT_FREE_BOUND_SECONDS, "the orphaned workers let go of the port"
        lock.rollback()  # the other writer finishes
        first.wait(timeout=60)  # run.sh stops its task worker and exits

        second = start(env, log)
        took = wait_healthy(url, second, RESTART_BOUND_SECONDS, log)
        print(f"serving again {took:.1f} s after the master was killed")
        time.sleep(1)
        assert second.poll() is None, log.read_text()[-3000:]
        assert status(f"{url}/healthz") == 200
        left = [pid for pid in workers if Path(f"/proc/{pid}").exists()]
        assert not left, "the killed master's workers exited"
    finally:
        for process in (second, first):
            if process is not None:
                stop(process)
