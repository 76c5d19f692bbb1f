"""The channel API section of the report: the ceiling rows and the feed's target."""

from bench.channels import ratio
from bench.report import render_api

FEED = {
    "items": 50000,
    "pages": 50,
    "page_size": 1000,
    "seconds": 0.9,
    "bytes": 1,
    "page_p95_ms": 20.0,
    "not_modified_status": 304,
    "not_modified_ms": 5.0,
}
HOOKS = {
    "rows": 1,
    "queue_seconds": 0.1,
    "deliver_seconds": 0.1,
    "rows_per_s": 10.0,
    "posts": 1,
    "items_received": 1,
    "lost": 0,
}
OVERSELL = {
    "levels_committed_over_on_hand": 0,
    "sales_allocations": 3,
    "sales_reservations_in_journal": 3,
    "ok": True,
}


def ceiling_row(clients, health, one, intake):
    return {
        "clients": clients,
        "seconds": 15.0,
        "healthz": {"requests_per_s": health, "p95_ms": 30.0},
        "one_sku": {"requests_per_s": one, "p95_ms": 40.0},
        "intake_orders_per_s": intake,
        "intake_p95_ms": 90.0,
        "one_sku_of_healthz_pct": ratio(one, health),
        "intake_of_one_sku_pct": ratio(intake, one),
    }


def test_the_ceiling_rows_show_both_ratios_against_their_targets():
    api = {
        "intake": [],
        "ceiling": [ceiling_row(8, 400.0, 300.0, 120.0), ceiling_row(32, 400.0, 150.0, 90.0)],
        "oversell": OVERSELL,
        "inventory_feed": FEED,
        "webhooks": HOOKS,
    }
    text = "\n".join(render_api(api))
    assert "| 8 clients, 15.0 s each | 400.0 · 30.0 | 300.0 · 40.0 | 120.0 · 90.0 " in text
    assert "| 75.0 % ✅ | 40.0 % ❌ miss |" in text
    assert "| 37.5 % ❌ miss | 60.0 % ✅ |" in text
    assert "**0.9 s** (target ≤ 1.0 s: ✅)" in text


def test_a_run_without_ceiling_rows_still_renders():
    api = {"intake": [], "oversell": OVERSELL, "inventory_feed": FEED, "webhooks": HOOKS}
    assert "the ceiling" not in "\n".join(render_api(api))
    assert ratio(None, 5.0) is None and ratio(5.0, 0) is None
