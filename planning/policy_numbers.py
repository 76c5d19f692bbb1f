"""The effective policy of each product × warehouse and its numbers, vectorised.

Defaults when no ``Policy`` row exists: a dropship product → ``dropship``; less than a
third of ``history_days`` days of demand history → ``manual`` with a buffer of 0;
otherwise ``safety_stock`` at 95 %. A dropship product is always planned as dropship,
whatever its row says (it is never stocked).

Per policy, with position = available + incoming − open demand:

- safety_stock: SS = ⌈z·√(L̄·σd² + d̄²·σL²)⌉, ROP = ⌈d̄·L̄ + SS⌉, order up to
  ROP + ⌈d̄·review period⌉ (capped by the policy's maximum when set); when position ≤ ROP
  suggest order-up-to − position;
- manual: the same with SS = the manual buffer;
- jit: suggest the shortfall open demand − (available + incoming) when it is > 0;
- min_max: when available + incoming ≤ min, suggest max − (available + incoming);
- dropship: never a suggestion.
"""

from dataclasses import dataclass

import numpy as np

from planning import buffers
from planning.models import Policy

Kind = Policy.Kind
DEFAULTS = {
    "kind": Kind.SAFETY_STOCK,
    "service_level": 95.0,
    "review_period_days": 7,
    "history_days": 90,
    "minimum": None,
    "maximum": None,
    "manual_buffer": 0,
}


@dataclass
class Settings:
    """The effective policy of every row, as arrays."""

    kind: np.ndarray  # object array of Kind values
    is_default: np.ndarray
    service_level: np.ndarray
    review_days: np.ndarray
    history_days: np.ndarray
    minimum: np.ndarray  # -1 where unset
    maximum: np.ndarray  # -1 where unset
    manual_buffer: np.ndarray


def effective(keys, rows: dict[int, dict], dropship: np.ndarray, days_seen: np.ndarray):
    """The policy of each key: its row, or the defaults (see the module docstring)."""
    count = len(keys)
    values = {name: [None] * count for name in DEFAULTS}
    is_default = np.ones(count, dtype=bool)
    for index, key in enumerate(keys.tolist()):
        row = rows.get(key)
        if row is not None:
            is_default[index] = False
        for name, default in DEFAULTS.items():
            value = row[name] if row is not None else default
            values[name][index] = value
    kind = np.asarray(values["kind"], dtype=object)
    history_days = np.asarray(values["history_days"], dtype=np.int64)
    new = is_default & (days_seen * 3 < history_days)
    kind[new] = Kind.MANUAL
    kind[dropship] = Kind.DROPSHIP

    def ints(name):
        return np.asarray([-1 if v is None else v for v in values[name]], dtype=np.int64)

    return Settings(
        kind=kind,
        is_default=is_default,
        service_level=np.asarray(values["service_level"], dtype=np.float64),
        review_days=ints("review_period_days"),
        history_days=history_days,
        minimum=ints("minimum"),
        maximum=ints("maximum"),
        manual_buffer=ints("manual_buffer"),
    )


@dataclass
class Numbers:
    z: np.ndarray  # nan where the policy has no service level
    safety_stock: np.ndarray
    reorder_point: np.ndarray
    order_up_to: np.ndarray
    need: np.ndarray  # before rounding to pack size and minimum order


def _ceil(values: np.ndarray) -> np.ndarray:
    # A hair of tolerance so 12.000000001 from floating point stays 12.
    return np.ceil(np.round(values, 6)).astype(np.int64)


def z_values(service_level: np.ndarray) -> np.ndarray:
    """z of each service level (percent), computed once per distinct level."""
    z = np.empty(len(service_level))
    for level in np.unique(service_level):
        z[service_level == level] = buffers.z_for(float(level) / 100)
    return z


def compute(policy: Settings, demand, sd_demand, lead, sd_lead, position) -> Numbers:
    """Safety stock, reorder point, order-up-to and the raw need of every row.

    ``position`` holds arrays ``available``, ``incoming``, ``open_demand``.
    """
    kind = policy.kind
    safety = kind == Kind.SAFETY_STOCK
    manual = kind == Kind.MANUAL
    z = np.where(safety, z_values(policy.service_level), np.nan)
    ss_raw = buffers.safety_stock_array(np.nan_to_num(z), demand, sd_demand, lead, sd_lead)
    ss = np.where(safety, _ceil(ss_raw), 0)
    ss = np.where(manual, np.maximum(policy.manual_buffer, 0), ss)
    rop = np.where(safety | manual, _ceil(demand * lead + ss), 0)
    up_to = rop + _ceil(demand * np.maximum(policy.review_days, 0))
    capped = policy.maximum >= 0
    up_to = np.where(capped & (safety | manual), np.minimum(up_to, policy.maximum), up_to)
    up_to = np.maximum(up_to, rop)
    on_hand_side = position["available"] + position["incoming"]
    net = on_hand_side - position["open_demand"]
    need = np.zeros(len(kind), dtype=np.int64)
    buffered = (safety | manual) & (net <= rop)
    need[buffered] = (up_to - net)[buffered]
    jit = kind == Kind.JIT
    need[jit] = np.maximum(-net, 0)[jit]
    min_max = kind == Kind.MIN_MAX
    low = np.maximum(policy.minimum, 0)
    high = np.maximum(policy.maximum, low)
    rop = np.where(min_max, low, rop)
    up_to = np.where(min_max, high, up_to)
    trigger = min_max & (on_hand_side <= low)
    need[trigger] = (high - on_hand_side)[trigger]
    need = np.maximum(need, 0)
    return Numbers(z, ss, rop, up_to, need)
