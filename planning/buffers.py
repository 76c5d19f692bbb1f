"""Safety stock, reorder point and the service a buffer buys, under normal demand.

Pure Python and numpy, no Django. All quantities share one time unit (a day in the
plan): ``d_mean``/``d_sd`` are demand per period and its standard deviation,
``lt_mean``/``lt_sd`` the lead time in periods and its standard deviation. Demand over
the lead time is taken as normal with mean d̄·L̄ and standard deviation

    σ_DL = √(L̄·σd² + d̄²·σL²)

(independent per-period demand and lead time; e.g. Chopra & Meindl, "Supply Chain
Management", ch. 12, "Impact of lead time uncertainty on safety inventory"). Then
SS = z·σ_DL, ROP = d̄·L̄ + SS, and with k = SS/σ_DL the expected units short per
replenishment cycle are ESC = σ_DL·G(k), where G(k) = φ(k) − k·(1 − Φ(k)) is the
standard normal loss function, and the fill rate is 1 − ESC/Q for an order quantity Q.
``statistics.NormalDist`` gives φ, Φ and Φ⁻¹ to double precision, so scipy is not needed.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

STANDARD_NORMAL = NormalDist()
COST_CURVE_LEVELS = (0.80, 0.85, 0.90, 0.95, 0.975, 0.98, 0.99, 0.995, 0.999)


def _check(value, name: str, *, positive: bool = False) -> float:
    """Return ``value`` as a float after checking it is a finite number ≥ 0 (or > 0)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}.") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")
    if number < 0 or (positive and number == 0):
        bound = "above 0" if positive else "0 or more"
        raise ValueError(f"{name} must be {bound}, got {number:g}.")
    return number


def z_for(service_level: float) -> float:
    """Return the standard normal quantile z of a cycle service level (a fraction)."""
    level = _check(service_level, "service level")
    if not 0 < level < 1:
        raise ValueError(
            f"service level must be a fraction between 0 and 1 (e.g. 0.95), got {level:g}."
        )
    return STANDARD_NORMAL.inv_cdf(level)


def sd_during_lead_time(d_mean, d_sd, lt_mean, lt_sd=0.0) -> float:
    """Return σ_DL = √(L̄·σd² + d̄²·σL²), the standard deviation of lead-time demand."""
    d_mean, d_sd = _check(d_mean, "demand mean"), _check(d_sd, "demand sd")
    lt_mean, lt_sd = _check(lt_mean, "lead time"), _check(lt_sd, "lead time sd")
    return math.sqrt(lt_mean * d_sd**2 + d_mean**2 * lt_sd**2)


def safety_stock(z, d_mean, d_sd, lt_mean, lt_sd=0.0) -> float:
    """Return z·√(L̄·σd² + d̄²·σL²) in units, unrounded."""
    return float(z) * sd_during_lead_time(d_mean, d_sd, lt_mean, lt_sd)


def safety_stock_array(z, d_mean, d_sd, lt_mean, lt_sd=0.0) -> np.ndarray:
    """Return z·√(L̄·σd² + d̄²·σL²) element-wise (arguments broadcast), unrounded.

    Inputs are not validated one by one (the plan checks its own arrays); a negative
    variance term cannot arise from non-negative inputs.
    """
    d_mean, d_sd = np.asarray(d_mean, dtype=np.float64), np.asarray(d_sd, dtype=np.float64)
    lt_mean, lt_sd = np.asarray(lt_mean, dtype=np.float64), np.asarray(lt_sd, dtype=np.float64)
    return np.asarray(z, dtype=np.float64) * np.sqrt(lt_mean * d_sd**2 + d_mean**2 * lt_sd**2)


def normal_loss(k: float) -> float:
    """Return the standard normal loss G(k) = φ(k) − k·(1 − Φ(k)), E[(X − k)⁺] for X ~ N(0,1).

    1 − Φ(k) is taken as erfc(k/√2)/2, which keeps its precision far into the tail.
    """
    k = float(k)
    return STANDARD_NORMAL.pdf(k) - k * 0.5 * math.erfc(k / math.sqrt(2.0))


_ERFC = np.frompyfunc(math.erfc, 1, 1)


