"""Safety stock, reorder point and service: known answers from published worked examples.

Sources quote z to two decimals and round their results; each test allows for that.
"""

import math

import numpy as np
import pytest

from planning import buffers


def test_lead_time_variability_example_30_gallons_a_day():
    """Demand and lead time both vary (published worked answer, z rounded to 1.28).

    https://ja3.jsfiddle.net/parte/16251922 (a copy of a Brainly answer): d̄ = 30 gallons/day,
    σd = 3, L̄ = 7 days, σL = 4 days, 90 % service, z = 1.28:
    SS = 1.28 × √(7·3² + (4·30)²) = 153.94 ≈ 154 gallons. With the exact z(0.90) = 1.2816
    the buffer is 154.13, within the source's rounding of z.
    """
    result = buffers.evaluate(30, 3, 7, 4, service_level=0.90)
    assert result["safety_stock"] == pytest.approx(153.94, rel=2e-3)
    assert math.ceil(result["safety_stock"]) in (154, 155)
    assert result["reorder_point"] == pytest.approx(30 * 7 + result["safety_stock"])
    assert buffers.safety_stock(1.28, 30, 3, 7, 4) == pytest.approx(153.94, abs=0.01)


def test_constant_lead_time_example_15_a_day_for_4_days():
    """A test-bank question with its worked answer.

    https://questionai.com/amp/questions-th4BV0BdnL/9-daily-demand-normally-distributed-mean-15-standard
    d̄ = 15/day, σd = 5, L = 4 days constant, 90 % service → "approximately 13 units"
    (1.28 × 5 × √4 = 12.8).
    """
    result = buffers.evaluate(15, 5, 4, 0, service_level=0.90)
    assert result["safety_stock"] == pytest.approx(12.8, abs=0.05)
    assert round(result["safety_stock"]) == 13
    assert result["reorder_point"] == pytest.approx(60 + result["safety_stock"])


def test_constant_lead_time_example_umbrellas():
    """A (Q, R) umbrella store, worked answer published at

    https://questionai.com/questions-tJlPWMPN4o/umbrella-store-uses-q-r-inventory-system-control-stock
    d̄ = 20/day, σd = 4, L = 10 days, 95 % (z ≈ 1.64): σ over the lead time = √10 × 4 = 12.65,
    SS = 20.74, "approximately 21 umbrellas (rounding up)". Exact z = 1.6449 gives 20.81,
    still 21 whole units.
    """
    result = buffers.evaluate(20, 4, 10, service_level=0.95)
    assert result["safety_stock"] == pytest.approx(20.74, rel=5e-3)
    assert math.ceil(result["safety_stock"]) == 21
    assert buffers.sd_during_lead_time(20, 4, 10) == pytest.approx(12.65, abs=0.01)


def test_reorder_point_gives_cycle_service_shortage_and_fill_rate():
    """Chopra & Meindl, Supply Chain Management, Exercise 11-4 (Hewlett Packard at Sam's Club).

    Solution sheet: https://www.scribd.com/document/457113184/11-4 — weekly demand 250,
    σ = 150, L = 2 weeks, Q = 1,000, ROP = 600 → σ over the lead time = 212,
    ss = 100, CSL = 0.68, ESC = 43.86, fill rate = 0.96.
    """
    result = buffers.evaluate(250, 150, 2, reorder_point=600, order_quantity=1000)
    assert result["safety_stock"] == pytest.approx(100)
    assert result["reorder_point"] == pytest.approx(600)
    assert round(result["cycle_service_level"], 2) == 0.68
    assert result["expected_shortage_per_cycle"] == pytest.approx(43.86, abs=0.05)
    assert round(result["fill_rate"], 2) == 0.96


def test_normal_loss_known_values():
    """G(0) = φ(0) = 1/√(2π); G(1) = 0.0833 and G(2) = 0.0085 as in standard unit-loss tables."""
    assert buffers.normal_loss(0) == pytest.approx(1 / math.sqrt(2 * math.pi))
    assert buffers.normal_loss(1) == pytest.approx(0.0833, abs=5e-5)
    assert buffers.normal_loss(2) == pytest.approx(0.0085, abs=5e-5)
    # G(-k) = G(k) + k: a negative buffer adds its whole depth to the shortage.
    assert buffers.normal_loss(-1) == pytest.approx(buffers.normal_loss(1) + 1)


def test_service_level_and_reorder_point_are_inverse():
    sized = buffers.evaluate(4.2, 1.9, 7, 1.5, service_level=0.95, order_quantity=50)
    back = buffers.evaluate(4.2, 1.9, 7, 1.5, reorder_point=sized["reorder_point"])
    assert back["cycle_service_level"] == pytest.approx(0.95)
    assert back["expected_shortage_per_cycle"] == pytest.approx(
        sized["expected_shortage_per_cycle"]
    )
    assert back["fill_rate"] is None
    assert 0 < sized["fill_rate"] < 1


