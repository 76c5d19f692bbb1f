"""Forecasts: classification, the smoothers against hand-worked and published numbers, fit()."""

import numpy as np
import pytest

from planning import forecasting


def test_croston_matches_hand_computation_on_short_series():
    """0,0,3,0,4 with α=β=0.1: size 3 → 3.1, interval 3 → 2.9 (R forecast::croston init)."""
    result = forecasting.croston(np.array([[0, 0, 3, 0, 4.0]]), 0.1)
    assert result == pytest.approx([3.1 / 2.9])


def test_fit_shapes_and_methods():
    demand = np.array([[0, 0, 3, 0, 4, 0, 0, 5, 0, 0, 2, 0, 0, 3.0, 0, 0], [2.0] * 16, [0.0] * 16])
    batch = forecasting.fit(demand)
    assert len(batch) == 3
    assert list(batch.pattern) == ["intermittent", "smooth", "none"]
    assert batch.method[0] in ("sba", "tsb")
    assert batch.method[1] == "ses"
    assert batch.method[2] == "none"
    assert batch.forecast[1] == pytest.approx(2.0)
    assert batch.forecast[2] == 0
