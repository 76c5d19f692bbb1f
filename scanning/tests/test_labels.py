"""Labels: drawn as PDF, rasterized with poppler's pdftoppm, decoded back with zxing-cpp."""

import re
import shutil
import subprocess
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import biip
import pytest
import zxingcpp
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from common.testing import text_of
from inventory import ledger
from inventory.models import Lot, Product
from scanning import label_views, labels
from warehouses.models import Location

GS = "\x1d"


# --- reading a PDF back as a scanner would ---------------------------------------------


def decode_pages(pdf: bytes) -> list[list[zxingcpp.Barcode]]:
    """Rasterize every page at 300 dpi and return the barcodes found on each."""
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm is missing: install Debian's poppler-utils (README, tests).")
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "labels.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", "300", "-png", str(source), str(Path(folder) / "page")],
            check=True,
        )
        pages = sorted(Path(folder).glob("page*.png"))
        return [
            zxingcpp.read_barcodes(Image.open(page), text_mode=zxingcpp.TextMode.Plain)
            for page in pages
        ]


def decoded_texts(pdf: bytes) -> list[str]:
    """Return what every barcode of the PDF reads as, page by page."""
    return [barcode.text for page in decode_pages(pdf) for barcode in page]


def gs1_fields(text: str) -> dict:
    """Parse a decoded GS1 element string with biip, as the scan resolver does."""
    message = biip.parse(text).gs1_message
    assert message is not None, f"not GS1: {text!r}"
    strings = message.element_strings
    expiry = strings.get(ai="17")
    return {
        "gtin": strings.get(ai="01").gtin.value,
        "lot": strings.get(ai="10").value,
        "expires_on": expiry.date if expiry else None,
    }


# --- data -------------------------------------------------------------------------------


@pytest.fixture
def gtin_lot_product(db):
    """A lot-tracked product with a GTIN, so its lots get GS1-128 labels."""
    return Product.objects.create(
        sku="TEA-GTIN",
        name="Green tea 250 g with a GTIN",
        gtin="5901234123457",
        tracking="lot_expiry",
        sell_price=Decimal("6.20"),
    )


@pytest.fixture
def short_lot(gtin_lot_product):
    return Lot.objects.create(product=gtin_lot_product, code="42", expires_on=date(2027, 2, 28))


@pytest.fixture
def long_lot(gtin_lot_product):
    # Letters and then digits shaped like an AI: only the separator keeps (17) apart.
    return Lot.objects.create(
        product=gtin_lot_product, code="ABC1233017", expires_on=date(2026, 11, 30)
    )


def code128_label(value: str) -> labels.Label:
    return labels.Label(labels.Symbol(labels.CODE128, value), title=value, caption=value)


# --- what a label says ------------------------------------------------------------------


def test_gs1_element_string_ends_the_lot_with_a_separator_only_when_a_field_follows():
    assert (
        labels.gs1_element_string(gtin="5901234123457", lot="A1", expires_on=date(2026, 3, 9))
        == "0105901234123457" + f"10A1{GS}17260309"
    )
    assert labels.gs1_element_string(gtin="05901234123457", lot="A1") == "010590123412345710A1"
    assert (
        labels.gs1_human_readable(gtin="05901234123457", lot="A1", expires_on=date(2026, 3, 9))
        == "(01)05901234123457(10)A1(17)260309"
    )


@pytest.mark.parametrize(
    ("gtin", "ean"),
    [
        ("04006381333931", "4006381333931"),  # EAN-13 stored as GTIN-14
        ("00036000291452", "0036000291452"),  # UPC-A is an EAN-13 with a leading 0
        ("10614141000415", None),  # a case GTIN-14: no EAN-13 for it
        (None, None),
    ],
)
def test_ean13_of_a_stored_gtin(gtin, ean):
    assert labels.ean13_of(gtin) == ean


def test_product_label_is_ean13_with_a_gtin_else_code128_of_the_sku(product, lot_product):
    with_gtin = labels.product_label(product, currency="EUR")
    assert with_gtin.symbol == labels.Symbol(labels.EAN13, "4006381333931")
    assert "EUR 9.90" in with_gtin.lines
    without = labels.product_label(lot_product, currency="EUR")
    assert without.symbol == labels.Symbol(labels.CODE128, "TEA-100")
    assert without.title == "Green tea 100 g"
    assert "EUR 4.50" in without.lines


