"""Soak: the whole shop at once for N minutes, served as `make run` serves it.

    python -m bench.soak --size small|medium|large --minutes 10 [--database-url URL]
                         [--json soak.json]

gunicorn (2 workers, DEBUG off) and one ``manage.py db_worker``; 32 API clients POST
orders (1–3 lines, Zipf-ish SKUs, some nearly sold out); 4 clerks log in and post
receipts (purchase order receive page) and one-unit transfers (stock transfer form);
4 managers log in and read the dashboard and the lists; the bench channels' webhooks
go to a local receiver that checks every signature and answers 500 to ``--fail-rate``
of the deliveries. After the load: the outbox drains and the receiver's last value per
channel × SKU must equal the available count; nothing oversold (balances' constraints,
the reservation journal, check_ledger); no 5xx; the RSS of every worker (VmRSS, sampled
every ``--sample-seconds``) flat from the first sample to the last.

Run ``python -m bench.generate`` with the same size and database first. Prints a
markdown section for BENCHMARKS.md; exits 1 when any check fails.
"""

import argparse
import json
import sys
from pathlib import Path

from bench.common import database_description, default_database_url, setup_django
from bench.scenario import SIZES
from bench.timing import percentile

# A worker's RSS may grow this much from its first sample to its last and still be flat:
# the larger of an absolute allowance (caches filling) and a share of where it started.
MEMORY_GROWTH_MB = 24
MEMORY_GROWTH_SHARE = 0.15


def parse_args(argv=None) -> argparse.Namespace:
    """Read the command line: size, database, how long, how many of each actor."""
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--database-url")
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--api-clients", type=int, default=32)
    parser.add_argument("--clerks", type=int, default=4)
    parser.add_argument("--managers", type=int, default=4)
    parser.add_argument("--fail-rate", type=float, default=0.1, help="webhook POSTs answered 500")
    parser.add_argument("--sample-seconds", type=float, default=60, help="RSS sampling period")
    parser.add_argument("--drain-seconds", type=float, default=600, help="outbox drain limit")
    parser.add_argument(
        "--drain-retry-now",
        action="store_true",
        help="retry failed deliveries at once while draining (short smoke runs)",
    )
    parser.add_argument("--json", type=Path, help="write the raw result here")
    return parser.parse_args(argv)


def kinds(raw: dict) -> dict[str, dict]:
    """Requests, p50/p95/max and statuses per kind of request (API orders first)."""
    intake = raw["intake"]
    rows = {"api order": (intake.latencies, intake.statuses, 0)}
    tally = raw["tally"]
    for kind in sorted(tally.latencies):
        rows[kind] = (tally.latencies[kind], tally.statuses[kind], tally.refused.get(kind, 0))
    table = {}
    for kind, (latencies, statuses, refused) in rows.items():
        table[kind] = {
            "requests": len(latencies),
            "p50_ms": round(percentile(latencies, 50), 1),
            "p95_ms": round(percentile(latencies, 95), 1),
            "max_ms": round(max(latencies), 1) if latencies else None,
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "server_errors": sum(v for k, v in statuses.items() if k >= 500),
            "refused": refused,
        }
    return table


def memory(samples: list[dict[str, int]]) -> dict:
    """First and last RSS per process (MB), growth, and whether every one stayed flat."""
    if not samples:
        return {"samples": 0, "processes": {}, "ok": False, "note": "no samples"}
    first, last = samples[0], samples[-1]
    processes, ok = {}, True
    for name, start_kb in first.items():
        end_kb = last.get(name, 0)
        growth = (end_kb - start_kb) / 1024
        allowed = max(MEMORY_GROWTH_MB, MEMORY_GROWTH_SHARE * start_kb / 1024)
        flat = end_kb > 0 and growth <= allowed
        ok = ok and flat
        processes[name] = {
            "first_mb": round(start_kb / 1024, 1),
            "last_mb": round(end_kb / 1024, 1),
            "growth_mb": round(growth, 1),
            "flat": flat,
        }
    gone = set(last) - set(first)
    return {"samples": len(samples), "processes": processes, "new": sorted(gone), "ok": ok}