def normal_loss_array(k) -> np.ndarray:
    """Return G(k) element-wise (the numpy version of ``normal_loss``)."""
    k = np.asarray(k, dtype=np.float64)
    upper = 0.5 * _ERFC(k / math.sqrt(2.0)).astype(np.float64)
    return np.exp(-0.5 * k * k) / math.sqrt(2.0 * math.pi) - k * upper


def z_for_array(service_levels) -> np.ndarray:
    """Return z for each service level (fractions); computed once per distinct level."""
    levels = np.asarray(service_levels, dtype=np.float64)
    if not ((levels > 0) & (levels < 1)).all():
        raise ValueError("Every service level must be a fraction between 0 and 1 (e.g. 0.95).")
    distinct, inverse = np.unique(levels, return_inverse=True)
    quantiles = np.array([STANDARD_NORMAL.inv_cdf(level) for level in distinct])
    return quantiles[inverse].reshape(levels.shape)


def _exactly_one(service_level, reorder_point) -> None:
    """Refuse unless exactly one of service level / reorder point is given."""
    if (service_level is None) == (reorder_point is None):
        raise ValueError("Give exactly one of a service level or a reorder point.")


def evaluate(
    d_mean,
    d_sd,
    lt_mean,
    lt_sd=0.0,
    service_level=None,
    reorder_point=None,
    order_quantity=None,
) -> dict:
    """Return safety stock, reorder point, cycle service level, ESC and fill rate.

    Give a service level (a fraction, 0 < p < 1) to size the buffer, or a reorder
    point to see what service it gives. Safety stock is unrounded here (negative when
    the reorder point is below the mean lead-time demand). ``fill_rate`` is None without
    an order quantity. Bad input raises ValueError with a plain message.
    """
    _exactly_one(service_level, reorder_point)
    sigma = sd_during_lead_time(d_mean, d_sd, lt_mean, lt_sd)
    mean = float(d_mean) * float(lt_mean)
    if order_quantity is not None:
        order_quantity = _check(order_quantity, "order quantity", positive=True)
    if service_level is not None:
        z = z_for(service_level)
        if sigma == 0:
            raise ValueError(
                "Demand over the lead time does not vary (σd and σL give σ_DL = 0): "
                "no service level can size a buffer; set a reorder point instead."
            )
        stock, cycle, shortage = z * sigma, float(service_level), sigma * normal_loss(z)
    else:
        rop = _check(reorder_point, "reorder point")
        stock = rop - mean
        if sigma == 0:
            cycle, shortage = (1.0, 0.0) if stock >= 0 else (0.0, -stock)
        else:
            k = stock / sigma
            cycle, shortage = STANDARD_NORMAL.cdf(k), sigma * normal_loss(k)
    return {
        "safety_stock": stock,
        "reorder_point": mean + stock,
        "cycle_service_level": cycle,
        "expected_shortage_per_cycle": shortage,
        "fill_rate": None if order_quantity is None else 1.0 - shortage / order_quantity,
    }


def cost_curve(
    d_mean,
    d_sd,
    lt_mean,
    lt_sd,
    unit_cost,
    holding_rate,
    order_quantity,
    levels=COST_CURVE_LEVELS,
) -> list[dict]:
    """Return, per service level, the whole-unit safety stock, its yearly cost and service.

    ``safety_stock`` is rounded up to whole units and the shortage and fill rate are
    those of that rounded buffer (what the buyer would actually hold);
    ``yearly_holding_cost`` = safety stock × unit cost × holding rate (a fraction per
    year, e.g. 0.25), in the currency of ``unit_cost``.
    """
    unit_cost = _check(unit_cost, "unit cost")
    holding_rate = _check(holding_rate, "holding rate")
    order_quantity = _check(order_quantity, "order quantity", positive=True)
    sigma = sd_during_lead_time(d_mean, d_sd, lt_mean, lt_sd)
    if sigma == 0:
        raise ValueError("Demand over the lead time does not vary (σ_DL = 0): no curve to draw.")
    points = []
    for level in levels:
        z = z_for(level)
        stock = max(0, math.ceil(z * sigma - 1e-9))
        shortage = sigma * normal_loss(stock / sigma)
        points.append(
            {
                "service_level": float(level),
                "z": z,
                "safety_stock": stock,
                "yearly_holding_cost": stock * unit_cost * holding_rate,
                "expected_shortage_per_cycle": shortage,
                "fill_rate": 1.0 - shortage / order_quantity,
            }
        )
    return points
