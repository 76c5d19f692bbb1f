#!/usr/bin/env bash
# Serve Stockroom the way production does, on http://127.0.0.1:$PORT (8000 by default):
# venv, migrations, demo data on an empty database, static files, gunicorn and a
# task worker (manage.py db_worker). `make run` runs this; so does the browser tests'
# demo_server fixture (tests/browser/demo_server.py), with its own database and port.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PY="$ROOT/.venv/bin/python"

# DEBUG off as in production, but plain HTTP on localhost: no HTTPS redirect, no
# secure-only cookies, no HSTS. Do not serve a real domain like this. Each can be
# overridden from the environment.
export DEBUG="${DEBUG:-0}"
export SECURE_SSL_REDIRECT="${SECURE_SSL_REDIRECT:-0}"
export SESSION_COOKIE_SECURE="${SESSION_COOKIE_SECURE:-0}"
export CSRF_COOKIE_SECURE="${CSRF_COOKIE_SECURE:-0}"
export SECURE_HSTS_SECONDS="${SECURE_HSTS_SECONDS:-0}"
export PORT="${PORT:-8000}"
export DJANGO_SETTINGS_MODULE=config.settings

# The browser tests run inside the ready venv and must not reinstall it.
if [ "${STOCKROOM_SKIP_BOOTSTRAP:-0}" != 1 ]; then
  scripts/bootstrap.sh
fi

# The address comes from config/gunicorn.conf.py, as gunicorn will read it; check it is
# free now rather than after a minute of setting up. A Stockroom that has just stopped
# (or crashed) may hold it a few seconds more: wait up to STOCKROOM_PORT_WAIT seconds
# (30 by default), saying so, before giving up.
BIND=$("$PY" - <<'PY'
import os
import runpy
import socket
import sys
import time

bind = runpy.run_path("config/gunicorn.conf.py")["bind"]
host, _, port = bind.rpartition(":")
wait = float(os.environ.get("STOCKROOM_PORT_WAIT") or 30)


def try_bind() -> OSError | None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, int(port)))
        except OSError as exc:
            return exc
    return None


error = try_bind()
if error is not None and wait > 0:
    print(
        f"Port {port} on {host} is busy; waiting up to {wait:g} s for it to be free "
        "(a Stockroom that just stopped may still hold it) ...",
        file=sys.stderr,
        flush=True,
    )
    deadline = time.monotonic() + wait
    while error is not None and time.monotonic() < deadline:
        time.sleep(0.5)
        error = try_bind()
if error is not None:
    sys.exit(
        f"Port {port} on {host} is in use ({error.strerror}): is Stockroom running "
        f"already? Use another port with: make run PORT={int(port) + 1}"
    )
print(bind)
PY
)
URL="http://$BIND"

# A generated key, kept out of the repository and readable only by its owner.
mkdir -p var
if [ -z "${SECRET_KEY:-}" ]; then
  if [ ! -s var/secret_key ]; then
    (umask 077 && "$PY" -c 'import secrets; print(secrets.token_urlsafe(50))' >var/secret_key)
  fi
  chmod 600 var/secret_key
  SECRET_KEY=$(cat var/secret_key)
  export SECRET_KEY
fi

echo "Applying database migrations ..."
"$PY" manage.py migrate --no-input --verbosity 0

# Demo data only on an empty catalogue.
needs_seed=$("$PY" - <<'PY'
import django

django.setup()
from inventory.models import Product

print("no" if Product.objects.exists() else "yes")
PY
)
if [ "$needs_seed" = yes ]; then
  echo "Loading demo data (manage.py seed_demo, about 10-20 s) ..."
  "$PY" manage.py seed_demo --no-logins
  # Planning sits above orders, so seed_demo cannot call it: the demo's demand history,
  # a few policies and the first replenishment plan come from the planning app here.
  "$PY" manage.py seed_plan_demo
fi

echo "Collecting static files ..."
"$PY" manage.py collectstatic --no-input --verbosity 0

# No cron here: the worker runs the daily housekeeping (`manage.py sweep`'s work, and
# webhooks for lots that expire at midnight) a few seconds after each local midnight and
# queues the next run itself. This queues one if none is (at once if a midnight was
# missed); with one queued already it does nothing.
"$PY" manage.py schedule_daily

# The demo logins that exist in this database (none when it holds real data).
logins=$("$PY" - <<'PY'
import django

django.setup()
from inventory.demo import login_lines

print("\n".join(login_lines()))
PY
)
echo
echo "  Stockroom is serving $URL  (Ctrl+C stops it)"
echo "  Another port: make run PORT=$((${BIND##*:} + 1))  (or PORT=... in the environment)"
echo
if [ -n "$logins" ]; then
  echo "  Demo logins (user / password):"
  sed 's/^/    /' <<<"$logins"
else
  echo "  Log in with your own account (create one: .venv/bin/python manage.py createsuperuser)."
fi
echo
# Background tasks (webhook deliveries, re-allocating backorders after receipts)
# run in a django-tasks-db worker beside the web server; both stop together.
"$PY" manage.py db_worker --interval 2 --no-reload --verbosity 0 &
WORKER=$!
"$ROOT/.venv/bin/gunicorn" --config config/gunicorn.conf.py &
SERVER=$!
trap 'kill "$SERVER" "$WORKER" 2>/dev/null || true; wait' INT TERM EXIT
wait "$SERVER"