def test_case_gtin_product_gets_code128_of_its_sku(db):
    case = Product.objects.create(sku="CASE-12", name="Case of 12", gtin="10614141000415")
    assert labels.product_label(case, currency="EUR").symbol.kind == labels.CODE128


def test_lot_without_gtin_gets_code128_of_the_lot_code_and_says_why(lot_product):
    lot = Lot.objects.create(product=lot_product, code="L-7", expires_on=date(2026, 5, 1))
    label = labels.lot_label(lot)
    assert label.symbol == labels.Symbol(labels.CODE128, "L-7")
    assert "Not GS1 (no GTIN): lot code only" in label.lines


def test_lot_code_gs1_cannot_carry_gets_code128(gtin_lot_product):
    lot = Lot.objects.create(product=gtin_lot_product, code="LOT WITH SPACES")
    label = labels.lot_label(lot)
    assert label.symbol.kind == labels.CODE128
    assert "Not GS1 (lot code not GS1): lot code only" in label.lines


def test_unknown_size_and_no_labels_are_refused_in_words():
    with pytest.raises(labels.LabelError, match="no label size “60x30”: use one of 50x25"):
        labels.label_size("60x30")
    with pytest.raises(labels.LabelError, match="no labels"):
        labels.render_pdf([], labels.SIZES["a4"])


def test_a_gs1_code_too_long_for_50x25_is_refused(long_lot):
    with pytest.raises(labels.LabelError) as caught:
        labels.render_pdf([labels.lot_label(long_lot)], labels.SIZES["50x25"])
    message = str(caught.value)
    assert "(01)05901234123457(10)ABC1233017(17)261130" in message
    assert "wider than 50 mm: choose a larger label size" in message


def page_sizes_mm(pdf: bytes) -> list[tuple[float, float]]:
    """Return each page's width and height in millimetres, from the PDF's media boxes."""
    boxes = re.findall(rb"/MediaBox \[ *0 0 ([\d.]+) ([\d.]+) *\]", pdf)
    return [(round(float(w) / 72 * 25.4, 1), round(float(h) / 72 * 25.4, 1)) for w, h in boxes]


@pytest.mark.parametrize(
    ("size", "pages"),
    [
        ("50x25", [(50.0, 25.0)] * 3),
        ("100x50", [(100.0, 50.0)] * 3),
        ("a4", [(210.0, 297.0)]),  # three labels share a sheet
    ],
)
def test_label_printers_get_one_label_per_page_and_sheets_a_grid(size, pages):
    pdf = labels.render_pdf([code128_label(f"X{n}") for n in range(3)], labels.SIZES[size])
    assert page_sizes_mm(pdf) == pages


# --- round trips: drawn, rasterized, decoded --------------------------------------------


@pytest.mark.parametrize("size", ["50x25", "100x50", "a4"])
def test_location_label_decodes_to_its_barcode(size, locations):
    pdf = labels.render_pdf([labels.location_label(locations["bin1"])], labels.SIZES[size])
    [[barcode]] = decode_pages(pdf)
    assert barcode.format == zxingcpp.BarcodeFormat.Code128
    assert barcode.text == "WH1-A-01"


@pytest.mark.parametrize("size", ["50x25", "100x50", "a4"])
def test_product_label_decodes_to_its_ean13(size, product):
    pdf = labels.render_pdf([labels.product_label(product, currency="EUR")], labels.SIZES[size])
    [[barcode]] = decode_pages(pdf)
    assert barcode.format == zxingcpp.BarcodeFormat.EAN13
    assert barcode.text == "4006381333931"


def test_upc_a_product_label_decodes_to_the_same_gtin(db):
    upc = Product.objects.create(sku="UPC-1", name="Cereal", gtin="036000291452")
    pdf = labels.render_pdf([labels.product_label(upc, currency="USD")], labels.SIZES["50x25"])
    [[barcode]] = decode_pages(pdf)
    assert barcode.text.zfill(14) == upc.gtin == "00036000291452"


