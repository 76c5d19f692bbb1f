"""Render a run as markdown and keep it, with its raw numbers, in the report files."""

import json
from pathlib import Path

# Targets from the benchmark issue; a miss is reported, not fatal.
CEILING_PCT = 50  # throughput issue: one-SKU GET ≥ 50 % of /healthz, intake ≥ 50 % of it
FEED_SECONDS = 1.0  # throughput issue: every SKU's inventory, pages of 1,000
PAGE_P95_MS = 150
LEDGER_P95_MS = 10
CHECK_LEDGER_S = 30
WORKER_RSS_MB = 150
SCAN_P95_MS = 25  # scan stations issue: each station's scan step at large
PLAN_SECONDS = 60  # replenishment issue: manage.py plan at large, 2 cores
PLAN_RSS_MB = 1024


def mark(ok: bool) -> str:
    """Return the report's sign for a met or missed target."""
    return "✅" if ok else "❌ miss"


def run_key(size: str, database: str) -> str:
    """Key a run in the JSON file by its size and database engine, without the version."""
    return f"{size}/{database.split()[0]}"


def render(result: dict, baseline: dict | None = None) -> str:
    """Render the result as markdown; ``baseline`` is the small run on the same database."""
    lines = [
        f"## `{result['size']}` on {result['database']}",
        "",
        f"{result['date']} · {result['machine']} · Python {result['python']} · {result['counts']}",
    ]
    lines += render_pages(result["pages"], (baseline or {}).get("pages", {}))
    if result.get("reports"):
        lines += render_reports(result["reports"])
    if result.get("stations"):
        lines += render_stations(result["stations"], (baseline or {}).get("stations", {}))
    if result.get("planning"):
        lines += render_planning(result["planning"])
    if result.get("http"):
        lines += render_http(result["http"])
    lines += render_ledger(result["ledger"], (baseline or {}).get("ledger", {}))
    if result.get("api"):
        lines += render_api(result["api"])
    lines += render_threads_and_check(result["ledger_threads"], result["check_ledger"])
    return "\n".join(lines)


