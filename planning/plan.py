"""The nightly plan: one ``PlanLine`` per product × warehouse, stored for pages to read.

``run_plan`` reads everything in a fixed handful of large queries (demand, moves,
balances, purchase lines, backorders, policies, offers, receipts — never one per
product), computes in numpy, and bulk-inserts the lines in batches. The previous done
runs keep their ``PlanRun`` row but lose their lines once the new run is done; a run
that fails is marked failed with its message and leaves the previous plan readable.
"""

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from common.statistics import analyze
from inventory.models import Product
from orders.purchasing.services import rounded_quantity
from planning import (
    advisor,
    cycle_counts,
    forecasting,
    history,
    leadtimes,
    policy_numbers,
    positions,
    snapshots,
)
from planning.models import NO_SUPPLIER_RANK, PlanLine, PlanRun, Policy, supplier_ranks
from warehouses.models import Warehouse

logger = logging.getLogger(__name__)

BATCH = 2_000
Progress = Callable[[PlanRun], None]


def jit_limits() -> tuple[float, float]:
    """σL/L̄ and late share above which JIT is flagged risky (settings, 0.25 and 0.20)."""
    return (
        float(getattr(settings, "STOCKROOM_JIT_MAX_LEAD_TIME_CV", 0.25)),
        float(getattr(settings, "STOCKROOM_JIT_MAX_LATE_SHARE", 0.20)),
    )


def _set_stage(run: PlanRun, progress: Progress | None, stage: str, done: int | None = None):
    run.stage = stage
    fields = ["stage"]
    if done is not None:
        run.done_count = done
        fields.append("done_count")
    # Autocommit: its own small transaction, so a page shows it while the run goes on.
    PlanRun.objects.filter(pk=run.pk).update(**{name: getattr(run, name) for name in fields})
    if progress is not None:
        progress(run)


def run_plan(as_of: date | None = None, progress: Progress | None = None) -> PlanRun:
    """Compute and store the plan as of ``as_of`` (default today); return its run.

    ``progress(run)`` is called at each stage and every few thousand lines. On failure
    the run is returned with status ``failed`` and its ``message``.
    """
    as_of = as_of or timezone.localdate()
    run = PlanRun.objects.create(as_of=as_of, stage="starting")
    try:
        _compute_and_store(run, progress)
    except Exception as exc:  # any failure must leave a readable record
        logger.exception("Plan %s failed", run.pk)
        PlanLine.objects.filter(run=run).delete()
        run.status = PlanRun.Status.FAILED
        run.message = f"{type(exc).__name__}: {exc}"[:2000]
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "message", "finished_at"])
        if progress is not None:
            progress(run)
        return run
    _snapshot(run)
    return run


def _snapshot(run: PlanRun) -> None:
    """Store the day's inventory snapshot and refresh the cycle-count schedule; a failure
    here leaves the plan as it is."""
    try:
        snapshots.write_snapshot(run.as_of, run)
        cycle_counts.refresh(run, run.as_of)
    except Exception:  # the plan is done and readable; the chart just misses a day
        logger.exception("Snapshot after plan %s failed", run.pk)


@dataclass
class Universe:
    """The pairs planned: keys (sorted), their product/warehouse ids, dropship flags."""

    keys: np.ndarray
    product: np.ndarray
    warehouse: np.ndarray
    dropship: np.ndarray


def _universe(candidates: np.ndarray) -> Universe:
    """Keep pairs of an active product and an active warehouse (two queries)."""
    products = dict(Product.objects.filter(active=True).order_by().values_list("id", "fulfilment"))
    warehouse_ids = set(Warehouse.objects.filter(active=True).values_list("id", flat=True))
    product, warehouse = history.split_key(candidates)
    keep = np.fromiter(
        (
            p in products and w in warehouse_ids
            for p, w in zip(product.tolist(), warehouse.tolist(), strict=True)
        ),
        dtype=bool,
        count=len(candidates),
    )
    dropship = np.fromiter(
        (products.get(p) == Product.Fulfilment.DROPSHIP for p in product[keep].tolist()),
        dtype=bool,
        count=int(keep.sum()),
    )
    return Universe(candidates[keep], product[keep], warehouse[keep], dropship)


