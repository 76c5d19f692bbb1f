"""Settings from the environment: safe start, deploy checks, databases, CSP."""

import json
import os
import re
import sqlite3
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest
from django.core.management.utils import get_random_secret_key
from django.db import connection, transaction
from django.urls import reverse

BASE_DIR = Path(__file__).resolve().parent.parent

SHOW_DATABASE = """
import json
from django.conf import settings
db = settings.DATABASES["default"]
print(json.dumps({key: db.get(key) for key in ("ENGINE", "NAME", "HOST", "PORT",
      "CONN_MAX_AGE", "CONN_HEALTH_CHECKS", "OPTIONS")}))
"""


def run_python(args: list[str], **env: str) -> subprocess.CompletedProcess:
    """Run the project's Python with only PATH and the given variables in the environment."""
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **env}
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def effective_database(**env: str) -> dict:
    code = "import django; django.setup()\n" + SHOW_DATABASE
    result = run_python(["-c", code], DJANGO_SETTINGS_MODULE="config.settings", **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("debug", [None, "0", "false"])
def test_settings_refuse_to_start_without_secret_key_when_debug_is_off(debug):
    env = {"SECRET_KEY": ""} if debug is None else {"DEBUG": debug}
    result = run_python(["-c", "import config.settings"], **env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY is not set" in result.stderr


def test_settings_use_a_development_key_only_in_debug():
    result = run_python(
        ["-c", "import config.settings as s; print(s.DEBUG, s.SECRET_KEY[:16])"], DEBUG="1"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "django-insecure-"]


def test_deploy_check_is_clean_with_debug_off_a_real_key_and_a_mail_server():
    key = get_random_secret_key()
    assert len(key) >= 50

    result = run_python(
        ["manage.py", "check", "--deploy"],
        DEBUG="0",
        SECRET_KEY=key,
        EMAIL_HOST="smtp.example.com",
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output
    assert "System check identified no issues (0 silenced)." in output


def test_deploy_check_warns_when_https_protections_are_switched_off():
    """The plain-HTTP switches make run uses are real: the deploy check notices them."""
    result = run_python(
        ["manage.py", "check", "--deploy"],
        DEBUG="0",
        SECRET_KEY=get_random_secret_key(),
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SECURE_HSTS_SECONDS="0",
    )

    output = result.stdout + result.stderr
    for check_id in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check_id in output


def test_database_url_selects_postgresql_with_persistent_checked_connections():
    db = effective_database(
        DEBUG="1", DATABASE_URL="postgres://stock:secret@db.example.com:5433/stockroom"
    )

    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["HOST"], db["PORT"], db["NAME"]) == ("db.example.com", 5433, "stockroom")
    assert db["CONN_MAX_AGE"] >= 60
    assert db["CONN_HEALTH_CHECKS"] is True


def test_sqlite_is_the_default_with_wal_immediate_transactions_and_a_busy_timeout():
    db = effective_database(DEBUG="1")

    assert db["ENGINE"] == "common.sqlite"  # Django's SQLite backend, writers queued
    assert Path(db["NAME"]) == BASE_DIR / "var" / "stockroom.sqlite3"
    assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert db["OPTIONS"]["timeout"] >= 5
    assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="checks the SQLite connection")
@pytest.mark.django_db(transaction=True)
def test_sqlite_connection_is_in_wal_mode_and_waits_for_locks():
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] >= 5000
    assert connection.transaction_mode == "IMMEDIATE"


@pytest.mark.skipif(connection.vendor != "sqlite", reason="checks the SQLite connection")
@pytest.mark.django_db(transaction=True)
def test_sqlite_atomic_blocks_take_the_write_lock_at_begin():
    """Even a read-only atomic block holds the write lock, so writers queue instead of failing."""
    other = sqlite3.connect(connection.settings_dict["NAME"], timeout=0, isolation_level=None)
    try:
        with transaction.atomic():
            connection.cursor().execute("SELECT 1")
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_connection_is_persistent_with_health_checks():
    connection.ensure_connection()

    assert connection.Database.__name__ == "psycopg"
    assert connection.settings_dict["CONN_MAX_AGE"] >= 60
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True


