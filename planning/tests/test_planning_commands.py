"""The forecast and safety_stock commands: one JSON object from the shared code, plain refusals."""

import json
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from planning import buffers


def run(*args) -> dict:
    out = StringIO()
    call_command(*args, stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1, "one JSON object on one line"
    return json.loads(lines[0])


def forecast(series, method="croston", alpha="0.1", *extra) -> dict:
    return run("forecast", "--series", series, "--method", method, "--alpha", alpha, *extra)


def test_forecast_croston_on_a_series():
    """0,0,3,0,4, α = β = 0.1: 3.1 / 2.9 (worked in test_forecasting)."""
    assert forecast("0,0,3,0,4") == {
        "method": "croston",
        "alpha": 0.1,
        "beta": 0.1,
        "forecast": pytest.approx(3.1 / 2.9),
    }


def test_forecast_each_method_and_beta():
    assert forecast("0,0,3,0,4", "sba", "0.1")["forecast"] == pytest.approx(3.1 / 2.9 * 0.95)
    assert forecast("0,0,3,0,4", "tsb", "0.1")["forecast"] == pytest.approx(1.147)
    assert forecast("3, 5, 4, 8", "ses", "0.5") == {
        "method": "ses",
        "alpha": 0.5,
        "beta": None,
        "forecast": pytest.approx(6.0),
    }
    result = forecast("0,2,0,0,6,0,1", "sba", "0.2", "--beta", "0.5")
    assert result["beta"] == 0.5
    assert result["forecast"] == pytest.approx(2.44 / 2.25 * 0.75)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--series", "0,x,3", "--method", "sba", "--alpha", "0.1"],
            r"entry 2 \('x'\) is not a number",
        ),
        (["--series", "0,-3", "--method", "sba", "--alpha", "0.1"], "entry 2 .* ≥ 0"),
        (["--series", "", "--method", "sba", "--alpha", "0.1"], "separated by commas"),
        (["--series", "1,,2", "--method", "sba", "--alpha", "0.1"], "no empty entries"),
        (["--series", "1,inf", "--method", "sba", "--alpha", "0.1"], "finite"),
        (["--series", "1,2", "--method", "sba", "--alpha", "0"], "alpha must be above 0"),
        (["--series", "1,2", "--method", "sba", "--alpha", "1.5"], "at most 1"),
        (["--series", "1,2", "--method", "sba", "--alpha", "a"], "is not a number"),
        (["--series", "1,2", "--method", "tsb", "--alpha", "0.1", "--beta", "2"], "--beta"),
        (["--series", "1,2", "--method", "ses", "--alpha", "0.1", "--beta", "0.2"], "not apply"),
        (["--series", "1,2", "--alpha", "0.1"], "--method and --alpha"),
        (["--series", "1,2", "--method", "sba"], "--method and --alpha"),
        ([], "either a SKU or --series"),
        (["SKU-1", "--series", "1,2"], "either a SKU or --series"),
    ],
)
def test_forecast_refuses_bad_input(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("forecast", *args)


def test_forecast_bad_input_exits_non_zero_without_a_traceback():
    completed = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "forecast",
            "--series",
            "1,x",
            "--method",
            "sba",
            "--alpha",
            "0.1",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode != 0
    assert "is not a number" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert completed.stdout == ""


def safety(*args) -> dict:
    return run("safety_stock", *args)


def test_safety_stock_reorder_point_mode_matches_chopra_meindl_11_4():
    """Weekly demand 250, σ 150, L 2 weeks, ROP 600, Q 1,000 → CSL 0.68, ESC 43.86, fr 0.96."""
    result = safety(
        "--demand-mean", "250", "--demand-sd", "150", "--lead-time", "2",
        "--reorder-point", "600", "--order-quantity", "1000",
    )  # fmt: skip
    assert set(result) == {
        "safety_stock",
        "reorder_point",
        "cycle_service_level",
        "expected_shortage_per_cycle",
        "fill_rate",
    }
    assert result["safety_stock"] == pytest.approx(100)
    assert round(result["cycle_service_level"], 2) == 0.68
    assert result["expected_shortage_per_cycle"] == pytest.approx(43.86, abs=0.05)
    assert round(result["fill_rate"], 2) == 0.96


@pytest.mark.parametrize("level", ["0.9", "90", "90%", " 90 % "])
def test_safety_stock_service_level_as_fraction_or_percent(level):
    result = safety(
        "--demand-mean", "30", "--demand-sd", "3", "--lead-time", "7", "--lead-time-sd", "4",
        "--service-level", level,
    )  # fmt: skip
    assert result == buffers.evaluate(30, 3, 7, 4, service_level=0.9)
    assert result["fill_rate"] is None
    assert result["safety_stock"] == pytest.approx(153.94, rel=2e-3)


def test_safety_stock_small_percent_with_sign():
    result = safety(
        "--demand-mean", "30", "--demand-sd", "3", "--lead-time", "7",
        "--service-level", "0.5%",
    )  # fmt: skip
    assert result["cycle_service_level"] == pytest.approx(0.005)


BASE = ["--demand-mean", "10", "--demand-sd", "2", "--lead-time", "5"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([*BASE, "--service-level", "100"], "between 0 and 100"),
        ([*BASE, "--service-level", "0"], "between 0 and 100"),
        ([*BASE, "--service-level", "-5"], "between 0 and 100"),
        ([*BASE, "--service-level", "high"], "is not a number"),
        ([*BASE, "--reorder-point", "-1"], "reorder point must be 0 or more"),
        (
            [*BASE, "--service-level", "95", "--order-quantity", "0"],
            "order quantity must be above 0",
        ),
        (
            [*BASE, "--service-level", "95", "--lead-time-sd", "-1"],
            "lead time sd must be 0 or more",
        ),
        (
            [
                "--demand-mean",
                "10",
                "--demand-sd",
                "nan",
                "--lead-time",
                "5",
                "--service-level",
                "95",
            ],
            "finite",
        ),
        (
            [
                "--demand-mean",
                "10",
                "--demand-sd",
                "0",
                "--lead-time",
                "5",
                "--service-level",
                "95",
            ],
            "does not vary",
        ),
    ],
)
def test_safety_stock_refuses_bad_input(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("safety_stock", *args)


def test_safety_stock_needs_exactly_one_target():
    both = [*BASE, "--service-level", "95", "--reorder-point", "60"]
    completed = subprocess.run(
        [sys.executable, "manage.py", "safety_stock", *both], capture_output=True, text=True
    )
    assert completed.returncode != 0
    assert "not allowed with argument" in completed.stderr
    assert "Traceback" not in completed.stderr