@dataclass
class Inputs:
    universe: Universe
    demand: history.DemandHistory
    rows: np.ndarray  # row of each universe key in ``demand``
    position: dict[str, np.ndarray]
    policy_rows: dict[int, dict]


def _read(run: PlanRun, progress: Progress | None) -> Inputs:
    _set_stage(run, progress, "reading stock, orders and policies")
    today = timezone.localdate()
    defaults = history.channel_warehouses()
    stock = positions.stock(today)
    incoming = positions.incoming()
    backorders = positions.open_demand(defaults)
    policy_rows = positions.policies()
    extra = np.unique(
        np.concatenate(
            [
                stock.keys,
                incoming.keys,
                backorders.keys,
                np.fromiter(policy_rows, dtype=np.int64, count=len(policy_rows)),
            ]
        )
    )
    window = max([90, *(row["history_days"] for row in policy_rows.values())])
    _set_stage(run, progress, "reading demand history and stockout days")
    demand = history.load(run.as_of, days=window, extra_keys=extra)
    universe = _universe(demand.keys)
    keys = universe.keys
    position = {
        "on_hand": stock.on(keys, "on_hand"),
        "available": stock.on(keys, "available"),
        "incoming": incoming.on(keys, "incoming"),
        "incoming_draft": incoming.on(keys, "draft"),
        "open_demand": backorders.on(keys, "open_demand"),
    }
    return Inputs(universe, demand, demand.rows(keys), position, policy_rows)


FIT_FIELDS = ("adi", "cv2", "alpha", "beta", "mae", "bias", "naive_mae", "naive_bias")


def fit_weekly(weekly: np.ndarray, seen: np.ndarray) -> dict[str, np.ndarray]:
    """Forecast each row of ``weekly`` from its first recorded demand on.

    ``seen`` is each row's days of history (``DemandHistory.history_days``). Rows are
    fitted in groups of the same length, so weeks before a product first sold do not
    read as intermittent demand; rows without demand get pattern "none" and 0.
    """
    count = len(weekly)
    out = {
        "pattern": np.full(count, "none", dtype=object),
        "method": np.full(count, "", dtype=object),
        "forecast_daily": np.zeros(count),
        "weeks": np.zeros(count, dtype=np.int64),
    }
    for name in FIT_FIELDS:
        out[name] = np.full(count, np.nan)
    # Whole weeks only (a part week at the start would read as a drop), at least one.
    has_demand = weekly.sum(axis=1) > 0
    weeks = np.where(has_demand & (seen > 0), np.clip(seen // 7, 1, history.WEEKS), 0)
    out["weeks"] = weeks
    for length in np.unique(weeks[weeks > 0]):
        group = np.flatnonzero(weeks == length)
        batch = forecasting.fit(weekly[group][:, history.WEEKS - int(length) :])
        out["pattern"][group] = np.asarray(batch.pattern, dtype=object)
        out["method"][group] = np.asarray(batch.method, dtype=object)
        out["forecast_daily"][group] = np.asarray(batch.forecast, dtype=np.float64) / 7
        for name in FIT_FIELDS:
            out[name][group] = np.asarray(getattr(batch, name), dtype=np.float64)
    return out


def _compute_and_store(run: PlanRun, progress: Progress | None) -> None:
    inputs = _read(run, progress)
    universe = inputs.universe
    run.total_count = len(universe.keys)
    PlanRun.objects.filter(pk=run.pk).update(total_count=run.total_count)
    _set_stage(run, progress, f"forecasting {run.total_count} product × warehouse pairs")
    seen = inputs.demand.history_days[inputs.rows]
    fc = fit_weekly(inputs.demand.weekly[inputs.rows], seen)
    policy = policy_numbers.effective(universe.keys, inputs.policy_rows, universe.dropship, seen)
    # σd over the last N days, but not before the first recorded demand (those zeros are
    # days the product was not sold yet, not days without demand).
    window = np.zeros(len(inputs.demand.keys), dtype=np.int64)
    window[inputs.rows] = np.minimum(policy.history_days, seen)
    sd, stockouts = history.sd_daily(inputs.demand, window)
    sd, stockouts = sd[inputs.rows], stockouts[inputs.rows]
    lead = _lead_times(universe.product)
    numbers = policy_numbers.compute(
        policy, fc["forecast_daily"], sd, lead["mean"], lead["sd"], inputs.position
    )
    columns = {
        **fc,
        "sd": sd,
        "stockouts": stockouts,
        "history_days": np.minimum(seen, policy.history_days),
        **{f"lt_{name}": values for name, values in lead.items()},
    }
    _set_stage(run, progress, "writing plan lines", 0)
    _write(run, progress, inputs, policy, numbers, columns)
    _set_stage(run, progress, "storing the advisor's advice")
    advisor.store_advice(run)
    _finish(run, progress)


def _lead_times(product: np.ndarray) -> dict[str, np.ndarray]:
    """Lead time, offer and stated flag per row (two queries)."""
    stats = leadtimes.measured()
    offers = leadtimes.offers()
    count = len(product)
    out = {
        "mean": np.zeros(count),
        "sd": np.zeros(count),
        "receipts": np.zeros(count, dtype=np.int64),
        "late": np.zeros(count),
        "stated": np.ones(count, dtype=bool),
        "offer": np.full(count, None, dtype=object),
    }
    for index, product_id in enumerate(product.tolist()):
        offer, stated_days = offers.get(product_id, (None, None))
        found = leadtimes.lead_time(offer, stated_days, stats)
        out["mean"][index] = found.mean
        out["sd"][index] = found.sd
        out["receipts"][index] = found.receipts
        out["late"][index] = found.late_share
        out["stated"][index] = found.stated
        out["offer"][index] = offer
    return out


def _finish(run: PlanRun, progress: Progress | None) -> None:
    """Mark the run done and drop the lines of earlier finished runs, together.

    Only runs started before this one: a newer run that finished first stays the plan.
    """
    with transaction.atomic():
        PlanLine.objects.filter(
            run__lt=run.pk, run__status__in=(PlanRun.Status.DONE, PlanRun.Status.FAILED)
        ).delete()
        run.status = PlanRun.Status.DONE
        run.stage = "done"
        run.done_count = run.total_count
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "stage", "done_count", "finished_at"])
    # Every line of the plan is new: until ANALYZE the planner's statistics know none of
    # them (PostgreSQL estimated the new run at a handful of rows and the advisor's
    # filtered page took 237 ms instead of 103 ms until autovacuum caught up).
    analyze(PlanLine)
    if progress is not None:
        progress(run)


