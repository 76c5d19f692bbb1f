"""Demand forecasts chosen by demand pattern, computed for every product at once.

Pure numpy, no Django. Every function takes ``demand``: an array shaped
(items, periods) of float64, one row per product, oldest period first (weekly buckets
in practice), non-negative and finite. Work is vectorised over the rows; only the
periods are looped over (a smoother is a recursion in time).

Classification follows Syntetos, Boylan & Croston (2005), "On the categorization of
demand patterns", Journal of the Operational Research Society 56(5), 495–503, with the
cut-offs ADI = 1.32 and CV² = 0.49 derived in Syntetos & Boylan (2005), "The accuracy
of intermittent demand estimates", International Journal of Forecasting 21(2), 303–314:

- ``adi`` = periods in the array / number of periods with demand (so trailing and
  leading zeros count: a product that stopped selling looks intermittent);
- ``cv2`` = population variance / squared mean of the non-zero demand sizes (ddof=0;
  one single non-zero period gives 0);
- rows without any demand get ``adi`` = ``cv2`` = NaN and the pattern "none".

Smoothers and their initialisation (each ``*_path`` returns the one-step-ahead path,
shape (items, periods + 1): column t is the forecast for period t made from periods
0..t-1; the last column is the next-period forecast that ``ses``/``croston``/``tsb``
return; before any demand has been seen the forecast is 0):

- SES: the level starts at the first observation (R ``forecast::ses(initial="simple")``).
- Croston (R ``forecast::croston``, the classic method): the size starts at the first
  non-zero demand and the interval at the 1-based position of the first non-zero period;
  both are updated only in periods with demand (size with α, interval with β).
  SBA (Syntetos & Boylan 2005) multiplies Croston's ratio by (1 − β/2).
- TSB (Teunter, Syntetos & Babai 2011, "Intermittent demand: linking forecasting to
  inventory obsolescence", EJOR 214(3), 606–615): the size starts at the first
  non-zero demand, the demand probability at 1 / (1-based position of that period) —
  the share of periods with demand seen so far, which uses no future data; from the
  next period on the probability is smoothed with β towards 1 (demand) or 0 (none) and
  the size with α in periods with demand. Forecast = probability × size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49
NAIVE_WINDOW = 4
DEFAULT_ALPHA = 0.1
METHODS = ("ses", "croston", "sba", "tsb")
INTERMITTENT = ("intermittent", "lumpy")


@dataclass(frozen=True)
class Classification:
    """The Syntetos–Boylan classification of each row."""

    adi: np.ndarray
    cv2: np.ndarray
    pattern: np.ndarray


@dataclass(frozen=True)
class ForecastBatch:
    """What ``fit`` chose and measured for each row (all arrays of length items).

    ``alpha``/``beta`` are NaN where they do not apply (β for SES, both for "none");
    ``mae``/``bias``/``naive_mae``/``naive_bias`` are NaN when the series is too short
    for a backtest.
    """

    pattern: np.ndarray
    adi: np.ndarray
    cv2: np.ndarray
    method: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    forecast: np.ndarray
    mae: np.ndarray
    bias: np.ndarray
    naive_mae: np.ndarray
    naive_bias: np.ndarray

    def __len__(self) -> int:
        return len(self.forecast)


def as_demand(demand) -> np.ndarray:
    """Return ``demand`` as a 2-D float64 array, refusing negative or non-finite values."""
    array = np.asarray(demand, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"Demand must be a 2-D array (items, periods), got {array.ndim}-D.")
    if not np.isfinite(array).all():
        raise ValueError("Demand must be finite numbers (no NaN or infinity).")
    if (array < 0).any():
        raise ValueError("Demand cannot be negative: net returns out before forecasting.")
    return array


def check_constant(value: float, name: str) -> float:
    """Return a smoothing constant after checking it lies in (0, 1]."""
    value = float(value)
    if not 0 < value <= 1:
        raise ValueError(f"{name} must be above 0 and at most 1, got {value:g}.")
    return value


def classify(demand) -> Classification:
    """Classify each row as smooth, erratic, intermittent, lumpy or none (no demand)."""
    array = as_demand(demand)
    nonzero = array > 0
    count = nonzero.sum(axis=1)
    has = count > 0
    safe = np.maximum(count, 1)
    adi = np.where(has, array.shape[1] / safe, np.nan)
    mean = array.sum(axis=1) / safe
    deviation = np.where(nonzero, array - mean[:, None], 0.0)
    variance = (deviation * deviation).sum(axis=1) / safe
    cv2 = np.where(has, variance / np.where(has, mean * mean, 1.0), np.nan)
    frequent = adi < ADI_CUTOFF
    steady = cv2 < CV2_CUTOFF
    pattern = np.where(
        frequent,
        np.where(steady, "smooth", "erratic"),
        np.where(steady, "intermittent", "lumpy"),
    ).astype("<U12")
    pattern[~has] = "none"
    return Classification(adi=adi, cv2=cv2, pattern=pattern)


def _constants(alpha, beta=None) -> tuple[np.ndarray, np.ndarray]:
    """Return α and β as column arrays (candidates, 1) so states broadcast over rows."""
    alphas = np.atleast_1d(np.asarray(alpha, dtype=np.float64))
    betas = alphas if beta is None else np.atleast_1d(np.asarray(beta, dtype=np.float64))
    return alphas[:, None], np.broadcast_to(betas, alphas.shape)[:, None]


def _ses_run(array, alphas, start) -> np.ndarray:
    """SES one-step-ahead forecasts for periods start..T, shape (candidates, items, T-start+1)."""
    items, periods = array.shape
    out = np.zeros((alphas.shape[0], items, periods - start + 1))
    level = np.zeros((alphas.shape[0], items))
    for t in range(periods):
        if t >= start:
            out[:, :, t - start] = level
        if t == 0:
            level = level + array[:, 0]
        else:
            level += alphas * (array[:, t] - level)
    out[:, :, -1] = level
    return out


def _croston_run(array, alphas, betas, start, factor) -> np.ndarray:
    """Croston-type forecasts (ratio × factor) for periods start..T, like ``_ses_run``."""
    items, periods = array.shape
    shape = (alphas.shape[0], items)
    out = np.zeros((shape[0], items, periods - start + 1))
    size, interval = np.zeros(shape), np.ones(shape)
    started = np.zeros(items, dtype=bool)
    last = np.zeros(items)
    for t in range(periods):
        if t >= start:
            out[:, :, t - start] = np.where(started, factor * size / interval, 0.0)
        value = array[:, t]
        demand = value > 0
        since = t + 1 - last
        first = demand & ~started
        update = demand & started
        size += alphas * update * (value - size)
        interval += betas * update * (since - interval)
        size[:, first], interval[:, first] = value[first], since[first]
        last[demand] = t + 1
        started |= demand
    out[:, :, -1] = np.where(started, factor * size / interval, 0.0)
    return out


def _tsb_run(array, alphas, betas, start) -> np.ndarray:
    """TSB forecasts (probability × size) for periods start..T, like ``_ses_run``."""
    items, periods = array.shape
    shape = (alphas.shape[0], items)
    out = np.zeros((shape[0], items, periods - start + 1))
    size, probability = np.zeros(shape), np.zeros(shape)
    started = np.zeros(items, dtype=bool)
    for t in range(periods):
        if t >= start:
            out[:, :, t - start] = probability * size
        value = array[:, t]
        demand = value > 0
        first = demand & ~started
        update = demand & started
        size += alphas * update * (value - size)
        probability += betas * started * (demand - probability)
        size[:, first], probability[:, first] = value[first], 1.0 / (t + 1)
        started |= demand
    out[:, :, -1] = probability * size
    return out


def _run(method: str, array, alphas, betas, start: int) -> np.ndarray:
    """Dispatch to the smoother named ``method``."""
    if method == "ses":
        return _ses_run(array, alphas, start)
    if method == "croston":
        return _croston_run(array, alphas, betas, start, 1.0)
    if method == "sba":
        return _croston_run(array, alphas, betas, start, 1.0 - betas / 2.0)
    if method == "tsb":
        return _tsb_run(array, alphas, betas, start)
    raise ValueError(f"Unknown method {method!r}: use one of {', '.join(METHODS)}.")


def _path(method, demand, alpha, beta=None) -> np.ndarray:
    """Return the one-step-ahead path of one method with one α (and β)."""
    array = as_demand(demand)
    alpha = check_constant(alpha, "alpha")
    beta = None if beta is None else check_constant(beta, "beta")
    alphas, betas = _constants(alpha, beta)
    return _run(method, array, alphas, betas, 0)[0]


def ses_path(demand, alpha) -> np.ndarray:
    """Return SES one-step-ahead forecasts, shape (items, periods + 1)."""
    return _path("ses", demand, alpha)


def ses(demand, alpha) -> np.ndarray:
    """Return the flat next-period SES forecast of each row."""
    return ses_path(demand, alpha)[:, -1]


def croston_path(demand, alpha, beta=None, variant="croston") -> np.ndarray:
    """Return Croston (or SBA) one-step-ahead forecasts, shape (items, periods + 1)."""
    if variant not in ("croston", "sba"):
        raise ValueError(f"Unknown Croston variant {variant!r}: use croston or sba.")
    return _path(variant, demand, alpha, beta)


def croston(demand, alpha, beta=None, variant="croston") -> np.ndarray:
    """Return the flat next-period Croston (or SBA) forecast of each row."""
    return croston_path(demand, alpha, beta, variant)[:, -1]


def tsb_path(demand, alpha, beta=None) -> np.ndarray:
    """Return TSB one-step-ahead forecasts, shape (items, periods + 1)."""
    return _path("tsb", demand, alpha, beta)


def tsb(demand, alpha, beta=None) -> np.ndarray:
    """Return the flat next-period TSB forecast of each row."""
    return tsb_path(demand, alpha, beta)[:, -1]


def forecast_series(series, method, alpha, beta=None) -> float:
    """Return the flat next-period forecast of one series with one method."""
    if method not in METHODS:
        raise ValueError(f"Unknown method {method!r}: use one of {', '.join(METHODS)}.")
    if method == "ses" and beta is not None:
        raise ValueError("beta does not apply to ses (it has one smoothing constant).")
    array = np.asarray(series, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError("The series must be a non-empty list of numbers.")
    return float(_path(method, array[None, :], alpha, beta)[0, -1])


def naive_errors(array: np.ndarray, holdout: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the naive baseline's holdout MAE and bias per row.

    The baseline ("same as last month") forecasts each holdout period with the mean of
    the ``NAIVE_WINDOW`` (4) periods just before it; like the methods it is rolled
    forward one period at a time, so it has seen every period before the one it forecasts.
    """
    periods = array.shape[1]
    cumulative = np.concatenate([np.zeros((array.shape[0], 1)), array.cumsum(axis=1)], axis=1)
    origins = np.arange(periods - holdout, periods)
    naive = (cumulative[:, origins] - cumulative[:, origins - NAIVE_WINDOW]) / NAIVE_WINDOW
    errors = naive - array[:, origins]
    return np.abs(errors).mean(axis=1), errors.mean(axis=1)


