"""Every number of a plan line in words, and a product's forecast report.

``explain(line)`` reads only the stored line (no recomputation, no query beyond the
line's own supplier product when it is not loaded yet); ``product_forecast_report(sku)``
runs the forecaster on one product's history for ``manage.py forecast SKU``.
"""

import math

import numpy as np
from django.utils import timezone

from inventory.models import Product
from planning import history
from planning.models import PlanLine, Policy
from planning.plan import fit_weekly

METHOD_NAMES = {
    "ses": "simple exponential smoothing",
    "croston": "Croston",
    "sba": "Croston-SBA",
    "tsb": "TSB",
    "none": "no forecast",
    "": "no forecast",
}


def _num(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _demand(line: PlanLine) -> str:
    if line.pattern in ("", "none"):
        return "d̄ = 0/day (no demand recorded in 104 weeks)"
    method = METHOD_NAMES.get(line.method, line.method)
    return f"d̄ = {_num(line.forecast_daily, 2)}/day ({method}, {line.pattern})"


def _spread(line: PlanLine) -> str:
    left_out = f" ({line.stockout_days} stockout days left out)" if line.stockout_days else ""
    return f"σd = {_num(line.sd_daily_demand, 2)} over {line.history_days} days{left_out}"


def _lead(line: PlanLine) -> str:
    if line.supplier_product_id is None:
        return "no supplier offers it: lead time 0"
    if line.lead_time_stated:
        count = line.lead_time_receipts
        receipts = f"only {count} receipt{'s' * (count != 1)}" if count else "no receipts yet"
        return f"L̄ = {_num(line.lead_time_days)} d stated ({receipts}, fewer than 3), σL = 0"
    late = f", {line.late_share:.0%} late" if line.late_share else ""
    return (
        f"L̄ = {_num(line.lead_time_days)} d, σL = {_num(line.sd_lead_time_days)} d "
        f"over {line.lead_time_receipts} receipts{late}"
    )


def _policy_numbers(line: PlanLine) -> str:
    kind = line.policy
    if kind == Policy.Kind.SAFETY_STOCK:
        return (
            f"z({_num(line.service_level)}%) = {_num(line.z, 3)} → SS = {line.safety_stock}, "
            f"ROP = d̄·L̄ + SS = {line.reorder_point}, order up to {line.order_up_to}"
        )
    if kind == Policy.Kind.MANUAL:
        return (
            f"manual buffer SS = {line.safety_stock} → ROP = d̄·L̄ + SS = {line.reorder_point}, "
            f"order up to {line.order_up_to}"
        )
    if kind == Policy.Kind.JIT:
        return "just in time: no buffer, order exactly the shortfall of open demand"
    if kind == Policy.Kind.MIN_MAX:
        return f"min / max: order up to {line.order_up_to} when at or below {line.reorder_point}"
    return "dropship: never stocked, the supplier ships each order; no suggestion"


def _position(line: PlanLine) -> str:
    incoming = f"incoming {line.incoming}"
    if line.incoming_draft:
        incoming += (
            f" ({line.incoming - line.incoming_draft} on sent orders, "
            f"{line.incoming_draft} on draft orders)"
        )
    net = line.available + line.incoming - line.open_demand
    return (
        f"on hand {line.on_hand}, available {line.available}, {incoming}, "
        f"open demand {line.open_demand} → position {net}"
    )


def _suggestion(line: PlanLine) -> str:
    if line.policy == Policy.Kind.DROPSHIP:
        return "nothing to order (dropship)"
    if not line.suggested_qty:
        return "nothing to order now"
    text = f"suggest {line.suggested_qty}"
    if line.rounding_note:
        text += f" ({line.rounding_note})"
    return text


def explain(line: PlanLine) -> list[str]:
    """The line's numbers with their inputs, one sentence each, in reading order."""
    sentences = [
        _demand(line),
        _spread(line),
        _lead(line),
        _policy_numbers(line),
        _position(line),
        _suggestion(line),
    ]
    if line.policy_is_default:
        sentences.append(f"policy {line.get_policy_display().lower()} is the default")
    if line.warning:
        sentences.append(line.warning)
    return sentences


def _rounded(values: dict, name: str) -> float | None:
    value = float(values[name][0])
    return None if math.isnan(value) else round(value, 4)


def product_forecast_report(sku: str) -> dict:
    """Pattern, method, parameters, forecast and backtest of one product (all warehouses).

    The same fit as the plan (``plan.fit_weekly``) on the product's weekly demand summed
    over its warehouses. Raises ``Product.DoesNotExist`` for an unknown SKU.
    """
    product = Product.objects.get(sku=sku)
    demand = history.load(timezone.localdate(), product_ids=[product.pk])
    if not len(demand.keys):
        return {"sku": product.sku, "pattern": "none", "method": "none", "weeks": 0}
    weekly = demand.weekly.sum(axis=0, keepdims=True)
    fitted = fit_weekly(weekly, demand.history_days.max(keepdims=True))
    weeks = int(fitted["weeks"][0])
    daily = float(fitted["forecast_daily"][0])
    return {
        "sku": product.sku,
        "weeks": weeks,
        "weeks_with_demand": int(np.count_nonzero(weekly[0, history.WEEKS - weeks :]))
        if weeks
        else 0,
        "pattern": str(fitted["pattern"][0]),
        "adi": _rounded(fitted, "adi"),
        "cv2": _rounded(fitted, "cv2"),
        "method": str(fitted["method"][0] or "none"),
        "alpha": _rounded(fitted, "alpha"),
        "beta": _rounded(fitted, "beta"),
        "forecast_weekly": round(daily * 7, 4),
        "forecast_daily": round(daily, 4),
        "backtest": {
            "holdout_weeks": 8,
            "mae": _rounded(fitted, "mae"),
            "bias": _rounded(fitted, "bias"),
            "naive_mae": _rounded(fitted, "naive_mae"),
            "naive_bias": _rounded(fitted, "naive_bias"),
        },
    }