def summarize(raw: dict, args, database: str) -> dict:
    """Turn the raw run into the report: per kind, failures, webhooks, memory, oversell."""
    table = kinds(raw)
    intake = raw["intake"]
    result = {
        "size": args.size,
        "database": database,
        "minutes": args.minutes,
        "seconds": round(raw["elapsed"], 1),
        "actors": {"api": args.api_clients, "clerks": args.clerks, "managers": args.managers},
        "kinds": table,
        "server_errors": sum(row["server_errors"] for row in table.values()),
        "errors": raw["tally"].errors[:10] + intake.errors[:10],
        "refusal_reasons": raw["tally"].reasons,
        "units": dict(intake.units),
        "orders_per_s": round(intake.statuses.get(201, 0) / raw["elapsed"], 1),
        "oversell": raw["oversell"],
        "check_ledger": raw["check_ledger"],
        "webhooks": raw["webhooks"],
        "memory": memory(raw["memory"]),
    }
    result["failures"] = failures(result)
    return result


def failures(result: dict) -> list[str]:
    """Every check the run failed, in words (empty when it passed)."""
    found = []
    if result["server_errors"]:
        found.append(f"{result['server_errors']} answers were 5xx")
    if result["errors"]:
        found.append(f"requests failed: {result['errors'][:3]}")
    if not result["oversell"]["ok"]:
        found.append(f"oversold: {result['oversell']}")
    if result["check_ledger"]["differences"]:
        found.append(f"check_ledger: {result['check_ledger']['differences']} differences")
    hooks = result["webhooks"]
    if not hooks["ok"]:
        found.append(
            f"webhooks: {len(hooks['missing'])} missing, {len(hooks['stale'])} stale, "
            f"{hooks['left_undelivered']} undelivered ({(hooks['missing'] + hooks['stale'])[:3]})"
        )
    if hooks["bad_signature"]:
        found.append(f"webhooks: {hooks['bad_signature']} bad signatures")
    if not result["memory"]["ok"]:
        found.append(f"memory not flat: {result['memory']}")
    if not result["kinds"]["api order"]["requests"]:
        found.append("no API orders were answered")
    return found


def render(result: dict) -> str:
    """The markdown section for BENCHMARKS.md."""
    actors = result["actors"]
    lines = [
        f"### Soak — {result['size']}, {result['database']}, {result['seconds']:g} s",
        "",
        f"{actors['api']} API clients, {actors['clerks']} clerks, {actors['managers']} managers "
        "against gunicorn (2 workers, DEBUG off) and one db_worker; the webhook receiver "
        "failed a share of deliveries on purpose.",
        "",
        "| kind | requests | p50 ms | p95 ms | max ms | 5xx | refused |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, row in result["kinds"].items():
        lines.append(
            f"| {kind} | {row['requests']:,} | {row['p50_ms']} | {row['p95_ms']} | "
            f"{row['max_ms']} | {row['server_errors']} | {row['refused']} |"
        )
    units = result["units"]
    hooks = result["webhooks"]
    oversell = result["oversell"]
    lines += [
        "",
        "| check | result |",
        "|---|---|",
        f"| 5xx answers | {result['server_errors']} |",
        f"| API orders per second | {result['orders_per_s']} |",
        f"| units ordered / allocated / backordered | {units['ordered']:,} / "
        f"{units['allocated']:,} / {units['backordered']:,} |",
        f"| oversell (committed > on hand; journal ≠ allocations) | "
        f"{oversell['levels_committed_over_on_hand']}; "
        f"{oversell['sales_reservations_in_journal'] - oversell['sales_allocations']} |",
        f"| check_ledger | {result['check_ledger']['differences']} differences "
        f"({result['check_ledger']['seconds']} s) |",
        f"| webhook POSTs (accepted / failed on purpose / bad signature) | {hooks['posts']:,} "
        f"({hooks['accepted']:,} / {hooks['failed']:,} / {hooks['bad_signature']}) |",
        f"| webhook values checked after the drain ({hooks['drain_seconds']} s) | "
        f"{hooks['checked']:,}: {len(hooks['missing'])} missing, {len(hooks['stale'])} stale |",
    ]
    samples = result["memory"]["samples"]
    for name, row in result["memory"]["processes"].items():
        lines.append(
            f"| RSS of {name}, first → last of {samples} samples | {row['first_mb']} → "
            f"{row['last_mb']} MB ({row['growth_mb']:+} MB) |"
        )
    verdict = "passed" if not result["failures"] else "FAILED: " + "; ".join(result["failures"])
    lines += ["", f"Soak {verdict}.", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    """Soak, print the report, write the raw JSON; exit 1 when a check failed."""
    args = parse_args(argv)
    database_url = args.database_url or default_database_url(args.size)
    setup_django(database_url)
    # Not at the top: these import models, which exist only after django.setup().
    from bench.measure import has_catalog
    from bench.soak_run import soak

    if not has_catalog():
        print("No products: run python -m bench.generate first.", file=sys.stderr)
        return 2
    result = summarize(soak(args, database_url), args, database_description())
    print(render(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
