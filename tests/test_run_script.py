"""`make run`'s port: config/gunicorn.conf.py reads PORT, scripts/run.sh checks it first."""

import os
import runpy
import socket
import subprocess
import time

import pytest
from django.conf import settings

CONF = settings.BASE_DIR / "config" / "gunicorn.conf.py"


def test_gunicorn_binds_localhost_on_port_from_environment(monkeypatch):
    monkeypatch.delenv("PORT", raising=False)
    assert runpy.run_path(str(CONF))["bind"] == "127.0.0.1:8000"
    monkeypatch.setenv("PORT", "8001")
    assert runpy.run_path(str(CONF))["bind"] == "127.0.0.1:8001"


@pytest.mark.parametrize("port", ["abc", "0", "70000", "80; rm"])
def test_gunicorn_refuses_a_port_that_is_not_one(monkeypatch, port):
    monkeypatch.setenv("PORT", port)
    with pytest.raises(SystemExit, match="is not a port number"):
        runpy.run_path(str(CONF))


def test_run_script_stops_before_any_work_when_the_port_is_taken():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "SECRET_KEY"}
        }
        env.update(PORT=str(port), STOCKROOM_SKIP_BOOTSTRAP="1", STOCKROOM_PORT_WAIT="1.5")
        result = subprocess.run(
            [str(settings.BASE_DIR / "scripts" / "run.sh")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"Port {port} on 127.0.0.1 is busy; waiting up to 1.5 s" in result.stderr
    assert f"Port {port} on 127.0.0.1 is in use" in result.stderr
    assert f"make run PORT={port + 1}" in result.stderr
    assert "Applying database migrations" not in result.stdout


def test_run_script_waits_for_a_port_that_frees_up():
    """A Stockroom that just stopped may hold the port a moment; run.sh waits, then serves."""
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "SECRET_KEY"}
    }
    env.update(PORT=str(port), STOCKROOM_SKIP_BOOTSTRAP="1", STOCKROOM_PORT_WAIT="20")
    script = settings.BASE_DIR / "scripts" / "run.sh"
    # Only the port check: stop the script once it has passed it.
    check = script.read_text().split("URL=")[0].split("BIND=$(", 1)[1].rsplit(")", 1)[0]
    process = subprocess.Popen(
        ["bash", "-c", f"cd {settings.BASE_DIR} && PY=.venv/bin/python && {check}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2)
    taken.close()
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert f"Port {port} on 127.0.0.1 is busy; waiting up to 20 s" in err
    assert out.strip() == f"127.0.0.1:{port}"
