"""The scan-station measurement takes every step on generated data and changes nothing."""

from datetime import date

import pytest
from django.db.models import Sum

from bench import scanning
from bench.load import load_bulk
from bench.report import render_stations
from bench.scenario import SIZES, Scenario
from inventory.models import StockLevel, StockMove
from scanning.models import ScanRecord

STATIONS = ("lookup", "putaway", "count", "receive", "pick")


@pytest.fixture
def tiny():
    load_bulk(Scenario(SIZES["tiny"], seed=7, end=date(2026, 11, 1)))


def stock() -> tuple:
    totals = StockLevel.objects.aggregate(on_hand=Sum("on_hand"), committed=Sum("committed"))
    return totals["on_hand"], totals["committed"], StockMove.objects.count()


@pytest.mark.django_db
def test_every_station_step_is_taken_and_rolled_back(tiny):
    scanning.measure_stations(1)  # first run: creates the bench PO and sales order
    before = stock()
    result = scanning.measure_stations(2)
    assert result["refused"] == []
    steps = result["steps"]
    assert {name.split(":")[0] for name in steps} == set(STATIONS)
    assert "putaway: destination: posts the transfer" in steps
    assert "receive: DONE: posts the receipt" in steps
    assert all(row["n"] == 2 and row["queries"] > 0 for row in steps.values())
    # Transfers, receipts and picking were posted and rolled back: the data is as it was.
    assert stock() == before
    assert not ScanRecord.objects.exists()


@pytest.mark.django_db
def test_a_refused_scan_is_reported(tiny, monkeypatch):
    monkeypatch.setattr(
        scanning, "station_steps", lambda user: [scanning.Step("putaway", "bad", "NO-SUCH")]
    )
    result = scanning.measure_stations(2)
    assert result["refused"] == ["putaway: bad (NO-SUCH)"]


def test_more_queries_than_at_small_misses_the_target():
    row = {"p50_ms": 5, "p95_ms": 6, "max_ms": 7, "queries": 13}
    base = {"steps": {"count: item": {**row, "queries": 12}}}
    text = "\n".join(render_stations({"steps": {"count: item": row}, "refused": []}, base))
    assert "| count: item | 5 | 6 | 7 | 13 | 12 | ❌ miss |" in text
    text = "\n".join(render_stations({"steps": {"count: item": row}, "refused": []}, {}))
    assert "| 13 | – | ✅ |" in text
