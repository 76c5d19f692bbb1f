"""`make run`'s port: config/gunicorn.conf.py reads PORT, scripts/run.sh checks it first."""

import os
import runpy
import socket
import subprocess

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
        env.update(PORT=str(port), STOCKROOM_SKIP_BOOTSTRAP="1")
        result = subprocess.run(
            [str(settings.BASE_DIR / "scripts" / "run.sh")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"Port {port} on 127.0.0.1 is in use" in result.stderr
    assert f"make run PORT={port + 1}" in result.stderr
    assert "Applying database migrations" not in result.stdout
