"""ABC and XYZ classes: the one place the advisor, the reports and the dashboard agree on.

Pure functions over plain dicts keyed by product id; no database.

**ABC** by consumption value (units consumed × unit cost over a period, a year by
default): sort products by value, largest first (ties by product id so the result is
stable); a product's cumulative share is the running total *including itself* divided
by the grand total. A: cumulative share ≤ 80 %; B: ≤ 95 % (the next 15 %); C: the rest
(the last 5 %), and every product with no consumption value. So the product that
crosses 80 % is already a B — the convention of the worked example cited in
``planning/tests/test_classes.py`` (16 items, cut-offs 80 % and 95 %) — except the
largest product, which is always A (alone it is 100 % of the value: a shop, or a
warehouse, with one selling product would otherwise have no A at all). When nothing was
consumed at all, every product is C.

**XYZ** by demand variability, the coefficient of variation (standard deviation ÷
mean) of weekly demand: X (steady) CV ≤ 0.5, Y (varying) 0.5 < CV ≤ 1.0, Z (erratic)
CV > 1.0 — and Z when there is no CV (no demand in the period, mean 0).
"""

from collections.abc import Mapping
from decimal import Decimal

A_SHARE = Decimal("0.80")
B_SHARE = Decimal("0.95")
X_CV = 0.5
Y_CV = 1.0


def abc_classes(values: Mapping[int, Decimal | float | int]) -> dict[int, str]:
    """Return "A", "B" or "C" per product id from its consumption value.

    Exact (``Decimal``) arithmetic when any value is a ``Decimal``, else floats (a page
    classing 50,000 products from float plan figures).
    """
    number = Decimal if any(isinstance(v, Decimal) for v in values.values()) else float
    amounts = {product_id: number(value or 0) for product_id, value in values.items()}
    ordered = sorted(amounts.items(), key=lambda item: (-item[1], item[0]))
    total = sum(amounts.values(), number(0))
    a_limit, b_limit = number(A_SHARE) * total, number(B_SHARE) * total
    classes: dict[int, str] = {}
    running = number(0)
    for product_id, value in ordered:
        running += value
        if value <= 0 or total <= 0:
            classes[product_id] = "C"
        elif running <= a_limit or running == value:  # the largest is always A
            classes[product_id] = "A"
        elif running <= b_limit:
            classes[product_id] = "B"
        else:
            classes[product_id] = "C"
    return classes


def xyz_class(cv: float | None, x_cv: float = X_CV, y_cv: float = Y_CV) -> str:
    """Return "X", "Y" or "Z" for one coefficient of variation (None: no demand → Z).

    ``x_cv``/``y_cv``: the upper bounds of X and Y (ours suit weekly demand; sources that
    class monthly or yearly totals use lower ones, e.g. 0.10 and 0.25).
    """
    if cv is None or cv != cv:  # None or NaN
        return "Z"
    if cv <= x_cv:
        return "X"
    if cv <= y_cv:
        return "Y"
    return "Z"


def xyz_classes(
    cv: Mapping[int, float | None], x_cv: float = X_CV, y_cv: float = Y_CV
) -> dict[int, str]:
    """Return "X", "Y" or "Z" per product id from the CV of its weekly demand."""
    return {product_id: xyz_class(value, x_cv, y_cv) for product_id, value in cv.items()}
