"""The API's 500 `sku=` parameters get through gunicorn as `make run` starts it (issue 15).

gunicorn's default request line (4094 bytes) answered an HTML 414 after ~300 SKUs;
config/gunicorn.conf.py raises it to 8190, which the benchmark's gunicorn uses too.
"""

import http.client
import os
import runpy
import socket
import subprocess
import sys
import time

import pytest
from django.conf import settings

CONF = settings.BASE_DIR / "config" / "gunicorn.conf.py"
SKUS = [f"P-{n:09d}" for n in range(500)]  # 11 characters each, like the probe's


def test_the_request_line_limit_is_set_where_gunicorn_starts():
    from bench import common

    assert runpy.run_path(str(CONF))["limit_request_line"] == 8190
    assert common.GUNICORN_LIMIT_REQUEST_LINE == 8190


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """gunicorn with `make run`'s config file against an empty SQLite file."""
    port = _free_port()
    folder = tmp_path_factory.mktemp("gunicorn")
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE"}},
        "PORT": str(port),
        "DEBUG": "0",
        "SECRET_KEY": "request-line-test",
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", str(CONF)],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(150):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def _get(port: int, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Content-Type", "")
    finally:
        connection.close()


def test_500_skus_reach_the_api_and_get_json(served):
    path = "/api/v1/inventory?" + "&".join(f"sku={sku}" for sku in SKUS)
    assert len(f"GET {path} HTTP/1.1") > 4094  # what gunicorn's default refused
    status, content_type = _get(served, path)
    # No token: the API itself answers, in JSON (gunicorn would answer an HTML 414).
    assert status == 401
    assert content_type.startswith("application/json")


def test_a_line_past_gunicorns_largest_limit_is_still_refused(served):
    status, _ = _get(served, "/api/v1/inventory?" + "&".join(["sku=" + "X" * 60] * 200))
    assert status in (400, 414)
