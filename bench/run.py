"""Measure pages, the ledger and check_ledger on a generated catalog.

    python -m bench.run --size small|medium|large [--database-url URL] [--out BENCHMARKS.md]
                        [--http-seconds 20] [--users 8] [--skip-http]

Run ``python -m bench.generate`` with the same size and database first. Prints a
markdown report, writes it into --out (replacing the section for this size and
database) and writes the raw numbers as JSON next to it.
"""

import argparse
import sys
from pathlib import Path

from bench.common import default_database_url, setup_django
from bench.report import render, small_baseline, write_report
from bench.scenario import SIZES


def parse_args(argv=None) -> argparse.Namespace:
    """Read the command line: size, database, report file and how long to measure."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--database-url")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--ledger-ops", type=int, default=200)
    parser.add_argument("--http-seconds", type=float, default=20)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument(
        "--api-seconds", type=float, default=15, help="order intake duration per client count"
    )
    parser.add_argument(
        "--api-clients", default="8,32", help="concurrent API clients, comma-separated"
    )
    parser.add_argument("--skip-api", action="store_true")
    return parser.parse_args(argv)


def run_failed(result: dict) -> bool:
    """Tell whether the run found wrong results: ledger differences, errors, overselling,
    a scan station refusing a scan it should take."""
    failed = result["check_ledger"]["differences"] or result["ledger_threads"]["errors"]
    if result.get("planning") and result["planning"]["exit"] != 0:
        failed = True
    if result.get("stations") and result["stations"]["refused"]:
        failed = True
    if result.get("http") and result["http"]["errors"]:
        failed = True
    api = result.get("api")
    if api and (
        not api["oversell"]["ok"]
        or any(run["server_errors"] or run["errors"] for run in api["intake"])
        or any(
            row["healthz"]["errors"] or row["one_sku"]["errors"] for row in api.get("ceiling", [])
        )
        or api["webhooks"]["lost"]
    ):
        failed = True
    return bool(failed)


def main(argv=None) -> int:
    """Measure, print and file the report; exit non-zero only on wrong results."""
    args = parse_args(argv)
    database_url = args.database_url or default_database_url(args.size)
    setup_django(database_url)
    # Not at the top: bench.measure imports models, which exist only after django.setup().
    from bench.measure import has_catalog, measure_all

    if not has_catalog():
        print("No products: run python -m bench.generate first.", file=sys.stderr)
        return 2
    result = measure_all(args, database_url)
    text = render(result, small_baseline(args.out, result))
    print(text)
    if args.out:
        write_report(args.out, result, text)
    return 1 if run_failed(result) else 0


if __name__ == "__main__":
    sys.exit(main())