def _optional(values) -> list:
    """Floats as a list, NaN as None (SQL NULL)."""
    return [None if math.isnan(value) else value for value in np.asarray(values, float).tolist()]


def _suggest(need: int, kind: str, offer) -> tuple[int, str]:
    """Round a need to the offer's minimum order and pack size; say what happened."""
    if need <= 0 or kind == Policy.Kind.DROPSHIP:
        return 0, ""
    if offer is None:
        return need, "No active supplier offers this product: not rounded, order by hand."
    return rounded_quantity(need, offer)


def jit_warning(kind: str, offer, lead_mean: float, lead_sd: float, late: float):
    """Whether a JIT line is risky with its supplier, and the warning that says why."""
    if kind != Policy.Kind.JIT or offer is None:
        return False, ""
    max_cv, max_late = jit_limits()
    reasons = []
    if lead_mean > 0 and lead_sd / lead_mean > max_cv:
        reasons.append(f"its lead time varies (σL/L̄ = {lead_sd / lead_mean:.2f})")
    if late > max_late:
        reasons.append(f"it is often late ({late:.0%} of receipts)")
    if not reasons:
        return False, ""
    return True, f"JIT is risky with supplier {offer.supplier_code}: {' and '.join(reasons)}."


def _texts(policy, numbers, columns) -> dict[str, list]:
    """Suggested quantity, rounding note, JIT risk and warning of every row.

    Python per row only where there is something to say (a need, a JIT line, a default
    manual buffer); the rest take the defaults.
    """
    count = len(policy.kind)
    out = {
        "suggested_qty": [0] * count,
        "rounding_note": [""] * count,
        "jit_risky": [False] * count,
        "warning": [""] * count,
    }
    offers = columns["lt_offer"]
    kind = policy.kind
    for index in np.flatnonzero(numbers.need > 0).tolist():
        quantity, note = _suggest(int(numbers.need[index]), str(kind[index]), offers[index])
        out["suggested_qty"][index], out["rounding_note"][index] = quantity, note[:255]
    for index in np.flatnonzero(kind == Policy.Kind.JIT).tolist():
        risky, warning = jit_warning(
            Policy.Kind.JIT,
            offers[index],
            columns["lt_mean"][index],
            columns["lt_sd"][index],
            columns["lt_late"][index],
        )
        out["jit_risky"][index], out["warning"][index] = risky, warning[:255]
    for index in np.flatnonzero((kind == Policy.Kind.MANUAL) & policy.is_default).tolist():
        out["warning"][index] = (
            f"New product: less than {policy.history_days[index] // 3} days of history, "
            "so a manual buffer is used until there is enough."
        )
    return out