def render_pages(pages: dict, base_pages: dict) -> list[str]:
    """Render the test-client pages against their target and the small run's queries."""
    lines = [
        "",
        "### Pages (Django test client, after warm-up)",
        "",
        f"| page | p50 ms | p95 ms | max ms | queries | queries at small | "
        f"target p95 ≤ {PAGE_P95_MS} ms, same queries |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, row in pages.items():
        small = base_pages.get(name, {}).get("queries", "–")
        same = small in ("–", row["queries"])
        lines.append(
            f"| {name} | {row['p50_ms']} | {row['p95_ms']} | {row['max_ms']} | "
            f"{row['queries']} | {small} | {mark(row['p95_ms'] <= PAGE_P95_MS and same)} |"
        )
    return lines


def render_reports(reports: dict) -> list[str]:
    """Render the ledger-replaying reports, which have no target yet."""
    lines = [
        "",
        "### Reports (purchasing/valuation issue; no target set, 3 runs each)",
        "",
        "| report | p50 ms | max ms | queries |",
        "|---|---:|---:|---:|",
    ]
    for name, row in reports.items():
        lines.append(f"| {name} | {row['p50_ms']} | {row['max_ms']} | {row['queries']} |")
    return lines


def render_stations(stations: dict, base: dict) -> list[str]:
    """Render each station's timed scan step against its target and the small run's queries."""
    base_steps = base.get("steps", {})
    lines = [
        "",
        "### Scan stations (one htmx scan, test client, after warm-up, rolled back)",
        "",
        f"| station: step | p50 ms | p95 ms | max ms | queries | queries at small | "
        f"target p95 ≤ {SCAN_P95_MS} ms, no more queries |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, row in stations["steps"].items():
        small = base_steps.get(name, {}).get("queries", "–")
        fewer = small == "–" or row["queries"] <= small
        lines.append(
            f"| {name} | {row['p50_ms']} | {row['p95_ms']} | {row['max_ms']} | "
            f"{row['queries']} | {small} | {mark(row['p95_ms'] <= SCAN_P95_MS and fewer)} |"
        )
    for refused in stations["refused"]:
        lines.append(f"\nRefused (a wrong result): {refused}")
    return lines


def render_planning(plan: dict) -> list[str]:
    """Render the nightly plan's run: wall time and peak memory against their targets."""
    ok = plan["exit"] == 0 and plan["status"] == "done"
    within = plan["seconds"] <= PLAN_SECONDS and plan["peak_rss_mb"] <= PLAN_RSS_MB
    lines = [
        "",
        "### Planning (`manage.py plan` in its own process)",
        "",
        f"| wall s | peak RSS MB | lines | to order | demand rows | "
        f"target ≤ {PLAN_SECONDS} s and ≤ {PLAN_RSS_MB} MB |",
        "|---:|---:|---:|---:|---:|---|",
        f"| {plan['seconds']} | {plan['peak_rss_mb']} | {plan['lines']:,} | "
        f"{plan['to_order']:,} | {plan['demand_rows']:,} | {mark(ok and within)} |",
        "",
        "Stages: " + " · ".join(line.strip() for line in plan["output"] if "[" in line),
    ]
    if not ok:
        lines.append(f"\nThe plan failed (a wrong result): {plan['message']}")
    return lines


def render_http(http: dict) -> list[str]:
    """Render the gunicorn run: throughput, errors, worker memory and page latencies."""
    rss = ", ".join(str(v) for v in http["worker_peak_rss_mb"])
    worst_rss = max(http["worker_peak_rss_mb"] or [0])
    lines = [
        "",
        f"### HTTP: gunicorn, 2 workers, {http['users']} concurrent users, {http['seconds']} s",
        "",
        f"{http['requests']} requests, **{http['requests_per_s']} requests/s**, "
        f"p95 {http['p95_ms']} ms, {http['errors']} errors; worker peak RSS {rss} MB "
        f"(target ≤ {WORKER_RSS_MB} MB: {mark(worst_rss <= WORKER_RSS_MB)})",
        "",
        "| page | p50 ms | p95 ms | max ms |",
        "|---|---:|---:|---:|",
    ]
    for name, row in http["per_page"].items():
        lines.append(f"| {name} | {row['p50_ms']} | {row['p95_ms']} | {row['max_ms']} |")
    return lines


def render_ledger(ledger: dict, base_ledger: dict) -> list[str]:
    """Render the ledger operations against their target and the small run's p95."""
    lines = [
        "",
        "### Ledger",
        "",
        f"| operation | n | p50 ms | p95 ms | max ms | p95 at small | "
        f"target p95 ≤ {LEDGER_P95_MS} ms |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, row in ledger.items():
        small = base_ledger.get(name, {}).get("p95_ms", "–")
        lines.append(
            f"| {name} | {row['n']} | {row['p50_ms']} | {row['p95_ms']} | {row['max_ms']} | "
            f"{small} | {mark(row['p95_ms'] <= LEDGER_P95_MS)} |"
        )
    return lines


def render_api(api: dict) -> list[str]:
    """Render order intake, the oversell check, the inventory feed and webhooks."""
    lines = [
        "",
        "### Channel API (gunicorn, 2 workers)",
        "",
        "| order intake | orders | orders/s | p50 ms | p95 ms | units ordered | allocated "
        "| backordered | statuses |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run in api["intake"]:
        statuses = ", ".join(f"{k}: {v}" for k, v in run.get("statuses", {}).items())
        lines.append(
            f"| {run['clients']} clients, {run.get('seconds', 0)} s | {run['orders']} | "
            f"**{run.get('orders_per_s', 0)}** | {run.get('p50_ms', '–')} | "
            f"{run.get('p95_ms', '–')} | {run.get('ordered', 0)} | {run.get('allocated', 0)} | "
            f"{run.get('backordered', 0)} | {statuses} |"
        )
    lines += render_ceiling(api.get("ceiling", []))
    over = api["oversell"]
    feed = api["inventory_feed"]
    hooks = api["webhooks"]
    lines += [
        "",
        f"Oversell check after intake: {over['levels_committed_over_on_hand']} balances commit "
        f"more than they hold; sales allocations {over['sales_allocations']} = reservation "
        f"journal {over['sales_reservations_in_journal']}: {mark(over['ok'])}.",
        "",
        f"`GET /api/v1/inventory`, every SKU: {feed['items']:,} items in {feed['pages']} pages "
        f"of {feed['page_size']}, **{feed['seconds']} s** (target ≤ {FEED_SECONDS} s: "
        f"{mark(feed['seconds'] <= FEED_SECONDS)}), {feed['bytes']:,} bytes, page p95 "
        f"{feed['page_p95_ms']} ms; unchanged first page with If-None-Match: "
        f"{feed['not_modified_status']} in {feed['not_modified_ms']} ms.",
        "",
        f"Webhook outbox: {hooks['rows']:,} rows queued in {hooks['queue_seconds']} s, "
        f"delivered in {hooks['deliver_seconds']} s (**{hooks['rows_per_s']} rows/s**, "
        f"{hooks['posts']} POSTs, {hooks['items_received']:,} items received, "
        f"{hooks['lost']} lost).",
    ]
    return lines


def render_ceiling(ceiling: list[dict]) -> list[str]:
    """Render intake against the server's floor (/healthz) and the cheapest API call."""
    if not ceiling:
        return []
    lines = [
        "",
        "| the ceiling, same clients | /healthz req/s · p95 ms | one-SKU GET req/s · p95 ms "
        f"| intake orders/s · p95 ms | one-SKU / healthz (≥ {CEILING_PCT} %) "
        f"| intake / one-SKU (≥ {CEILING_PCT} %) |",
        "|---|---:|---:|---:|---|---|",
    ]
    for row in ceiling:
        health, one = row["healthz"], row["one_sku"]
        first, second = row["one_sku_of_healthz_pct"], row["intake_of_one_sku_pct"]
        lines.append(
            f"| {row['clients']} clients, {row['seconds']} s each "
            f"| {health['requests_per_s']} · {health['p95_ms']} "
            f"| {one['requests_per_s']} · {one['p95_ms']} "
            f"| {row['intake_orders_per_s']} · {row['intake_p95_ms']} "
            f"| {first} % {mark((first or 0) >= CEILING_PCT)} "
            f"| {second} % {mark((second or 0) >= CEILING_PCT)} |"
        )
    return lines


def render_threads_and_check(threads: dict, check: dict) -> list[str]:
    """Render the threaded ledger throughput and the check_ledger time, closing the section."""
    return [
        "",
        f"Mixed transfers and shipments from {threads['threads']} threads: "
        f"**{threads['ops_per_s']} ops/s** ({threads['ok']} done, {threads['refused']} refused "
        f"for lack of stock, {threads['errors']} errors).",
        "",
        f"`check_ledger`: {check['seconds']} s, {check['differences']} differences "
        f"(target ≤ {CHECK_LEDGER_S} s at large: {mark(check['seconds'] <= CHECK_LEDGER_S)}).",
        "",
    ]


def small_baseline(path: Path | None, result: dict) -> dict | None:
    """Return the small run on the same database from the JSON next to ``path``.

    Only a larger run has one: its query counts and p95s are compared against it.
    """
    if not path or result["size"] == "small" or not path.with_suffix(".json").exists():
        return None
    previous = json.loads(path.with_suffix(".json").read_text())
    return previous.get(run_key("small", result["database"]))


def write_report(path: Path, result: dict, text: str) -> None:
    """Replace this size × database section of the report, keeping the others."""
    heading = f"## `{result['size']}` on {result['database'].split()[0]}"
    sections: list[str] = []
    header = "# Benchmarks\n\nWritten by `python -m bench.run`; see bench/README.md.\n"
    if path.exists():
        current = path.read_text()
        parts = current.split("\n## ")
        header = parts[0].rstrip() + "\n"
        for part in parts[1:]:
            section = "## " + part
            if not section.startswith(heading):
                sections.append(section.rstrip() + "\n")
    sections.append(text.rstrip() + "\n")
    sections.sort()
    path.write_text(header + "\n" + "\n".join(sections))
    data_path = path.with_suffix(".json")
    data = json.loads(data_path.read_text()) if data_path.exists() else {}
    data[run_key(result["size"], result["database"])] = result
    data_path.write_text(json.dumps(data, indent=2, default=str) + "\n")
