"""Timing helpers the measurements share: percentiles, summaries, concurrent runs."""

import threading
import time
from collections.abc import Callable


def percentile(values: list[float], q: float) -> float:
    """Return the nearest-rank ``q``-th percentile of ``values`` (NaN when empty)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summarize(samples_ms: list[float]) -> dict:
    """Return the count, p50, p95 and maximum of latencies in milliseconds."""
    return {
        "n": len(samples_ms),
        "p50_ms": round(percentile(samples_ms, 50), 2),
        "p95_ms": round(percentile(samples_ms, 95), 2),
        "max_ms": round(max(samples_ms), 2) if samples_ms else None,
    }


def run_concurrently(target: Callable[[int], None], count: int) -> float:
    """Run ``target(n)`` in ``count`` threads at once; return the seconds until all ended."""
    started = time.perf_counter()
    pool = [threading.Thread(target=target, args=(n,)) for n in range(count)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return time.perf_counter() - started
