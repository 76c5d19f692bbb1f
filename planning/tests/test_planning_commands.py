"""The forecast and safety_stock commands: one JSON object, plain refusals."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command


def run(*args) -> dict:
    out = StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())


def test_forecast_series_prints_one_json_object():
    result = run("forecast", "--series", "0,0,3,0,4", "--method", "croston", "--alpha", "0.1")
    assert result == {
        "method": "croston",
        "alpha": 0.1,
        "beta": 0.1,
        "forecast": pytest.approx(3.1 / 2.9),
    }


def test_forecast_refuses_non_numbers():
    with pytest.raises(CommandError, match="entry 2"):
        call_command("forecast", "--series", "0,x", "--method", "sba", "--alpha", "0.1")


def test_safety_stock_prints_one_json_object():
    result = run(
        "safety_stock",
        "--demand-mean",
        "2500",
        "--demand-sd",
        "500",
        "--lead-time",
        "2",
        "--reorder-point",
        "6000",
        "--order-quantity",
        "10000",
    )
    assert set(result) == {
        "safety_stock",
        "reorder_point",
        "cycle_service_level",
        "expected_shortage_per_cycle",
        "fill_rate",
    }
    assert result["safety_stock"] == pytest.approx(1000)
