"""The pages over HTTP: concurrent users against gunicorn with 2 workers.

Imports models, so it is imported only after ``django.setup()`` (see bench.run).
"""

import http.client
import threading
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from bench.common import gunicorn
from bench.pages import bench_user
from bench.timing import percentile, run_concurrently, summarize


def session_cookie() -> str:
    """Log the bench user in with a stored session; return its Cookie header value."""
    user = bench_user()
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    # The backend that logs users in (the first one, login throttling, only refuses).
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def rss_kb(pid: int) -> int:
    """Return the peak resident set size of process ``pid`` in kB (0 if unknown)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    """Return the ids of the child processes of ``pid``."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def get(conn: http.client.HTTPConnection, url: str, headers: dict[str, str]) -> int:
    """GET ``url`` on a keep-alive connection, read the answer and return its status."""
    conn.request("GET", url, headers=headers)
    response = conn.getresponse()
    response.read()
    return response.status


def warm_up(port: int, urls: dict[str, str], headers: dict[str, str]) -> None:
    """Request every page twice, so both workers have loaded their code."""
    warm = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(2):
        for url in urls.values():
            get(warm, url, headers)
    warm.close()


def browse(port: int, urls: dict[str, str], headers: dict[str, str], seconds: float, users: int):
    """``users`` threads request the pages round-robin for ``seconds``.

    Return the latencies by page, the errors and the elapsed seconds.
    """
    names = list(urls)
    latencies: dict[str, list[float]] = {name: [] for name in names}
    errors = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def user_loop(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        i = n
        local: dict[str, list[float]] = {name: [] for name in names}
        while time.perf_counter() < deadline:
            name = names[i % len(names)]
            i += 1
            started = time.perf_counter()
            try:
                status = get(conn, urls[name], headers)
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors.append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            if status != 200:
                with lock:
                    errors.append(f"{name}: {status}")
            local[name].append((time.perf_counter() - started) * 1000)
        conn.close()
        with lock:
            for name, values in local.items():
                latencies[name].extend(values)

    elapsed = run_concurrently(user_loop, users)
    return latencies, errors, elapsed


def measure_http(urls: dict[str, str], database_url: str, seconds: float, users: int) -> dict:
    """Serve the project with gunicorn and measure the pages under concurrent users."""
    with gunicorn(database_url) as (port, server_pid):
        headers = {"Cookie": session_cookie(), "Host": "127.0.0.1"}
        warm_up(port, urls, headers)
        latencies, errors, elapsed = browse(port, urls, headers, seconds, users)
        everything = [v for values in latencies.values() for v in values]
        workers = children(server_pid)
        return {
            "users": users,
            "seconds": round(elapsed, 1),
            "requests": len(everything),
            "requests_per_s": round(len(everything) / elapsed, 1),
            "p95_ms": round(percentile(everything, 95), 1),
            "errors": len(errors),
            "first_errors": errors[:5],
            "per_page": {name: summarize(values) for name, values in latencies.items()},
            "worker_peak_rss_mb": [round(rss_kb(pid) / 1024, 1) for pid in workers],
        }
