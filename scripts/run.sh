#!/usr/bin/env bash
# Serve Stockroom the way production does, on http://127.0.0.1:8000:
# venv, migrations, demo data on an empty database, static files, gunicorn and a
# task worker (manage.py db_worker).
# The Makefile passes the settings (DEBUG=0, plain-HTTP switches for localhost).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PY="$ROOT/.venv/bin/python"

scripts/bootstrap.sh

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
export DEBUG="${DEBUG:-0}"
export DJANGO_SETTINGS_MODULE=config.settings

echo "Applying database migrations ..."
"$PY" manage.py migrate --no-input --verbosity 0

# Demo data only on an empty catalogue, and only once seed_demo exists.
needs_seed=$("$PY" - <<'PY'
import django

django.setup()
from django.core.management import get_commands

from inventory.models import Product

if Product.objects.exists():
    print("no")
else:
    print("yes" if "seed_demo" in get_commands() else "missing")
PY
)
if [ "$needs_seed" = yes ]; then
  echo "Loading demo data (manage.py seed_demo) ..."
  "$PY" manage.py seed_demo
elif [ "$needs_seed" = missing ]; then
  echo "No demo data: manage.py seed_demo is not available in this checkout."
  echo "Create a login with: .venv/bin/python manage.py createsuperuser"
fi

"$PY" manage.py collectstatic --no-input --verbosity 0

URL="http://127.0.0.1:8000"
echo
echo "  Stockroom is starting on $URL  (Ctrl+C stops it)"
if [ "$needs_seed" != missing ]; then
  cat <<TEXT

  Demo logins (user / password):
    admin   / admin-demo     superuser, Django admin at $URL/admin/
    manager / manager-demo   manager: everything in the back office
    buyer   / buyer-demo     buyer: suppliers, purchase orders, replenishment
    clerk   / clerk-demo     clerk: scan stations, stock lookup
TEXT
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