def _choose(array, rows, methods, alphas, holdout):
    """Backtest ``methods`` × ``alphas`` on ``rows``; return the best of each row.

    Returns (method index, alpha, holdout MAE, holdout bias, refitted forecast). Each
    candidate forecasts every holdout period one step ahead from the periods before it
    (rolling origin, fixed α); ties go to the first candidate (smaller α, SBA before TSB).
    """
    subset = array[rows]
    periods = subset.shape[1]
    columns, betas = _constants(alphas)
    runs = np.concatenate(
        [_run(method, subset, columns, betas, periods - holdout) for method in methods]
    )
    errors = runs[:, :, :holdout] - subset[None, :, periods - holdout :]
    mae = np.abs(errors).mean(axis=2)
    best = mae.argmin(axis=0)
    pick = np.arange(len(best))
    return (
        best // len(alphas),
        np.tile(alphas, len(methods))[best],
        mae[best, pick],
        errors.mean(axis=2)[best, pick],
        runs[best, pick, -1],
    )


def fit(demand, holdout=8, alphas=(0.05, 0.1, 0.2, 0.3, 0.5)) -> ForecastBatch:
    """Classify each row, pick its method and α by a holdout backtest, and forecast.

    The pattern is classified on the whole series (holdout weeks included).
    Smooth and erratic rows use SES, intermittent and lumpy rows SBA or TSB (β = α);
    the candidate with the lowest MAE over the last ``holdout`` periods wins and is
    refitted on the whole series. Rows without demand get method "none" and 0.
    When there are fewer than ``holdout`` + 4 periods (or ``holdout`` is 0) nothing is
    backtested: rows get SES or SBA with α = 0.1 and NaN errors.
    """
    array = as_demand(demand)
    if int(holdout) != holdout or holdout < 0:
        raise ValueError(f"holdout must be a whole number of periods ≥ 0, got {holdout!r}.")
    holdout = int(holdout)
    alphas = np.array([check_constant(alpha, "alpha") for alpha in alphas], dtype=np.float64)
    if alphas.size == 0:
        raise ValueError("Give at least one alpha to try.")
    items, periods = array.shape
    kinds = classify(array)
    method = np.full(items, "none", dtype="<U5")
    alpha, beta, forecast = np.full(items, np.nan), np.full(items, np.nan), np.zeros(items)
    mae, bias = np.full(items, np.nan), np.full(items, np.nan)
    naive_mae, naive_bias = np.full(items, np.nan), np.full(items, np.nan)
    backtest = holdout > 0 and periods >= holdout + NAIVE_WINDOW
    if not backtest:
        alphas = np.array([DEFAULT_ALPHA])
    for methods, rows in (
        (("ses",), np.isin(kinds.pattern, ("smooth", "erratic"))),
        (("sba", "tsb"), np.isin(kinds.pattern, INTERMITTENT)),
    ):
        if not rows.any():
            continue
        if backtest:
            chosen, alpha[rows], mae[rows], bias[rows], forecast[rows] = _choose(
                array, rows, methods, alphas, holdout
            )
        else:
            chosen = np.zeros(rows.sum(), dtype=int)
            alpha[rows] = alphas[0]
            forecast[rows] = _run(methods[0], array[rows], *_constants(alphas), periods)[0, :, -1]
        method[rows] = np.array(methods)[chosen]
        if methods != ("ses",):
            beta[rows] = alpha[rows]
    if backtest:
        naive_mae, naive_bias = naive_errors(array, holdout)
        none = kinds.pattern == "none"
        mae[none], bias[none] = 0.0, 0.0
    return ForecastBatch(
        pattern=kinds.pattern,
        adi=kinds.adi,
        cv2=kinds.cv2,
        method=method,
        alpha=alpha,
        beta=beta,
        forecast=forecast,
        mae=mae,
        bias=bias,
        naive_mae=naive_mae,
        naive_bias=naive_bias,
    )
