"""Every CSV the project writes goes through one writer that defuses formula cells (issue 15)."""

import csv
import io
from datetime import date

import pytest
from django.core.management import call_command
from django.urls import reverse

from common.csvfiles import SafeWriter, safe_cell
from inventory import ledger
from inventory.admin import ProductAdmin
from inventory.models import Product
from inventory.resources import ProductResource

FORMULAS = ['=HYPERLINK("http://x")', "+cmd|' /C calc'!A0", "@SUM(A1:A9)", "-2+3", "\t=1", "\r=1"]


@pytest.mark.parametrize("cell", FORMULAS)
def test_every_formula_start_is_shown_as_text(cell):
    assert safe_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["plain", "", "-2", "-1.50", "+7", 5, -5, None, date(2030, 1, 1)])
def test_text_and_numbers_that_cannot_run_pass_unchanged(cell):
    assert safe_cell(cell) == cell


def test_the_writer_defuses_every_cell_of_every_row():
    out = io.StringIO()
    SafeWriter(out).writerows([FORMULAS, ["ok", -3, "-3"]])
    rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert rows == [["'" + cell for cell in FORMULAS], ["ok", "-3", "-3"]]


def _evil_products():
    return [
        Product.objects.create(sku=f"EVIL-{index}", name=formula)
        for index, formula in enumerate(FORMULAS[:4])
    ]


def test_the_admin_product_export_defuses_formulas(db):
    assert ProductAdmin.resource_classes == [ProductResource]
    _evil_products()
    rows = list(csv.DictReader(io.StringIO(ProductResource().export().csv)))
    assert [row["name"] for row in rows] == ["'" + cell for cell in FORMULAS[:4]]


def test_the_admin_export_page_defuses_formulas(client, admin_user):
    _evil_products()
    client.force_login(admin_user)
    url = reverse("admin:inventory_product_export")
    form = client.get(url).context["form"]
    data = {"format": "0", "resource": "0"}
    data.update({name: "on" for name in form.fields if name.startswith("productresource_")})
    response = client.post(url, data)
    assert response.status_code == 200, response.content[:500]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["name"] for row in rows] == ["'" + cell for cell in FORMULAS[:4]]


def _valuation_with_formula_sku(locations):
    # Bypasses the SKU validator on purpose: the writer must not trust the data.
    product = Product.objects.create(sku="=1+1", name="formula sku")
    ledger.receive(product=product, location=locations["bin1"], quantity=2, unit_cost=1)


def test_the_valuation_report_csv_defuses_formulas(client, manager, locations):
    _valuation_with_formula_sku(locations)
    client.force_login(manager)
    response = client.get(reverse("valuation_report"), {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert ["'=1+1", "2", "2.00"] in rows


def test_the_valuation_command_prints_defused_csv(locations):
    _valuation_with_formula_sku(locations)
    out = io.StringIO()
    call_command("valuation", stdout=out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert ["'=1+1", "2", "2.00"] in rows