@pytest.mark.parametrize("size", ["50x25", "100x50", "a4"])
def test_product_without_gtin_decodes_to_code128_of_its_sku(size, db):
    mug = Product.objects.create(sku="MUG/BLUE-XL", name="Blue mug", sell_price=Decimal("12"))
    pdf = labels.render_pdf([labels.product_label(mug, currency="EUR")], labels.SIZES[size])
    [[barcode]] = decode_pages(pdf)
    assert barcode.format == zxingcpp.BarcodeFormat.Code128
    assert barcode.text == "MUG/BLUE-XL"


@pytest.mark.parametrize(
    ("size", "lot_fixture"),
    [
        ("50x25", "short_lot"),
        ("100x50", "short_lot"),
        ("100x50", "long_lot"),
        ("a4", "long_lot"),
    ],
)
def test_lot_label_decodes_to_the_gs1_element_string(size, lot_fixture, request):
    lot = request.getfixturevalue(lot_fixture)
    pdf = labels.render_pdf([labels.lot_label(lot)], labels.SIZES[size])
    [[barcode]] = decode_pages(pdf)
    assert barcode.format == zxingcpp.BarcodeFormat.Code128
    assert barcode.symbology_identifier == "]C1"  # FNC1 first: GS1-128
    assert barcode.content_type == zxingcpp.ContentType.GS1
    expiry = f"{lot.expires_on:%y%m%d}"
    assert barcode.text == "0105901234123457" + f"10{lot.code}{GS}17{expiry}"
    assert gs1_fields(barcode.text) == {
        "gtin": "05901234123457",
        "lot": lot.code,
        "expires_on": lot.expires_on,
    }


def test_lot_label_without_expiry_holds_gtin_and_lot_only(gtin_lot_product):
    lot = Lot.objects.create(product=gtin_lot_product, code="B-77")
    [[barcode]] = decode_pages(labels.render_pdf([labels.lot_label(lot)], labels.SIZES["a4"]))
    assert barcode.text == "010590123412345710B-77"
    assert gs1_fields(barcode.text) == {
        "gtin": "05901234123457",
        "lot": "B-77",
        "expires_on": None,
    }


def test_lot_of_a_product_without_gtin_decodes_to_its_lot_code(lot_product):
    lot = Lot.objects.create(product=lot_product, code="L-7", expires_on=date(2026, 5, 1))
    [[barcode]] = decode_pages(labels.render_pdf([labels.lot_label(lot)], labels.SIZES["50x25"]))
    assert barcode.text == "L-7"
    assert barcode.content_type != zxingcpp.ContentType.GS1


def test_a4_sheet_of_n_labels_gives_n_barcodes_over_two_pages(warehouse):
    values = [f"WH1-BIN-{number:02d}" for number in range(30)]
    pdf = labels.render_pdf([code128_label(value) for value in values], labels.SIZES["a4"])
    pages = decode_pages(pdf)
    assert [len(page) for page in pages] == [24, 6]
    assert sorted(barcode.text for page in pages for barcode in page) == values


def test_label_printer_sizes_print_one_label_per_page(product, locations):
    items = [
        labels.location_label(locations["bin1"]),
        labels.product_label(product, currency="EUR"),
    ]
    pages = decode_pages(labels.render_pdf(items, labels.SIZES["100x50"]))
    assert [[barcode.text for barcode in page] for page in pages] == [
        ["WH1-A-01"],
        ["4006381333931"],
    ]


# --- the pages ----------------------------------------------------------------------------


@pytest.fixture
def clerk_client(client, clerk):
    client.force_login(clerk)
    return client


def assert_pdf(response, filename: str):
    assert response.status_code == 200, text_of(response)
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="{filename}"'
    assert response.content.startswith(b"%PDF-")


def test_location_label_page_answers_a_pdf_with_its_barcode(clerk_client, locations):
    url = reverse("location_labels", args=["WH1-A-02"])
    response = clerk_client.get(url, {"size": "50x25"})
    assert_pdf(response, "labels-WH1-A-02-50x25.pdf")
    assert decoded_texts(response.content) == ["WH1-A-02"]


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("location_labels", ["WH1-A-01"]),
        ("warehouse_labels", ["WH1"]),
        ("product_labels", ["MUG-001"]),
        ("product_list_labels", []),
        ("product_lot_labels", ["TEA-GTIN"]),
    ],
)
def test_label_pages_need_login_and_the_view_permission(
    name, args, client, django_user_model, locations, product, short_lot
):
    url = reverse(name, args=args)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    nobody = django_user_model.objects.create_user(username="norole", password="x-for-tests")
    client.force_login(nobody)
    assert client.get(url).status_code == 403


