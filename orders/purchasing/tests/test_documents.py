"""The purchase order PDF and CSV the supplier receives."""

import base64
import csv
import io
import re
import zlib
from decimal import Decimal

import pytest
from reportlab.graphics.barcode import code128

from orders.models import SupplierProduct
from orders.purchasing import services as purchasing
from orders.purchasing.documents import money, order_csv, order_pdf, unit_cost_text


def pdf_text(pdf: bytes) -> str:
    """Return the content streams of a reportlab PDF (ASCII85 + Flate) as text."""
    parts = []
    for raw in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.DOTALL):
        raw = raw.strip()
        if raw.endswith(b"~>"):
            raw = base64.a85decode(raw[:-2])
        parts.append(zlib.decompress(raw).decode("latin-1"))
    # Text split into several show operators (around escaped characters) joined again.
    return "\n".join(parts).replace(") Tj (", "")


def test_the_pdf_is_an_a4_purchase_order(draft_order, settings):
    settings.STOCKROOM_CURRENCY = "CHF"
    draft_order.notes = "Deliver to gate 2"
    draft_order.save()
    pdf = order_pdf(draft_order)
    assert pdf.startswith(b"%PDF")
    assert b"/MediaBox [ 0 0 595.2756 841.8898 ]" in pdf  # A4 in points
    text = pdf_text(pdf)
    for fragment in [
        f"Purchase order {draft_order.number}",
        "Acme Trading",
        "orders@acme.example",
        "Main warehouse \\(WH1\\)",
        "ACME-MUG",
        "MUG-001",
        "Enamel mug",
        "TEA-100",
        "2.50",
        "25.00",
        "24.00",
        "CHF 49.00",
        "Unit cost \\(CHF\\)",
        "Deliver to gate 2",
    ]:
        assert fragment in text, fragment


def test_the_pdf_carries_a_code_128_barcode_of_the_number(draft_order):
    text = pdf_text(order_pdf(draft_order))
    # The human-readable line under the bars, and one filled rectangle per bar.
    assert f"({draft_order.number}) Tj" in text
    bars = code128.Code128(draft_order.number)
    bars.validate()
    bars.encode()
    bars.decompose()
    expected_bars = sum(1 for i, c in enumerate(bars.decomposed) if i % 2 == 0 and c)
    assert text.count(" re f") >= expected_bars > 20


def test_the_pdf_shows_rounding_notes_and_escapes_markup(empty_order, supplier):
    from inventory.models import Product

    product = Product.objects.create(sku="AMP-1", name="Salt & <b>pepper</b>")
    SupplierProduct.objects.create(supplier=supplier, product=product, unit_cost="1", pack_size=6)
    purchasing.set_line(order=empty_order, product=product, quantity=7)
    text = pdf_text(order_pdf(empty_order))
    assert "Salt & <b>pepper</b>" in text
    assert "Rounded up from 7 to 12: packs of 6" in text


def test_the_pdf_of_an_order_without_lines_still_renders(empty_order):
    assert order_pdf(empty_order).startswith(b"%PDF")


@pytest.fixture
def empty_order(supplier, warehouse):
    return purchasing.create_order(supplier=supplier, warehouse=warehouse)


def test_the_csv_has_one_row_per_line(draft_order):
    rows = list(csv.reader(io.StringIO(order_csv(draft_order))))
    assert rows == [
        ["supplier_sku", "sku", "name", "quantity", "unit_cost", "line_total"],
        ["ACME-MUG", "MUG-001", "Enamel mug", "10", "2.50", "25.00"],
        ["ACME-TEA", "TEA-100", "Green tea 100 g", "20", "1.20", "24.00"],
    ]


def test_the_csv_keeps_precise_costs_and_defuses_formulas(empty_order, supplier):
    from inventory.models import Product

    product = Product.objects.create(sku="X-1", name='=HYPERLINK("evil"), "quoted"')
    SupplierProduct.objects.create(supplier=supplier, product=product, unit_cost="0.333333")
    purchasing.set_line(order=empty_order, product=product, quantity=3)
    rows = list(csv.reader(io.StringIO(order_csv(empty_order))))
    assert rows[1] == ["", "X-1", '\'=HYPERLINK("evil"), "quoted"', "3", "0.333333", "1.00"]


@pytest.mark.parametrize(
    ("value", "text"),
    [("2.5", "2.50"), ("2.500000", "2.50"), ("1.125", "1.125"), ("0", "0.00"), ("10", "10.00")],
)
def test_unit_costs_show_at_least_cents(value, text):
    assert unit_cost_text(Decimal(value)) == text


def test_money_rounds_half_up_to_cents():
    assert money(Decimal("0.125")) == Decimal("0.13")
    assert money(Decimal("0.124999")) == Decimal("0.12")