def _values(run, inputs: Inputs, policy, numbers, columns) -> dict[str, list]:
    """Every PlanLine column of every row, as lists in the order of the keys."""
    universe, position = inputs.universe, inputs.position
    offers = columns["lt_offer"].tolist()
    ranks = supplier_ranks()
    ints = {
        "product_id": universe.product,
        "warehouse_id": universe.warehouse,
        "history_days": columns["history_days"],
        "stockout_days": columns["stockouts"],
        "lead_time_receipts": columns["lt_receipts"],
        "safety_stock": numbers.safety_stock,
        "reorder_point": numbers.reorder_point,
        "order_up_to": numbers.order_up_to,
        **{name: position[name] for name in ("on_hand", "available", "incoming")},
        **{name: position[name] for name in ("incoming_draft", "open_demand")},
    }
    floats = {
        "forecast_daily": columns["forecast_daily"],
        "sd_daily_demand": columns["sd"],
        "lead_time_days": columns["lt_mean"],
        "sd_lead_time_days": columns["lt_sd"],
        "late_share": columns["lt_late"],
    }
    optional = {name: columns[name] for name in ("alpha", "beta")}
    optional |= {f"backtest_{name}": columns[name] for name in ("mae", "bias")}
    optional |= {name: columns[name] for name in ("naive_mae", "naive_bias")}
    optional["z"] = numbers.z
    optional["service_level"] = np.where(np.isnan(numbers.z), np.nan, policy.service_level)
    values = {
        "run_id": [run.pk] * len(offers),
        "supplier_product_id": [offer.pk if offer else None for offer in offers],
        "supplier_id": [offer.supplier_id if offer else None for offer in offers],
        "supplier_rank": [
            ranks.get(offer.supplier_id, NO_SUPPLIER_RANK) if offer else NO_SUPPLIER_RANK
            for offer in offers
        ],
        "unit_cost": [offer.unit_cost if offer else None for offer in offers],
        "policy": [str(kind) for kind in policy.kind.tolist()],
        "policy_is_default": policy.is_default.tolist(),
        "lead_time_stated": columns["lt_stated"].tolist(),
        "pattern": [str(text) for text in columns["pattern"].tolist()],
        "method": [str(text) for text in columns["method"].tolist()],
        **{name: np.asarray(array, dtype=np.int64).tolist() for name, array in ints.items()},
        **{name: np.asarray(array, dtype=float).tolist() for name, array in floats.items()},
        **{name: _optional(array) for name, array in optional.items()},
    }
    return values | _texts(policy, numbers, columns)


def _write(run, progress, inputs: Inputs, policy, numbers, columns) -> None:
    """Insert the lines with plain executemany in batches, reporting progress after each.

    Model instances and ``bulk_create`` cost ~1 ms a row here (45 fields); tuples
    straight to the cursor are an order of magnitude cheaper at 100,000 rows.
    """
    values = _values(run, inputs, policy, numbers, columns)
    names = list(values)
    table = connection.ops.quote_name(PlanLine._meta.db_table)
    columns_sql = ", ".join(
        connection.ops.quote_name(PlanLine._meta.get_field(name.removesuffix("_id")).column)
        if name.endswith("_id")
        else connection.ops.quote_name(PlanLine._meta.get_field(name).column)
        for name in names
    )
    sql = f"INSERT INTO {table} ({columns_sql}) VALUES ({', '.join(['%s'] * len(names))})"
    rows = list(zip(*(values[name] for name in names), strict=True))
    for start in range(0, len(rows), BATCH):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, rows[start : start + BATCH])
        _set_stage(run, progress, "writing plan lines", min(start + BATCH, len(rows)))
