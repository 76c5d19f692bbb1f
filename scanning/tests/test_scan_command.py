"""`manage.py scan CODE`: one JSON object, exit 0 for a resolved code and 1 otherwise."""

import json
import subprocess
import sys
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from inventory import ledger
from inventory.models import Product, ProductBarcode
from warehouses.models import Location, Warehouse

KEYS = [
    "kind",
    "sku",
    "gtin",
    "lot",
    "expires_on",
    "serial",
    "quantity",
    "location",
    "order",
    "message",
]


@pytest.fixture
def tea(db):
    product = Product.objects.create(
        sku="TEA-100", name="Green tea 100 g", gtin="4006381333931", tracking="lot_expiry"
    )
    ProductBarcode.objects.create(product=product, code="14006381333938", units=12)
    ledger.get_or_create_lot(product=product, code="L2401", expires_on=date(2026, 6, 30))
    return product


def scan(*args) -> tuple[int, dict]:
    out = StringIO()
    try:
        call_command("scan", *args, stdout=out)
        status = 0
    except SystemExit as exit:
        status = exit.code
    lines = out.getvalue().splitlines()
    assert len(lines) == 1, lines
    return status, json.loads(lines[0])


def test_a_gs1_label_prints_every_field_and_exits_0(tea):
    status, data = scan("]C10104006381333931|10L2401|17260600|21S-1")

    assert status == 0
    assert list(data) == KEYS
    assert data == {
        "kind": "product",
        "sku": "TEA-100",
        "gtin": "04006381333931",
        "lot": "L2401",
        "expires_on": "2026-06-30",
        "serial": "S-1",
        "quantity": 1,
        "location": None,
        "order": None,
        "message": "TEA-100 · Green tea 100 g, lot L2401.",
    }


def test_best_before_stands_in_for_a_missing_expiry(tea):
    assert scan("010400638133393115270100")[1]["expires_on"] == "2027-01-31"


def test_a_case_barcode_counts_its_units(tea):
    status, data = scan("0214006381333938373")

    assert (status, data["sku"], data["quantity"]) == (0, "TEA-100", 36)


def test_a_location_and_a_lot(tea):
    warehouse = Warehouse.objects.create(code="WH1", name="Main")
    Location.objects.create(warehouse=warehouse, code="A", barcode="WH1-A")

    status, data = scan("WH1-A")
    assert (status, data["kind"], data["location"]) == (0, "location", "WH1-A")
    status, data = scan("L2401")
    assert (status, data["kind"], data["sku"], data["expires_on"]) == (
        0,
        "lot",
        "TEA-100",
        "2026-06-30",
    )


def test_an_unknown_code_exits_1(tea):
    status, data = scan("123")

    assert status == 1
    assert data["kind"] == "unknown"
    assert data["message"] == "No product, location, lot or order has the code 123."


def test_an_unknown_gtin_still_shows_what_the_label_says(tea):
    status, data = scan("0109506000134352|10X|17260600")

    assert status == 1
    assert (data["kind"], data["gtin"], data["lot"], data["expires_on"]) == (
        "unknown",
        "09506000134352",
        "X",
        "2026-06-30",
    )


def test_an_invalid_code_exits_1_with_the_reason(tea):
    status, data = scan("4006381333932")

    assert status == 1
    assert data["kind"] == "invalid"
    assert data["message"] == "The check digit of GTIN 4006381333932 is wrong: it should be 1."


def test_the_separator_option(tea):
    assert scan("0104006381333931~10L2401", "--separator", "~")[1]["lot"] == "L2401"
    # Without the option "~" is no separator: the lot swallows the rest.
    assert scan("0104006381333931~10L2401")[0] == 1


def test_manage_py_scan_from_the_shell():
    """The real command line: stdout is one JSON line, the exit status is the verdict.

    A code refused on its own costs no query, so no database is needed here.
    """
    run = subprocess.run(
        [
            sys.executable,
            str(Path(settings.BASE_DIR) / "manage.py"),
            "scan",
            "]C10104006381333932",
        ],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "DEBUG": "1"},
        check=False,
        timeout=60,
    )

    assert run.returncode == 1, run.stderr
    assert json.loads(run.stdout) == {
        **dict.fromkeys(KEYS),
        "kind": "invalid",
        "quantity": 1,
        "message": "The check digit of GTIN 04006381333932 is wrong: it should be 1.",
    }
