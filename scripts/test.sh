#!/usr/bin/env bash
# `make test`: every check, in stages; a summary with test counts and times at the end.
#   1. venv with dev requirements       4. pytest on a throwaway PostgreSQL cluster
#   2. ruff, ruff format, migrations    5. browser tests (Playwright + Chromium)
#   3. pytest on SQLite                 6. benchmark smoke runs (bench/, small size)
# A stage that cannot run (no PostgreSQL binaries, no Chromium) prints one line and is
# skipped; with CI=true a skipped stage, or a skipped postgres/browser test, is an error.
# All stages run even after a failure, so one run shows everything that is wrong.
# STAGES="lint browser" limits the run to the named stages.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

case "${CI:-}" in true | 1 | yes) IN_CI=1 ;; *) IN_CI=0 ;; esac
START=$SECONDS
FAILED=0
SUMMARY=()
LOG_DIR=$(mktemp -d /tmp/stockroom-test.XXXXXX)
trap 'rm -rf "$LOG_DIR"' EXIT

PY="$ROOT/.venv/bin/python"
export DJANGO_SETTINGS_MODULE=config.test_settings
export PYTHONPATH="$ROOT/scripts${PYTHONPATH:+:$PYTHONPATH}"
# Tests pick their database themselves (SQLite unless a stage sets DATABASE_URL).
unset DATABASE_URL

record() { # stage, status, detail, seconds
  SUMMARY+=("$(printf '  %-12s %-8s %5ss  %s' "$1" "$2" "$4" "$3")")
  if [ "$2" = FAILED ]; then FAILED=1; fi
}

skip_stage() { # stage, reason
  if [ "$IN_CI" = 1 ]; then
    echo "ERROR: $1 stage skipped: $2 (not allowed with CI=true)"
    record "$1" FAILED "skipped: $2" 0
  else
    echo "SKIPPED $1 stage: $2"
    record "$1" skipped "$2" 0
  fi
}

# The counts from pytest's last line, e.g. "412 passed, 3 skipped, 2 deselected".
pytest_counts() {
  grep -E '^=*[ ]*[0-9]+ (passed|failed|skipped|error|errors|deselected|xfailed|xpassed|warnings?|no tests ran)|no tests ran' "$1" \
    | tail -n 1 | sed -E 's/=+//g; s/ in [0-9.]+s.*$//; s/^ +//; s/ +$//'
}

run_pytest_stage() { # stage, command...
  local stage=$1 log="$LOG_DIR/$1.log" t0=$SECONDS status counts
  shift
  echo
  echo "==> $stage: $*"
  "$@" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  counts=$(pytest_counts "$log")
  if [ "$status" = 0 ]; then
    record "$stage" ok "${counts:-no summary}" $((SECONDS - t0))
  else
    record "$stage" FAILED "${counts:-no summary} (exit $status)" $((SECONDS - t0))
  fi
}

PYTEST=("$PY" -m pytest -p skip_guard -q -rs)

# --- 1. virtualenv -----------------------------------------------------------
t0=$SECONDS
if ! scripts/bootstrap.sh --dev; then
  echo "Could not prepare .venv; nothing else can run."
  exit 1
fi
record venv ok "requirements-dev.txt installed" $((SECONDS - t0))