def csp_directives(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.mark.django_db
def test_pages_carry_a_csp_with_a_script_nonce_and_no_unsafe_inline(client):
    response = client.get(reverse("login"))

    assert response.status_code == 200
    directives = csp_directives(response)
    scripts = directives["script-src"]
    nonces = [value for value in scripts if value.startswith("'nonce-")]
    assert len(nonces) == 1
    assert "'unsafe-inline'" not in scripts
    assert "'unsafe-eval'" not in scripts
    assert "'unsafe-inline'" not in directives["style-src"]
    assert directives["default-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]

    nonce = nonces[0].removeprefix("'nonce-").removesuffix("'")
    html = response.content.decode()
    script_tags = re.findall(r"<script\b[^>]*>", html)
    assert script_tags, "the page loads no script at all"
    for tag in script_tags:
        assert f'nonce="{nonce}"' in tag, tag
        assert "src=" in tag, f"inline script: {tag}"


@pytest.mark.django_db
def test_htmx_is_loaded_by_the_template_tag_without_inline_indicator_styles(client):
    html = client.get(reverse("login")).content.decode()

    assert re.search(r'<script src="[^"]*django_htmx/htmx-2(\.min)?\.js"', html)
    config = re.search(r"""<meta name="htmx-config" content=(["'])(.*?)\1""", html)
    assert config, "htmx-config meta tag missing"
    assert json.loads(unescape(config.group(2)))["includeIndicatorStyles"] is False


@pytest.mark.django_db
def test_each_response_gets_its_own_nonce(client):
    first = csp_directives(client.get(reverse("login")))["script-src"]
    second = csp_directives(client.get(reverse("login")))["script-src"]

    assert first != second


def test_csp_header_is_on_responses_that_render_no_template(client):
    response = client.get("/healthz")

    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


# --- mail ------------------------------------------------------------------------------

SMTP = "django.core.mail.backends.smtp.EmailBackend"
# The environment `make run` gives the settings (Makefile and scripts/run.sh), with no
# EMAIL_* variable: a fresh install.
MAKE_RUN_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "make-run-like-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "SECURE_SSL_REDIRECT": "0",
    "SESSION_COOKIE_SECURE": "0",
    "CSRF_COOKIE_SECURE": "0",
    "SECURE_HSTS_SECONDS": "0",
}


def effective_mailer(**env: str) -> dict:
    """The default mailer the settings compute from ``env`` (in a fresh process)."""
    code = (
        "import json, django; django.setup()\n"
        "from django.conf import settings\n"
        "print(json.dumps(settings.MAILERS['default']))\n"
    )
    result = run_python(["-c", code], DJANGO_SETTINGS_MODULE="config.settings", **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_make_run_writes_mail_to_files_instead_of_smtp_without_a_host():
    mailer = effective_mailer(**MAKE_RUN_ENV)

    assert mailer["BACKEND"] == "django.core.mail.backends.filebased.EmailBackend"
    assert mailer["OPTIONS"] == {"file_path": str(BASE_DIR / "var" / "mail")}
    assert not (mailer["BACKEND"] == SMTP and not mailer["OPTIONS"].get("host"))


def test_development_prints_mail_to_the_console():
    mailer = effective_mailer(DEBUG="1")

    assert mailer["BACKEND"] == "django.core.mail.backends.console.EmailBackend"


def test_an_email_host_selects_smtp_with_its_settings():
    mailer = effective_mailer(
        **MAKE_RUN_ENV,
        EMAIL_HOST="smtp.example.com",
        EMAIL_PORT="2525",
        EMAIL_HOST_USER="stockroom",
        EMAIL_HOST_PASSWORD="s3cret",
        EMAIL_USE_TLS="1",
    )

    assert mailer["BACKEND"] == SMTP
    options = mailer["OPTIONS"]
    assert (options["host"], options["port"]) == ("smtp.example.com", 2525)
    assert (options["username"], options["password"]) == ("stockroom", "s3cret")
    assert (options["use_tls"], options["use_ssl"], options["timeout"]) == (True, False, 30)


def test_an_explicit_email_backend_wins():
    console = "django.core.mail.backends.console.EmailBackend"
    mailer = effective_mailer(**MAKE_RUN_ENV, EMAIL_HOST="smtp.example.com", EMAIL_BACKEND=console)
    assert mailer == {"BACKEND": console, "OPTIONS": {}}

    mailer = effective_mailer(**MAKE_RUN_ENV, EMAIL_FILE_PATH="/tmp/stockroom-mail")
    assert mailer["OPTIONS"] == {"file_path": "/tmp/stockroom-mail"}


def test_the_deploy_check_says_when_mail_only_goes_to_files():
    """Production needs EMAIL_HOST: without it check --deploy names the file backend."""
    result = run_python(
        ["manage.py", "check", "--deploy"], DEBUG="0", SECRET_KEY=get_random_secret_key()
    )

    assert result.returncode != 0
    assert "mail.E001" in result.stdout + result.stderr
