#!/usr/bin/env bash
# Create or refresh the project's virtualenv (.venv) and install pinned requirements.
#   scripts/bootstrap.sh            runtime requirements (requirements.txt)
#   scripts/bootstrap.sh --dev      development requirements (requirements-dev.txt)
# Finds a Python >= 3.12, recreates .venv when it was built with an older one, and
# skips pip when the requirements have not changed since the last install (a hash of
# the requirements files is kept in .venv/.stamp-*).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
cd "$ROOT"

req_files=(requirements.txt)
stamp_name=runtime
if [ "${1:-}" = "--dev" ]; then
  req_files=(requirements.txt requirements-dev.txt)
  stamp_name=dev
fi

is_recent_python() {
  "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

find_python() {
  # python3 first: with pyenv, .python-version (3.13.0) makes it resolve to 3.13.
  local candidate
  for candidate in "${PYTHON:-}" python3 python3.13 python3.12; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null 2>&1 || continue
    if is_recent_python "$candidate"; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if [ -x "$VENV/bin/python" ] && ! is_recent_python "$VENV/bin/python"; then
  echo "Removing .venv: it was built with Python older than 3.12."
  rm -rf "$VENV"
fi

if [ ! -x "$VENV/bin/python" ]; then
  if ! PYTHON_BIN=$(find_python); then
    echo "Stockroom needs Python 3.12 or newer (Django 6.1), and none was found." >&2
    echo "Tried: python3, python3.13, python3.12 on PATH (python3 is $(python3 --version 2>&1 || echo missing))." >&2
    echo "Install Python 3.12+ (e.g. 'pyenv install 3.13.0' or 'apt-get install python3.13 python3.13-venv')," >&2
    echo "or point PYTHON=/path/to/python3.12 at one, then run this again." >&2
    exit 1
  fi
  echo "Creating .venv with $("$PYTHON_BIN" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
  if ! "$PYTHON_BIN" -m venv "$VENV"; then
    rm -rf "$VENV"
    echo "Could not create .venv with $PYTHON_BIN: is its venv module installed (Debian: python3.X-venv)?" >&2
    exit 1
  fi
fi

hash_of() { cat "$@" | "$VENV/bin/python" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'; }

wanted=$(hash_of "${req_files[@]}")
stamp="$VENV/.stamp-$stamp_name"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
  exit 0
fi

echo "Installing ${req_files[*]##*/} into .venv ..."
# This machine's pip configuration may name local indexes that do not exist; pip
# warns once per package about them, which drowns everything else.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "${req_files[-1]}" 2>&1 \
  | { grep -v "^WARNING: Location '.*' is ignored: it is neither a file nor a directory\.$" || true; }
echo "$wanted" >"$stamp"
# Dev requirements include the runtime ones: a dev install satisfies `make run` too.
if [ "$stamp_name" = dev ]; then
  hash_of requirements.txt >"$VENV/.stamp-runtime"
fi
