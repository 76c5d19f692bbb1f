"""Forecasts: classification, smoothers against hand-worked numbers and a loop reference, fit()."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from planning import forecasting


def r_style_ses(values, alpha):
    """R forecast::ses(initial="simple") final level: start at the first value, then smooth."""
    level = values[0]
    for value in values:
        level = level + alpha * (value - level)
    return level


def r_style_croston(series, alpha, beta, sba=False):
    """A loop transcription of R forecast:::croston2: SES of the sizes and of the intervals.

    The intervals are diff(c(0, positions of demand)), so the first interval is the
    1-based position of the first demand.
    """
    positions = [index + 1 for index, value in enumerate(series) if value > 0]
    if not positions:
        return 0.0
    sizes = [series[position - 1] for position in positions]
    intervals = np.diff([0, *positions])
    ratio = r_style_ses(sizes, alpha) / r_style_ses(list(intervals), beta)
    return ratio * (1 - beta / 2) if sba else ratio


def test_croston_by_hand():
    """0,0,3,0,4 with α = β = 0.1: sizes 3, 4 → 3 + 0.1·(4 − 3) = 3.1; intervals 3, 2 →

    3 + 0.1·(2 − 3) = 2.9; forecast 3.1 / 2.9 = 1.068966. SBA: × (1 − 0.1/2) = 1.015517.
    """
    demand = np.array([[0, 0, 3, 0, 4.0]])
    assert forecasting.croston(demand, 0.1) == pytest.approx([3.1 / 2.9])
    assert forecasting.croston(demand, 0.1, variant="sba") == pytest.approx([3.1 / 2.9 * 0.95])


def test_croston_separate_alpha_and_beta_by_hand():
    """0,2,0,0,6,0,1 with α = 0.2 (sizes), β = 0.5 (intervals).

    Sizes 2, 6, 1: 2 → 2 + 0.2·4 = 2.8 → 2.8 + 0.2·(1 − 2.8) = 2.44.
    Intervals 2, 3, 2: 2 → 2 + 0.5·1 = 2.5 → 2.5 + 0.5·(2 − 2.5) = 2.25.
    Croston 2.44 / 2.25 = 1.084444; SBA × (1 − 0.5/2) = 0.813333.
    """
    demand = np.array([[0, 2, 0, 0, 6, 0, 1.0]])
    assert forecasting.croston(demand, 0.2, 0.5) == pytest.approx([2.44 / 2.25])
    assert forecasting.croston(demand, 0.2, 0.5, "sba") == pytest.approx([2.44 / 2.25 * 0.75])


def test_croston_matches_r_transcription_on_random_series():
    rng = np.random.default_rng(7)
    demand = rng.poisson(0.4, (40, 30)) * rng.integers(1, 9, (40, 30)).astype(float)
    for alpha, beta in ((0.1, 0.1), (0.3, 0.05)):
        for sba in (False, True):
            variant = "sba" if sba else "croston"
            got = forecasting.croston(demand, alpha, beta, variant)
            expected = [r_style_croston(list(row), alpha, beta, sba) for row in demand]
            assert got == pytest.approx(expected)


def test_tsb_by_hand():
    """0,0,3,0,4 with α = β = 0.1 (initial probability 1/3, the share of periods with demand

    up to the first one). Period 4 (no demand): p = 1/3 + 0.1·(0 − 1/3) = 0.3.
    Period 5 (4 units): p = 0.3 + 0.1·0.7 = 0.37, size = 3 + 0.1·(4 − 3) = 3.1.
    Forecast 0.37 × 3.1 = 1.147.
    """
    assert forecasting.tsb(np.array([[0, 0, 3, 0, 4.0]]), 0.1) == pytest.approx([1.147])


def test_tsb_decays_when_demand_stops_but_croston_does_not():
    demand = np.array([[5, 5, 5, 5] + [0] * 20], dtype=float)
    assert forecasting.tsb(demand, 0.2) < 0.2 * forecasting.croston(demand, 0.2)
    assert forecasting.croston(demand, 0.2) == pytest.approx([5.0])


def test_ses_by_hand_and_path():
    """Series 3, 5, 4, 8 with α = 0.5, level starting at the first value:

    3 → 3 + 0.5·(5 − 3) = 4 → 4 + 0.5·(4 − 4) = 4 → 4 + 0.5·(8 − 4) = 6.
    """
    demand = np.array([[3, 5, 4, 8.0]])
    assert forecasting.ses(demand, 0.5) == pytest.approx([6.0])
    assert forecasting.ses_path(demand, 0.5)[0] == pytest.approx([0, 3, 4, 4, 6])
    assert forecasting.ses(demand, 0.3)[0] == pytest.approx(r_style_ses([3, 5, 4, 8], 0.3))


def test_paths_end_with_the_forecast_and_never_peek():
    rng = np.random.default_rng(3)
    demand = rng.poisson(1.0, (5, 12)).astype(float)
    for path, final in (
        (forecasting.ses_path(demand, 0.2), forecasting.ses(demand, 0.2)),
        (forecasting.croston_path(demand, 0.2), forecasting.croston(demand, 0.2)),
        (forecasting.tsb_path(demand, 0.2), forecasting.tsb(demand, 0.2)),
    ):
        assert path.shape == (5, 13)
        assert path[:, -1] == pytest.approx(final)
    # Column t only uses periods before t: changing period 8 leaves columns 0..8 alone.
    changed = demand.copy()
    changed[:, 8] += 7
    for function in (forecasting.ses_path, forecasting.croston_path, forecasting.tsb_path):
        assert function(changed, 0.3)[:, :9] == pytest.approx(function(demand, 0.3)[:, :9])


def test_forecast_series_and_its_refusals():
    assert forecasting.forecast_series([0, 0, 3, 0, 4], "croston", 0.1) == pytest.approx(3.1 / 2.9)
    assert forecasting.forecast_series([0, 0, 0], "tsb", 0.1) == 0.0
    with pytest.raises(ValueError, match="Unknown method"):
        forecasting.forecast_series([1, 2], "arima", 0.1)
    with pytest.raises(ValueError, match="alpha must be above 0 and at most 1"):
        forecasting.forecast_series([1, 2], "ses", 1.5)
    with pytest.raises(ValueError, match="beta does not apply"):
        forecasting.forecast_series([1, 2], "ses", 0.5, 0.5)
    with pytest.raises(ValueError, match="non-empty"):
        forecasting.forecast_series([], "sba", 0.5)
    with pytest.raises(ValueError, match="cannot be negative"):
        forecasting.forecast_series([1, -2], "sba", 0.5)


def pattern_of(row):
    return str(forecasting.classify(np.array([row], dtype=float)).pattern[0])


def test_classify_one_series_per_pattern():
    result = forecasting.classify(
        np.array(
            [
                [2, 2, 2, 2, 2, 2],  # adi 1, cv² 0
                [1, 10, 1, 10, 1, 10],  # adi 1, sizes mean 5.5 var 20.25 → cv² 0.669
                [0, 5, 0, 5, 0, 5],  # adi 2, cv² 0
                [0, 1, 0, 10, 0, 1],  # adi 2, sizes 1, 10, 1: mean 4 var 18 → cv² 1.125
                [0, 0, 0, 0, 0, 0],
            ],
            dtype=float,
        )
    )
    assert list(result.pattern) == ["smooth", "erratic", "intermittent", "lumpy", "none"]
    assert result.adi[:4] == pytest.approx([1, 1, 2, 2])
    assert result.cv2[:4] == pytest.approx([0, 20.25 / 30.25, 0, 1.125])
    assert np.isnan(result.adi[4]) and np.isnan(result.cv2[4])


def test_classify_boundaries():
    """ADI = 1.32 and CV² = 0.49 belong to the upper classes (the cut-offs are "≥")."""
    # 25 demands in 33 periods: ADI = 1.32 exactly; in 32 periods: 1.28.
    assert pattern_of([1.0] * 25 + [0.0] * 8) == "intermittent"
    assert pattern_of([1.0] * 25 + [0.0] * 7) == "smooth"
    # Sizes 3 and 17: mean 10, population sd 7, CV² = 49/100 = 0.49 exactly.
    assert pattern_of([3, 17, 3, 17]) == "erratic"
    assert pattern_of([3.1, 16.9, 3.1, 16.9]) == "smooth"
    assert pattern_of([3, 17, 0, 0, 3, 17, 0, 0]) == "lumpy"
    # A single demand: CV² 0 (population variance of one size).
    assert pattern_of([0, 0, 0, 4]) == "intermittent"


def test_fit_holdout_maths_by_hand():
    """2,4,2,4,2,4 (smooth), holdout 2, α = 0.5 only.

    SES levels after each period: 2, 3, 2.5, 3.25, 2.625, 3.3125. Holdout periods 5 and 6
    are forecast 3.25 (from periods 1–4) and 2.625 (from 1–5) against 2 and 4: errors
    +1.25, −1.375 → MAE 1.3125, bias −0.0625. Naive: the mean of the 4 periods before
    each, 3 and 3 → errors +1, −1 → MAE 1, bias 0. Refitted forecast 3.3125.
    """
    batch = forecasting.fit(np.array([[2, 4, 2, 4, 2, 4.0]]), holdout=2, alphas=(0.5,))
    assert batch.method[0] == "ses" and batch.alpha[0] == 0.5 and np.isnan(batch.beta[0])
    assert batch.mae[0] == pytest.approx(1.3125)
    assert batch.bias[0] == pytest.approx(-0.0625)
    assert batch.naive_mae[0] == pytest.approx(1.0)
    assert batch.naive_bias[0] == pytest.approx(0.0)
    assert batch.forecast[0] == pytest.approx(3.3125)


def test_fit_picks_the_alpha_with_the_lowest_holdout_error():
    demand = np.array([[2, 4, 2, 4, 2, 4, 2, 4, 2, 4, 2, 4.0]])
    batch = forecasting.fit(demand, holdout=4, alphas=(0.05, 0.5, 0.9))
    errors = {}
    for alpha in (0.05, 0.5, 0.9):
        path = forecasting.ses_path(demand, alpha)[0]
        errors[alpha] = np.abs(path[8:12] - demand[0, 8:12]).mean()
    assert batch.alpha[0] == min(errors, key=errors.get)
    assert batch.mae[0] == pytest.approx(min(errors.values()))


def test_fit_beats_naive_on_steady_demand():
    rng = np.random.default_rng(11)
    steady = rng.normal(20, 4, (300, 60)).clip(0).round()
    sporadic = (rng.random((300, 60)) < 0.25) * rng.integers(1, 6, (300, 60)).astype(float)
    for demand in (steady, sporadic):
        batch = forecasting.fit(demand)
        assert batch.mae.mean() < batch.naive_mae.mean()
    assert set(forecasting.fit(sporadic).method) <= {"sba", "tsb"}


def test_fit_rows_are_independent():
    rng = np.random.default_rng(5)
    demand = rng.poisson(0.7, (6, 30)) * rng.integers(1, 5, (6, 30)).astype(float)
    demand[2] = 0
    together = forecasting.fit(demand)
    for index in range(6):
        alone = forecasting.fit(demand[index : index + 1])
        assert alone.method[0] == together.method[index]
        assert alone.forecast[0] == pytest.approx(together.forecast[index])
        assert alone.mae[0] == pytest.approx(together.mae[index], nan_ok=True)


def test_fit_too_short_for_a_holdout_still_forecasts():
    batch = forecasting.fit(np.array([[0, 3, 0, 1.0], [2, 2, 3, 2.0]]), holdout=8)
    assert list(batch.method) == ["sba", "ses"]
    assert list(batch.alpha) == [0.1, 0.1]
    assert np.isnan(batch.mae).all() and np.isnan(batch.naive_mae).all()
    assert (batch.forecast > 0).all()


def test_fit_shapes_and_no_demand_rows():
    batch = forecasting.fit(np.zeros((3, 20)))
    assert len(batch) == 3
    for name in ("pattern", "adi", "cv2", "method", "alpha", "beta", "forecast", "mae"):
        assert getattr(batch, name).shape == (3,)
    assert list(batch.method) == ["none"] * 3
    assert (batch.forecast == 0).all() and (batch.mae == 0).all()


@pytest.mark.parametrize(
    ("demand", "kwargs", "message"),
    [
        ([1, 2, 3], {}, "2-D"),
        ([[1, -1]], {}, "cannot be negative"),
        ([[1, np.nan]], {}, "finite"),
        ([[1, 2]], {"holdout": -1}, "holdout"),
        ([[1, 2]], {"holdout": 1.5}, "holdout"),
        ([[1, 2]], {"alphas": (0.1, 0)}, "alpha must be above 0"),
        ([[1, 2]], {"alphas": ()}, "at least one alpha"),
    ],
)
def test_fit_refuses_bad_input(demand, kwargs, message):
    with pytest.raises(ValueError, match=message):
        forecasting.fit(np.array(demand, dtype=float), **kwargs)


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 4), st.integers(1, 30)),
        elements=st.integers(0, 1000).map(float),
    )
)
def test_fit_gives_finite_non_negative_forecasts(demand):
    batch = forecasting.fit(demand)
    assert np.isfinite(batch.forecast).all()
    assert (batch.forecast >= 0).all()
    assert (batch.forecast <= demand.max(axis=1) + 1e-9).all()
    has_backtest = demand.shape[1] >= 8 + forecasting.NAIVE_WINDOW
    assert np.isfinite(batch.mae).all() == has_backtest