def test_lot_label_needs_the_lot_view_permission(client, django_user_model, short_lot):
    seller = django_user_model.objects.create_user(username="seller", password="x-for-tests")
    seller.user_permissions.add(Permission.objects.get(codename="view_product"))
    client.force_login(seller)
    assert client.get(reverse("lot_labels", args=[short_lot.pk])).status_code == 403


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("location_labels", ["NOPE"], "No location has the barcode “NOPE”."),
        ("warehouse_labels", ["NOPE"], "No warehouse has the code “NOPE”."),
        ("product_labels", ["NOPE/1"], "No product has the SKU “NOPE/1”."),
        ("product_lot_labels", ["NOPE"], "No product has the SKU “NOPE”."),
        ("lot_labels", [999999], "No lot has the id 999999."),
    ],
)
def test_unknown_objects_are_404_with_a_message(clerk_client, name, args, message):
    response = clerk_client.get(reverse(name, args=args))
    assert response.status_code == 404
    assert message in text_of(response)


def test_bad_size_is_400_naming_the_sizes(clerk_client, locations):
    response = clerk_client.get(reverse("location_labels", args=["WH1-A-01"]), {"size": "A5"})
    assert response.status_code == 400
    assert "There is no label size “A5”: use one of 50x25, 100x50, a4." in text_of(response)


def test_nothing_to_print_is_404_with_a_message(clerk_client, lot_product):
    response = clerk_client.get(reverse("product_lot_labels", args=["TEA-100"]))
    assert response.status_code == 404
    assert "There are no lots of TEA-100 to print labels for." in text_of(response)


def test_a_lot_too_long_for_the_size_is_400_with_the_reason(clerk_client, long_lot):
    response = clerk_client.get(reverse("lot_labels", args=[long_lot.pk]), {"size": "50x25"})
    assert response.status_code == 400
    assert "choose a larger label size" in text_of(response)


def test_lot_label_page_defaults_to_100x50(clerk_client, long_lot):
    response = clerk_client.get(reverse("lot_labels", args=[long_lot.pk]))
    assert_pdf(response, "labels-TEA-GTIN-ABC1233017-100x50.pdf")
    [text] = decoded_texts(response.content)
    assert gs1_fields(text)["lot"] == "ABC1233017"


def query_count(client, url: str, params: dict) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200, text_of(response)
    return len(queries)


# Session, user and the two permission reads, then one query per object looked up.
@pytest.mark.parametrize(
    ("name", "args", "queries"),
    [
        ("location_labels", ["WH1-A-01"], 5),
        ("warehouse_labels", ["WH1"], 6),
        ("product_labels", ["MUG-001"], 5),
        ("product_list_labels", [], 5),
        ("lot_labels", None, 5),
        ("product_lot_labels", ["TEA-GTIN"], 6),
    ],
)
def test_each_label_page_has_a_pinned_query_count(
    name, args, queries, clerk_client, locations, product, short_lot, django_assert_num_queries
):
    url = reverse(name, args=args if args is not None else [short_lot.pk])
    with django_assert_num_queries(queries):
        response = clerk_client.get(url, {"size": "a4"})
    assert response.status_code == 200, text_of(response)


def test_warehouse_labels_cost_the_same_queries_for_3_or_40_locations(
    clerk_client, warehouse, django_assert_max_num_queries
):
    for number in range(3):
        Location.objects.create(warehouse=warehouse, code=f"S{number}", barcode=f"WH1-S{number}")
    url = reverse("warehouse_labels", args=["WH1"])
    with django_assert_max_num_queries(6):
        response = clerk_client.get(url, {"size": "a4"})
    assert_pdf(response, "labels-WH1-a4.pdf")
    assert sorted(decoded_texts(response.content)) == ["WH1-S0", "WH1-S1", "WH1-S2"]
    few = query_count(clerk_client, url, {"size": "a4"})
    for number in range(3, 40):
        Location.objects.create(warehouse=warehouse, code=f"S{number}", barcode=f"WH1-S{number}")
    assert query_count(clerk_client, url, {"size": "a4"}) == few


