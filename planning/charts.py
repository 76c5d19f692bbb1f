"""Server-drawn SVG charts: coordinates in a fixed view box, drawn by templates.

Like ``planning.curve``: no JavaScript, no inline style (strict CSP), the SVG scales to
its container (legible at 390 px: text is sized in view-box units that stay ≥ 10 px at
that width), and every number is also in a table beside the chart and in ``<title>``s.
Each series is one ``<g class="series">`` so a test can count them.
"""

from collections.abc import Sequence

WIDTH, HEIGHT = 400, 220
LEFT, RIGHT, TOP, BOTTOM = 8, 392, 24, 196
BAR_HEIGHT, BAR_GAP, LABEL_WIDTH = 18, 6, 120


def _scale(value: float, high: float) -> float:
    return round(BOTTOM - (value / (high or 1.0)) * (BOTTOM - TOP), 1)


def _segments(points: list[tuple[float, float | None]]) -> list[str]:
    """Polyline point lists, broken where a value is missing."""
    segments, current = [], []
    for x, y in points:
        if y is None:
            if current:
                segments.append(" ".join(current))
            current = []
        else:
            current.append(f"{x},{y}")
    if current:
        segments.append(" ".join(current))
    return segments


def line_chart(labels: Sequence[str], series: Sequence[dict]) -> dict:
    """Lines over shared x ``labels``; each series ``{"name", "key", "values"}`` (``None``
    where it has no value). The y axis starts at 0 and ends at the largest value."""
    count = len(labels)
    values = [v for s in series for v in s["values"] if v is not None]
    if not count or not values:
        return {"series": [], "labels": list(labels)}
    high = max(max(values), 0) or 1.0
    step = (RIGHT - LEFT) / max(count - 1, 1)
    xs = [round(LEFT + index * step, 1) for index in range(count)]
    drawn = []
    for one in series:
        ys = [None if v is None else _scale(float(v), high) for v in one["values"]]
        drawn.append(
            {
                "name": one["name"],
                "key": one["key"],
                "paths": _segments(list(zip(xs, ys, strict=True))),
                "last": next((v for v in reversed(one["values"]) if v is not None), None),
            }
        )
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "top": TOP,
        "bottom": BOTTOM,
        "high": high,
        "series": drawn,
        "labels": list(labels),
        "first_label": labels[0],
        "last_label": labels[-1],
    }


def bar_chart(rows: Sequence[dict], key: str = "value") -> dict:
    """Horizontal bars, one per row (``{"label", key}``), longest = the largest value."""
    if not rows:
        return {"bars": []}
    high = max(float(row[key]) for row in rows) or 1.0
    span = WIDTH - LABEL_WIDTH - 76  # room after the bar for a value of nine characters
    bars = []
    for index, row in enumerate(rows):
        y = TOP + index * (BAR_HEIGHT + BAR_GAP)
        length = round(float(row[key]) / high * span, 1)
        bars.append(
            {
                **row,
                "value": row[key],
                "y": y,
                "text_y": y + BAR_HEIGHT - 5,
                "length": max(length, 1.0),
                "end": round(LABEL_WIDTH + length + 4, 1),
            }
        )
    return {
        "width": WIDTH,
        "height": TOP + len(rows) * (BAR_HEIGHT + BAR_GAP) + 4,
        "label_width": LABEL_WIDTH,
        "bar_height": BAR_HEIGHT,
        "bars": bars,
    }