# --- 2. static checks --------------------------------------------------------
stage_lint() {
  local t0=$SECONDS failed=()
  echo
  echo "==> lint: ruff check, ruff format --check, lint-imports, makemigrations --check"
  "$ROOT/.venv/bin/ruff" check . || failed+=("ruff check")
  "$ROOT/.venv/bin/ruff" format --check . || failed+=("ruff format")
  "$ROOT/.venv/bin/lint-imports" --no-cache || failed+=("lint-imports")
  "$PY" manage.py makemigrations --check --dry-run || failed+=("makemigrations")
  if [ ${#failed[@]} = 0 ]; then
    record lint ok "ruff, format, import layers, migrations clean" $((SECONDS - t0))
  else
    record lint FAILED "$(IFS=,; echo "${failed[*]}")" $((SECONDS - t0))
  fi
}

# --- 3. whole suite on SQLite ------------------------------------------------
stage_sqlite() {
  run_pytest_stage sqlite "${PYTEST[@]}"
}

# --- 4. whole suite on a throwaway PostgreSQL cluster ------------------------
stage_postgres() {
  if ! scripts/with_postgres.sh --check >/dev/null 2>&1; then
    skip_stage postgres "PostgreSQL server binaries (initdb, pg_ctl) not found"
    return
  fi
  local guard=()
  if [ "$IN_CI" = 1 ]; then guard=(STOCKROOM_FORBID_SKIPS=postgres); fi
  run_pytest_stage postgres scripts/with_postgres.sh \
    env STOCKROOM_EXPECT_DB=postgresql "${guard[@]}" "${PYTEST[@]}"
}

# --- 5. real-browser tests ---------------------------------------------------
stage_browser() {
  local chromium=${STOCKROOM_CHROMIUM:-}
  if [ -z "$chromium" ]; then
    if [ -x /usr/bin/chromium ]; then
      chromium=/usr/bin/chromium
    else
      chromium=$(command -v chromium || true)
    fi
  fi
  if [ -z "$chromium" ] || [ ! -x "$chromium" ]; then
    skip_stage browser "Chromium not found (/usr/bin/chromium or chromium on PATH)"
    return
  fi
  local guard=()
  if [ "$IN_CI" = 1 ]; then guard=(STOCKROOM_FORBID_SKIPS=browser); fi
  run_pytest_stage browser \
    env STOCKROOM_CHROMIUM="$chromium" "${guard[@]}" "${PYTEST[@]}" -m browser tests/browser
}

# --- 6. benchmark smoke runs -------------------------------------------------
# The harness must keep working: generate the small catalog and measure it (no
# timing assertions; bench.run fails on ledger differences or request errors), on
# SQLite and, where the binaries are, on a throwaway PostgreSQL cluster.
bench_smoke() { # writes into $BENCH_DB_URL (set by the caller or with_postgres.sh)
  local url=${DATABASE_URL:-$BENCH_DB_URL}
  env DJANGO_SETTINGS_MODULE=bench.settings "$PY" -m bench.generate --size small \
    --database-url "$url" &&
    env DJANGO_SETTINGS_MODULE=bench.settings "$PY" -m bench.run --size small \
      --database-url "$url" --repeats 3 --ledger-ops 20 --http-seconds 3 --api-seconds 2 --api-clients 2,4 \
      --out "$LOG_DIR/BENCHMARKS.md"
}
export -f bench_smoke
stage_bench() {
  local t0=$SECONDS failed=() dbs=()
  echo
  echo "==> bench: python -m bench.generate --size small && python -m bench.run --size small"
  export PY LOG_DIR
  if BENCH_DB_URL="sqlite:///$LOG_DIR/bench-small.sqlite3" bench_smoke; then
    dbs+=(SQLite)
  else
    failed+=(SQLite)
  fi
  if scripts/with_postgres.sh --check >/dev/null 2>&1; then
    if scripts/with_postgres.sh bash -c bench_smoke; then dbs+=(PostgreSQL); else failed+=(PostgreSQL); fi
  elif [ "$IN_CI" = 1 ]; then
    failed+=("PostgreSQL (binaries not found)")
  fi
  if [ ${#failed[@]} = 0 ]; then
    record bench ok "generate + run small on $(IFS=/; echo "${dbs[*]}")" $((SECONDS - t0))
  else
    record bench FAILED "failed on $(IFS=,; echo "${failed[*]}")" $((SECONDS - t0))
  fi
}

# STAGES="lint sqlite" runs only those stages (for a quick local check).
for stage in ${STAGES:-lint sqlite postgres browser bench}; do
  case "$stage" in
    lint | sqlite | postgres | browser | bench) "stage_$stage" ;;
    *)
      echo "Unknown stage '$stage' in STAGES (lint sqlite postgres browser bench)"
      record "$stage" FAILED "unknown stage" 0
      ;;
  esac
done

echo
echo "==> summary"
printf '%s\n' "${SUMMARY[@]}"
elapsed=$((SECONDS - START))
printf '  total time: %dm%02ds\n' $((elapsed / 60)) $((elapsed % 60))
if [ "$FAILED" = 1 ]; then
  echo "make test: FAILED"
  exit 1
fi
echo "make test: all stages passed"
