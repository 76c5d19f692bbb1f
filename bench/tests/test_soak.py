"""The soak: a few seconds of the whole shop end to end, and the checks that judge it."""

import hmac
import http.client
import json
import os
import subprocess
import sys
from datetime import date
from hashlib import sha256

import pytest

from bench.common import ROOT
from bench.soak import failures, memory
from bench.soak_actors import Receiver
from bench.soak_run import webhook_differences
from inventory import ledger
from orders.models import Channel, ChannelWarehouse
from tests.databases import server_database

KINDS = {
    "api order",
    "login form",
    "login",
    "receive form",
    "receive post",
    "transfer form",
    "transfer post",
    "page /",
    "page /products/",
    "page /stock/",
    "page /sales-orders/",
    "page /purchase-orders/",
}


def bench_command(*args: str, timeout: float) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings"}
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.django_db
def test_a_short_soak_passes_every_check(tmp_path):
    with server_database(tmp_path) as url:
        made = bench_command(
            "bench.generate", "--size", "tiny", "--database-url", url, "--no-check", timeout=90
        )
        assert made.returncode == 0, made.stderr
        out = tmp_path / "soak.json"
        soaked = bench_command(
            "bench.soak",
            *("--size", "tiny", "--database-url", url, "--minutes", "0.05"),
            *("--api-clients", "8", "--clerks", "2", "--managers", "2"),
            *("--sample-seconds", "1", "--drain-retry-now", "--drain-seconds", "60"),
            *("--json", str(out)),
            timeout=120,
        )
    assert soaked.returncode == 0, soaked.stdout[-3000:] + soaked.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["failures"] == []
    # A few seconds let every person log in and start; not every page need come round.
    assert {"api order", "login", "page /"} <= set(result["kinds"]) <= KINDS
    assert all(row["server_errors"] == 0 for row in result["kinds"].values())
    assert result["kinds"]["api order"]["requests"] > 0
    assert result["kinds"]["receive post"]["requests"] > 0
    assert result["units"]["ordered"] > 0
    assert result["oversell"]["ok"] and result["check_ledger"]["differences"] == 0
    hooks = result["webhooks"]
    assert hooks["ok"] and hooks["checked"] > 0 and hooks["accepted"] > 0
    assert hooks["missing"] == hooks["stale"] == [] and hooks["bad_signature"] == 0
    processes = result["memory"]["processes"]
    assert sum(name.startswith("gunicorn worker") for name in processes) == 2
    assert sum(name.startswith("db_worker") for name in processes) == 1
    assert "| api order |" in soaked.stdout and "Soak passed." in soaked.stdout


def post(receiver: Receiver, body: dict, secret: str = "s3cret") -> int:
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(secret.encode(), raw, sha256).hexdigest()
    conn = http.client.HTTPConnection("127.0.0.1", receiver.server.server_address[1], timeout=5)
    conn.request("POST", "/stock", body=raw, headers={"X-Stockroom-Signature": signature})
    status = conn.getresponse().status
    conn.close()
    return status


def item(sku: str, available: int, sequence: int) -> dict:
    return {"sku": sku, "available": available, "sequence": sequence}


def test_the_receiver_keeps_the_latest_signed_value_and_fails_on_purpose():
    with Receiver({"WEB": "s3cret"}, fail_rate=0.0) as receiver:
        assert post(receiver, {"channel": "WEB", "items": [item("A", 5, 2)]}) == 204
        # An older value arriving late does not replace a newer one.
        assert post(receiver, {"channel": "WEB", "items": [item("A", 9, 1)]}) == 204
        assert post(receiver, {"channel": "WEB", "items": [item("A", 7, 3)]}, "wrong") == 401
        assert post(receiver, {"channel": "SHOP", "items": [item("A", 7, 3)]}) == 401
        receiver.fail_rate = 1.0
        assert post(receiver, {"channel": "WEB", "items": [item("A", 4, 4)]}) == 500
    assert receiver.latest == {("WEB", "A"): (2, 5)}
    assert receiver.counts["bad_signature"] == 2 and receiver.counts["failed"] == 1


def report(**changes) -> dict:
    """A passing report, with ``changes`` applied."""
    base = {
        "server_errors": 0,
        "errors": [],
        "oversell": {"ok": True},
        "check_ledger": {"differences": 0},
        "webhooks": {
            "ok": True,
            "missing": [],
            "stale": [],
            "left_undelivered": 0,
            "bad_signature": 0,
        },
        "memory": memory([{"gunicorn worker 1": 100_000}, {"gunicorn worker 1": 101_000}]),
        "kinds": {"api order": {"requests": 10}},
    }
    return {**base, **changes}


def test_every_broken_check_fails_the_soak():
    assert failures(report()) == []
    assert failures(report(server_errors=2)) == ["2 answers were 5xx"]
    assert "oversold" in failures(report(oversell={"ok": False}))[0]
    stale = {**report()["webhooks"], "ok": False, "stale": ["WEB/A: 3 ≠ 2"]}
    assert "1 stale" in failures(report(webhooks=stale))[0]
    grown = memory([{"db_worker 7": 100_000}, {"db_worker 7": 150_000}])
    assert not grown["ok"] and grown["processes"]["db_worker 7"]["growth_mb"] == 48.8
    assert failures(report(memory=grown))[0].startswith("memory not flat")
    # A worker that died (or was replaced) between the samples is not flat either.
    assert not memory([{"gunicorn worker 1": 100_000}, {"gunicorn worker 2": 100_000}])["ok"]


@pytest.mark.django_db
def test_the_drain_check_finds_missing_and_stale_webhook_values(product, lot_product, locations):

    channel = Channel.objects.create(code="WEB", name="Web", webhook_url="http://127.0.0.1:9/x")
    ChannelWarehouse.objects.create(channel=channel, warehouse=locations["bin1"].warehouse)
    ledger.receive(product=product, location=locations["bin1"], quantity=5, unit_cost=1)
    ledger.receive(
        product=lot_product,
        location=locations["bin1"],
        quantity=2,
        unit_cost=1,
        lot_code="L1",
        expires_on=date(2031, 1, 31),
    )
    receiver = Receiver({}, fail_rate=0.0)
    receiver.server.server_close()
    receiver.latest = {("WEB", product.sku): (7, 5), ("WEB", lot_product.sku): (7, 2)}
    assert webhook_differences(receiver, [channel], 0) == {
        "checked": 2,
        "missing": [],
        "stale": [],
    }
    receiver.latest[("WEB", product.sku)] = (7, 4)  # an older value was the last to arrive
    del receiver.latest[("WEB", lot_product.sku)]  # a change never arrived
    found = webhook_differences(receiver, [channel], 0)
    assert found["stale"] == ["WEB/MUG-001: 4 ≠ 5"] and found["missing"] == ["WEB/TEA-100"]
