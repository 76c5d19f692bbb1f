"""ABC and XYZ classes (planning/classes.py) on a published worked example and at the cut-offs.

The ABC example: "Perform an ABC analysis and identify A, B and C class items using 80%
and 95% as cut-off points", HomeworkSource, https://homeworksource.com/p/1006462/ — 16
items, annual demand × unit price = usage in $, total $98,251; its solution table
classes items 5, 15, 12 as A (cumulative 37.0 %, 59.9 %, 72.6 %), items 1, 9, 8, 3, 11, 7
as B (81.8 % … 94.4 %; item 1 crosses 80 % and is B) and items 16, 4, 6, 14, 13, 2, 10
as C (96.3 % … 100 %).

The XYZ example: "Как провести XYZ-анализ" (How to run an XYZ analysis), fin-ctrl.ru,
https://fin-ctrl.ru/blog/short-kak-provesty-xyz-analyz — monthly sales of two items, the
mean and the population standard deviation (Excel СТАНДОТКЛОНП) published: apples mean
70.5, σ 7.5 → CV 10.6 % → Y; bananas mean 63.7, σ 3.4 → CV 5.3 % → X, with the source's
cut-offs X < 10 % ≤ Y ≤ 25 % < Z (ours, for weekly demand, are 50 % and 100 %).
"""

from decimal import Decimal

from planning.classes import abc_classes, xyz_class, xyz_classes

# item: (annual demand in units, unit price in $) as published.
PUBLISHED = {
    1: (1480, "6.1"),
    2: (1680, "0.15"),
    3: (10120, "0.2"),
    4: (3520, "0.4"),
    5: (3830, "9.5"),
    6: (4368, "0.25"),
    7: (4180, "0.45"),
    8: (3590, "0.9"),
    9: (4820, "0.7"),
    10: (6000, "0.02"),
    11: (1900, "1.01"),
    12: (2980, "4.2"),
    13: (1050, "0.3"),
    14: (1100, "0.44"),
    15: (710, "31.6"),
    16: (4700, "0.38"),
}
PUBLISHED_CLASSES = {
    "A": {5, 15, 12},
    "B": {1, 9, 8, 3, 11, 7},
    "C": {16, 4, 6, 14, 13, 2, 10},
}


def test_the_published_worked_example_gets_the_published_classes():
    values = {item: units * Decimal(price) for item, (units, price) in PUBLISHED.items()}
    assert round(sum(values.values())) == 98251  # the published total
    classes = abc_classes(values)
    got = {cls: {item for item, c in classes.items() if c == cls} for cls in "ABC"}
    assert got == PUBLISHED_CLASSES


def test_exactly_80_percent_is_still_a_and_exactly_95_still_b():
    classes = abc_classes({1: 80, 2: 15, 3: 5})
    assert classes == {1: "A", 2: "B", 3: "C"}
    classes = abc_classes({1: Decimal("60"), 2: Decimal("20.01"), 3: Decimal("14.99"), 4: 5})
    assert classes == {1: "A", 2: "B", 3: "B", 4: "C"}  # 80.01 % is already B


def test_the_largest_product_is_always_a():
    assert abc_classes({1: 10}) == {1: "A"}
    assert abc_classes({1: 90, 2: 10}) == {1: "A", 2: "C"}


def test_no_consumption_is_c_and_ties_are_stable_by_id():
    assert abc_classes({1: 0, 2: 0}) == {1: "C", 2: "C"}
    assert abc_classes({}) == {}
    assert abc_classes({7: 50, 3: 50, 9: 0}) == {3: "A", 7: "C", 9: "C"}


def test_xyz_cut_offs_and_no_demand():
    assert xyz_class(0.0) == "X"
    assert xyz_class(0.5) == "X"
    assert xyz_class(0.5001) == "Y"
    assert xyz_class(1.0) == "Y"
    assert xyz_class(1.01) == "Z"
    assert xyz_class(None) == "Z"
    assert xyz_class(float("nan")) == "Z"
    assert xyz_classes({1: 0.2, 2: 0.7, 3: 3.0}) == {1: "X", 2: "Y", 3: "Z"}


def test_floats_give_the_same_classes_as_decimals():
    values = {item: units * Decimal(price) for item, (units, price) in PUBLISHED.items()}
    assert abc_classes({k: float(v) for k, v in values.items()}) == abc_classes(values)
    assert abc_classes({1: 80.0, 2: 15.0, 3: 5.0}) == {1: "A", 2: "B", 3: "C"}


# item: (mean monthly demand, standard deviation, published CV %, published class)
PUBLISHED_XYZ = {
    "apples": (70.5, 7.5, 10.6, "Y"),
    "bananas": (63.7, 3.4, 5.3, "X"),
}


def test_the_published_xyz_example_gets_the_published_classes():
    cvs = {item: sd / mean for item, (mean, sd, _, _) in PUBLISHED_XYZ.items()}
    for item, (_, _, published_cv, _) in PUBLISHED_XYZ.items():
        assert round(cvs[item] * 100, 1) == published_cv
    classes = xyz_classes(cvs, x_cv=0.10, y_cv=0.25)  # the source's cut-offs
    assert classes == {item: row[3] for item, row in PUBLISHED_XYZ.items()}
    # With our weekly cut-offs both are steady.
    assert xyz_classes(cvs) == {"apples": "X", "bananas": "X"}