def test_z_for_known_quantiles():
    assert buffers.z_for(0.95) == pytest.approx(1.6449, abs=1e-4)
    assert buffers.z_for(0.5) == 0
    assert buffers.z_for(0.999) == pytest.approx(3.0902, abs=1e-4)


def test_safety_stock_array_matches_scalar():
    d_mean = np.array([30.0, 15.0, 0.0, 2.5])
    d_sd = np.array([3.0, 5.0, 0.0, 1.0])
    lt_mean = np.array([7.0, 4.0, 3.0, 10.0])
    lt_sd = np.array([4.0, 0.0, 1.0, 2.0])
    z = buffers.z_for(0.9)
    expected = [
        buffers.safety_stock(z, *row) for row in zip(d_mean, d_sd, lt_mean, lt_sd, strict=True)
    ]
    assert buffers.safety_stock_array(z, d_mean, d_sd, lt_mean, lt_sd) == pytest.approx(expected)


def test_deterministic_demand_with_a_reorder_point():
    covered = buffers.evaluate(10, 0, 5, reorder_point=50, order_quantity=100)
    assert covered["cycle_service_level"] == 1.0
    assert covered["expected_shortage_per_cycle"] == 0
    short = buffers.evaluate(10, 0, 5, reorder_point=45, order_quantity=100)
    assert short["cycle_service_level"] == 0.0
    assert short["expected_shortage_per_cycle"] == 5
    assert short["fill_rate"] == pytest.approx(0.95)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one"),
        ({"service_level": 0.9, "reorder_point": 60}, "exactly one"),
        ({"service_level": 1.0}, "between 0 and 1"),
        ({"service_level": 0}, "between 0 and 1"),
        ({"service_level": 95}, "between 0 and 1"),
        ({"service_level": 0.9, "d_sd": -1}, "demand sd must be 0 or more"),
        ({"service_level": 0.9, "lt_sd": -0.5}, "lead time sd must be 0 or more"),
        ({"reorder_point": -3}, "reorder point must be 0 or more"),
        ({"service_level": 0.9, "order_quantity": 0}, "order quantity must be above 0"),
        ({"service_level": 0.9, "d_mean": float("nan")}, "finite"),
        ({"service_level": 0.9, "d_mean": "lots"}, "must be a number"),
        ({"service_level": 0.9, "d_sd": 0, "lt_sd": 0}, "does not vary"),
    ],
)
def test_evaluate_refuses_bad_input(kwargs, message):
    arguments = {"d_mean": 10, "d_sd": 2, "lt_mean": 5, "lt_sd": 1} | kwargs
    with pytest.raises(ValueError, match=message):
        buffers.evaluate(**arguments)


def test_cost_curve_rounds_up_and_prices_the_buffer():
    points = buffers.cost_curve(30, 3, 7, 4, unit_cost=12.5, holding_rate=0.25, order_quantity=300)
    assert [point["service_level"] for point in points] == list(buffers.COST_CURVE_LEVELS)
    at_90 = points[2]
    assert at_90["safety_stock"] == 155  # 154.13 rounded up to whole units
    assert at_90["yearly_holding_cost"] == pytest.approx(155 * 12.5 * 0.25)
    stocks = [point["safety_stock"] for point in points]
    costs = [point["yearly_holding_cost"] for point in points]
    fills = [point["fill_rate"] for point in points]
    assert stocks == sorted(stocks) and costs == sorted(costs) and fills == sorted(fills)
    assert all(0 < fill < 1 for fill in fills)
    sigma = buffers.sd_during_lead_time(30, 3, 7, 4)
    assert at_90["expected_shortage_per_cycle"] == pytest.approx(
        sigma * buffers.normal_loss(155 / sigma)
    )


def test_cost_curve_refuses_a_flat_demand():
    with pytest.raises(ValueError, match="does not vary"):
        buffers.cost_curve(10, 0, 5, 0, unit_cost=1, holding_rate=0.2, order_quantity=10)


def test_array_versions_match_the_scalar_ones():
    ks = np.linspace(-4, 9, 53)
    assert buffers.normal_loss_array(ks) == pytest.approx([buffers.normal_loss(k) for k in ks])
    levels = np.array([[0.95, 0.9], [0.95, 0.999]])
    zs = buffers.z_for_array(levels)
    assert zs.shape == (2, 2)
    assert zs.ravel() == pytest.approx([buffers.z_for(level) for level in levels.ravel()])
    with pytest.raises(ValueError, match="between 0 and 1"):
        buffers.z_for_array([0.9, 1.0])


def test_normal_loss_keeps_precision_in_the_tail():
    """G(k) ≈ φ(k)/k² for large k; 1 − Φ(k) computed naively would round to 0 and give φ(k)."""
    k = 9.0
    pdf = buffers.STANDARD_NORMAL.pdf(k)
    assert buffers.normal_loss(k) == pytest.approx(pdf / k**2, rel=0.05)
    assert 0 < buffers.normal_loss(k) < pdf / 10
