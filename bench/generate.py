"""Generate a large catalog with a year of history.

    python -m bench.generate --size small|medium|large [--database-url URL] [--seed N]
                             [--end-date YYYY-MM-DD] [--via-ledger] [--no-check]

Without --database-url the data goes to var/bench-<size>.sqlite3, which is replaced.
Any other database must be empty of products (migrations are applied first).
"""

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from django.core.management import call_command

from bench.common import analyze, database_description, default_database_url, setup_django
from bench.scenario import SIZES, Scenario


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--database-url")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--end-date", type=date.fromisoformat, default=None)
    parser.add_argument(
        "--via-ledger", action="store_true", help="post every event through the ledger (slow)"
    )
    parser.add_argument("--no-check", action="store_true", help="skip check_ledger afterwards")
    return parser.parse_args(argv)


def generate(size: str, *, seed: int = 1, end: date | None = None, via_ledger=False) -> dict:
    """Load a scenario into the configured, migrated, empty database; return timings."""
    # Not at the top: bench.load imports models, which exist only after django.setup().
    from bench.load import load_bulk, load_via_ledger

    scenario = Scenario(SIZES[size], seed=seed, end=end)
    started = time.perf_counter()
    events = (load_via_ledger if via_ledger else load_bulk)(scenario)
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    analyze()
    return {
        "events": events,
        "load_seconds": load_seconds,
        "analyze_seconds": time.perf_counter() - started,
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    url = args.database_url or default_database_url(args.size)
    if url.startswith("sqlite:///") and not args.database_url:
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    setup_django(url)
    # Not at the top: models exist only after django.setup().
    from inventory.integrity import find_differences
    from inventory.models import Product

    call_command("migrate", verbosity=0)
    if Product.objects.exists():
        print("The database already holds products; use an empty database.", file=sys.stderr)
        return 2
    print(f"Generating '{args.size}' into {database_description()} …", flush=True)
    result = generate(args.size, seed=args.seed, end=args.end_date, via_ledger=args.via_ledger)
    print(
        f"Loaded {result['events']:,} events in {result['load_seconds']:.1f} s "
        f"(ANALYZE {result['analyze_seconds']:.1f} s)",
        flush=True,
    )
    if not args.no_check:
        started = time.perf_counter()
        problems = list(find_differences())
        elapsed = time.perf_counter() - started
        for line in problems[:20]:
            print(line)
        if problems:
            print(f"check_ledger: {len(problems)} difference(s)", file=sys.stderr)
            return 1
        print(f"check_ledger: clean in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