def test_product_list_labels_follow_the_list_filters(
    clerk_client, product, lot_product, django_assert_max_num_queries
):
    url = reverse("product_list_labels")
    with django_assert_max_num_queries(5):
        response = clerk_client.get(url, {"q": "tea", "size": "a4", "page": "3"})
    assert_pdf(response, "labels-products-a4.pdf")
    assert decoded_texts(response.content) == ["TEA-100"]
    everything = clerk_client.get(url, {"size": "100x50"})
    assert decoded_texts(everything.content) == ["4006381333931", "TEA-100"]


def test_product_list_labels_queries_do_not_grow_with_the_list(clerk_client, product):
    url = reverse("product_list_labels")
    few = query_count(clerk_client, url, {"size": "a4"})
    Product.objects.bulk_create(
        Product(sku=f"P-{number:03d}", name=f"Product {number}") for number in range(40)
    )
    assert query_count(clerk_client, url, {"size": "a4"}) == few


def test_product_list_labels_refuse_more_than_the_cap(clerk_client, product, monkeypatch):
    Product.objects.bulk_create(Product(sku=f"P-{n}", name=f"Product {n}") for n in range(3))
    monkeypatch.setattr(label_views, "MAX_LABELS", 3)
    response = clerk_client.get(reverse("product_list_labels"))
    assert response.status_code == 400
    assert "more than 3 products in this list" in text_of(response)
    narrowed = clerk_client.get(reverse("product_list_labels"), {"q": "P-"})
    assert narrowed.status_code == 200


def test_product_label_page_with_a_slash_in_the_sku(clerk_client, db):
    Product.objects.create(sku="MUG/BLUE-XL", name="Blue mug")
    response = clerk_client.get(reverse("product_labels", args=["MUG/BLUE-XL"]))
    assert_pdf(response, "labels-MUG-BLUE-XL-50x25.pdf")
    assert decoded_texts(response.content) == ["MUG/BLUE-XL"]


def test_every_lot_of_a_product_on_one_sheet_in_constant_queries(
    clerk_client, gtin_lot_product, short_lot, long_lot
):
    url = reverse("product_lot_labels", args=["TEA-GTIN"])
    few = query_count(clerk_client, url, {"size": "a4"})
    response = clerk_client.get(url, {"size": "a4"})
    assert_pdf(response, "labels-TEA-GTIN-lots-a4.pdf")
    lots = sorted(gs1_fields(text)["lot"] for text in decoded_texts(response.content))
    assert lots == ["42", "ABC1233017"]
    Lot.objects.bulk_create(Lot(product=gtin_lot_product, code=f"X{n}") for n in range(20))
    assert query_count(clerk_client, url, {"size": "a4"}) == few


# --- the links on the pages --------------------------------------------------------------


def test_product_detail_links_the_product_and_lot_labels(clerk_client, gtin_lot_product):
    html = clerk_client.get(gtin_lot_product.get_absolute_url()).content.decode()
    assert f'href="{reverse("product_labels", args=["TEA-GTIN"])}?size=50x25"' in html
    assert f'href="{reverse("product_lot_labels", args=["TEA-GTIN"])}?size=a4"' in html


def test_product_detail_lot_rows_link_each_lot_label(
    clerk_client, gtin_lot_product, short_lot, locations
):
    ledger.receive(
        product=gtin_lot_product,
        location=locations["bin1"],
        quantity=3,
        unit_cost=1,
        lot=short_lot,
    )
    html = clerk_client.get(gtin_lot_product.get_absolute_url()).content.decode()
    assert f'<a href="{reverse("lot_labels", args=[short_lot.pk])}">label</a>' in html


def test_product_list_label_links_carry_the_filters(clerk_client, product):
    html = clerk_client.get(reverse("product_list"), {"q": "mug", "page": "1"}).content.decode()
    assert f'href="{reverse("product_list_labels")}?q=mug&amp;size=a4"' in html


def test_warehouse_and_location_pages_link_their_labels(clerk_client, locations):
    warehouse_html = clerk_client.get(reverse("warehouse_detail", args=["WH1"])).content.decode()
    assert f'href="{reverse("warehouse_labels", args=["WH1"])}?size=a4"' in warehouse_html
    location_html = clerk_client.get(locations["bin1"].get_absolute_url()).content.decode()
    assert f'href="{reverse("location_labels", args=["WH1-A-01"])}?size=50x25"' in location_html
