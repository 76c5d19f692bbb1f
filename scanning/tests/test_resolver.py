"""The scan resolver: GS1 element strings, GTINs, barcodes, SKUs, locations, lots, orders.

The catalogue (built by ``catalogue``):
- MUG-001 with EAN-13 4006381333931; its case GTIN-14 14006381333938 stands for 12 and
  the extra barcode ``mug-six`` for 6;
- TEA-100 (lot + expiry) with EAN-8 96385074, lots L2401 (expires 2026-06-30) and SHARED;
- Tea-Green (lot) with lot SHARED; CAP-7 with UPC-A 036000291452; a SKU 12345678
  (not a valid EAN-8);
- locations WH1-A-01, WH1-RCV; purchase order PO-000001 (or whichever number it got);
  sales orders on WEB (EXT-1, DUP-1) and on MKT (DUP-1).
"""

import os
from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory import ledger
from inventory.models import Product, ProductBarcode
from orders.models import Channel, ChannelWarehouse, Supplier
from orders.purchasing import services as purchasing
from orders.sales import services as sales
from scanning.resolve import Kind, Scan, resolve
from scanning.resolve.gs1 import read_code
from scanning.resolve.lookup import candidate_query
from warehouses.models import Location, Warehouse

MUG_GTIN = "04006381333931"
UNKNOWN_GTIN = "09506000134352"


def make_sales_order(channel: Channel, ref: str):
    order, _ = sales.create_order(
        channel=channel,
        external_ref=ref,
        customer_name="Ada Lovelace",
        shipping_address="12 Analytical Row\nLondon",
        lines=[{"sku": "MUG-001", "quantity": 1, "unit_price": Decimal("9.90")}],
    )
    return order


@pytest.fixture
def catalogue(db):
    mug = Product.objects.create(sku="MUG-001", name="Enamel mug", gtin="4006381333931")
    tea = Product.objects.create(
        sku="TEA-100", name="Green tea 100 g", gtin="96385074", tracking="lot_expiry"
    )
    green = Product.objects.create(sku="Tea-Green", name="Loose green tea", tracking="lot")
    Product.objects.create(sku="CAP-7", name="Cap", gtin="036000291452")
    Product.objects.create(sku="12345678", name="Digits only")
    ProductBarcode.objects.create(product=mug, code="14006381333938", units=12)
    ProductBarcode.objects.create(product=mug, code="mug-six", units=6)
    ledger.get_or_create_lot(product=tea, code="L2401", expires_on=date(2026, 6, 30))
    ledger.get_or_create_lot(product=tea, code="SHARED", expires_on=date(2027, 1, 31))
    ledger.get_or_create_lot(product=green, code="SHARED")
    warehouse = Warehouse.objects.create(code="WH1", name="Main warehouse")
    zone = Location.objects.create(warehouse=warehouse, code="A", barcode="WH1-A")
    Location.objects.create(
        warehouse=warehouse, parent=zone, code="01", barcode="WH1-A-01", name="Bin one"
    )
    Location.objects.create(
        warehouse=warehouse, code="RCV", barcode="WH1-RCV", kind=Location.Kind.RECEIVING
    )
    supplier = Supplier.objects.create(code="ACME", name="Acme Trading")
    order = purchasing.create_order(supplier=supplier, warehouse=warehouse)
    web = Channel.objects.create(code="WEB", name="Web store")
    market = Channel.objects.create(code="MKT", name="Marketplace")
    for channel in (web, market):
        ChannelWarehouse.objects.create(channel=channel, warehouse=warehouse, priority=1)
    return {
        "po": order,
        "so": make_sales_order(web, "EXT-1"),
        "dup_web": make_sales_order(web, "DUP-1"),
        "dup_market": make_sales_order(market, "DUP-1"),
    }


def expect(scan: Scan, kind: Kind, **fields) -> None:
    """Assert the scan's kind and the JSON fields given (message: a fragment of it)."""
    data = scan.as_json()
    assert data["kind"] == kind, data
    fragment = fields.pop("message", None)
    assert {key: data[key] for key in fields} == fields, data
    if fragment:
        assert fragment in data["message"], data["message"]


GS = "\x1d"

VALID_GS1 = [
    # (code, expected fields)
    ("0104006381333931", {"sku": "MUG-001", "gtin": MUG_GTIN, "quantity": 1, "lot": None}),
    (
        "0104006381333931|10ABC|17260615",
        {"sku": "MUG-001", "lot": "ABC", "expires_on": "2026-06-15"},
    ),
    (f"0104006381333931{GS}10ABC{GS}17260615", {"lot": "ABC", "expires_on": "2026-06-15"}),
    ("01040063813339311726061510ABC", {"lot": "ABC", "expires_on": "2026-06-15"}),
    ("0104006381333931|10ABC|17260600", {"lot": "ABC", "expires_on": "2026-06-30"}),
    ("0104006381333931|17240200", {"expires_on": "2024-02-29"}),
    ("]C10104006381333931|10ABC", {"sku": "MUG-001", "lot": "ABC"}),
    (f"]d20104006381333931{GS}21SER-9", {"sku": "MUG-001", "serial": "SER-9"}),
    ("]Q30104006381333931|10ABC", {"lot": "ABC"}),
    ("]e00104006381333931", {"sku": "MUG-001"}),
    ("||0104006381333931||10ABC||", {"sku": "MUG-001", "lot": "ABC"}),
    (f"{GS}0104006381333931{GS}{GS}10ABC{GS}", {"sku": "MUG-001", "lot": "ABC"}),
    ("  0104006381333931|10ABC\n", {"sku": "MUG-001", "lot": "ABC"}),
    ("010400638133393115260600", {"expires_on": "2026-06-30"}),
    ("01040063813339311526060017251231", {"expires_on": "2025-12-31"}),
    ("01040063813339311125010110ABC", {"lot": "ABC", "expires_on": None}),
    ("0104006381333931|3712", {"sku": "MUG-001", "quantity": 12}),
    ("010400638133393130005", {"quantity": 5}),
    ("0114006381333938", {"sku": "MUG-001", "gtin": "14006381333938", "quantity": 12}),
    ("0214006381333938375", {"sku": "MUG-001", "quantity": 60}),
    ("0100000096385074|10L2401", {"sku": "TEA-100", "lot": "L2401", "expires_on": None}),
    (
        "(01)04006381333931(10)ABC(17)260600",
        {"sku": "MUG-001", "lot": "ABC", "expires_on": "2026-06-30"},
    ),
    (
        "0104006381333931|10ABC12317250100",
        {"lot": "ABC12317250100", "message": "looks like an expiry date (AI 17)"},
    ),
]


@pytest.mark.parametrize(("code", "fields"), VALID_GS1)
def test_gs1_element_strings_name_the_product(catalogue, code, fields):
    expect(resolve(code), Kind.PRODUCT, **fields)


def test_a_gs1_lot_already_received_comes_with_its_row(catalogue):
    scan = resolve("0100000096385074|10L2401")

    assert scan.lot is not None and scan.lot.code == "L2401"
    assert scan.lot.expires_on == date(2026, 6, 30)
    assert scan.product.sku == "TEA-100"


def test_a_new_gs1_lot_is_reported_without_a_row(catalogue):
    scan = resolve("0100000096385074|10NEW|17270131")

    assert (scan.lot, scan.lot_code, scan.expires_on) == (None, "NEW", date(2027, 1, 31))
    assert "not yet received" in scan.message


def test_a_lot_with_a_separator_gets_no_date_warning(catalogue):
    assert "looks like" not in resolve("0104006381333931|10ABC|17250100").message


@pytest.mark.parametrize("separator", ["~", "#", "^"])
def test_the_substitute_separator_can_be_given(catalogue, separator):
    code = f"0104006381333931{separator}10ABC{separator}17260600"

    expect(resolve(code, separator=separator), Kind.PRODUCT, lot="ABC", expires_on="2026-06-30")


def test_the_substitute_separator_comes_from_the_setting(catalogue, settings):
    settings.STOCKROOM_GS1_SEPARATOR = "~"

    expect(resolve("0104006381333931~10ABC~3712"), Kind.PRODUCT, lot="ABC", quantity=12)
    expect(resolve(f"0104006381333931{GS}10ABC{GS}3712"), Kind.PRODUCT, lot="ABC", quantity=12)


def test_without_the_separator_a_count_runs_into_the_lot(catalogue):
    """The RECIPES case: nobody can tell, so the scanner must send the separator."""
    expect(resolve("0104006381333931|10ABC1233012"), Kind.PRODUCT, lot="ABC1233012", quantity=1)


PLAIN = [
    ("4006381333931", Kind.PRODUCT, {"sku": "MUG-001", "gtin": MUG_GTIN, "quantity": 1}),
    ("]E04006381333931", Kind.PRODUCT, {"sku": "MUG-001"}),
    ("96385074", Kind.PRODUCT, {"sku": "TEA-100", "gtin": "00000096385074"}),
    ("]E496385074", Kind.PRODUCT, {"sku": "TEA-100"}),
    ("036000291452", Kind.PRODUCT, {"sku": "CAP-7", "gtin": "00036000291452"}),
    ("00036000291452", Kind.PRODUCT, {"sku": "CAP-7"}),
    ("14006381333938", Kind.PRODUCT, {"sku": "MUG-001", "quantity": 12}),
    ("mug-six", Kind.PRODUCT, {"sku": "MUG-001", "quantity": 6}),
    ("MUG-SIX", Kind.PRODUCT, {"sku": "MUG-001", "quantity": 6}),
    ("MUG-001", Kind.PRODUCT, {"sku": "MUG-001", "gtin": MUG_GTIN, "lot": None}),
    ("mug-001", Kind.PRODUCT, {"sku": "MUG-001"}),
    ("Mug-001", Kind.PRODUCT, {"sku": "MUG-001"}),
    ("tea-green", Kind.PRODUCT, {"sku": "Tea-Green", "gtin": None}),
    ("12345678", Kind.PRODUCT, {"sku": "12345678"}),
    ("WH1-A-01", Kind.LOCATION, {"location": "WH1-A-01", "message": "Bin one"}),
    ("wh1-rcv", Kind.LOCATION, {"location": "WH1-RCV", "message": "Receiving"}),
    ("]C0WH1-A", Kind.LOCATION, {"location": "WH1-A"}),
    (
        "L2401",
        Kind.LOT,
        {"sku": "TEA-100", "lot": "L2401", "expires_on": "2026-06-30", "gtin": "00000096385074"},
    ),
    ("]C110L2401", Kind.LOT, {"sku": "TEA-100", "lot": "L2401", "expires_on": "2026-06-30"}),
    ("EXT-1", Kind.SALES_ORDER, {"message": "WEB EXT-1"}),
]


@pytest.mark.parametrize(("code", "kind", "fields"), PLAIN)
def test_plain_codes(catalogue, code, kind, fields):
    expect(resolve(code), kind, **fields)


def test_purchase_orders_by_number_in_any_case(catalogue):
    number = catalogue["po"].number

    for code in (number, number.lower()):
        scan = resolve(code)
        expect(scan, Kind.PURCHASE_ORDER, order=number, message="Acme Trading")
        assert scan.order == catalogue["po"]


def test_sales_orders_by_number_and_by_external_reference(catalogue):
    order = catalogue["so"]

    for code in (order.number, order.number.lower(), "EXT-1"):
        scan = resolve(code)
        expect(scan, Kind.SALES_ORDER, order=order.number)
        assert scan.order == order


def test_an_external_reference_on_two_channels_is_ambiguous(catalogue):
    numbers = sorted([catalogue["dup_web"].number, catalogue["dup_market"].number])

    expect(
        resolve("DUP-1"),
        Kind.UNKNOWN,
        message=f"2 orders have the external reference DUP-1 ({', '.join(numbers)})",
    )


def test_a_lot_code_on_two_products_is_ambiguous(catalogue):
    expect(
        resolve("SHARED"),
        Kind.UNKNOWN,
        message="The lot SHARED is on 2 products (TEA-100, Tea-Green): scan the product label.",
    )


def test_a_sku_cannot_exist_in_two_cases_and_matches_in_any(catalogue):
    # SKUs are unique ignoring case (issue 15): the database refuses the second.
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.create(sku="tea-GREEN", name="Another green tea")

    expect(resolve("tea-green"), Kind.PRODUCT, sku="Tea-Green")


UNKNOWN = [
    ("123", "No product, location, lot or order has the code 123."),
    ("NOPE-42", "No product, location, lot or order has the code NOPE-42."),
    ("5901234123457", "No product, location, lot or order has the code 5901234123457."),
    (f"01{UNKNOWN_GTIN}|10X", f"No product has the GTIN {UNKNOWN_GTIN}."),
    ("]C110NOLOT", "No product has the lot NOLOT."),
    ("00106141412345678908", "SSCC 106141412345678908 names a shipping unit"),
    ("]C117260600", "holds no GTIN, lot or SSCC"),
]


@pytest.mark.parametrize(("code", "message"), UNKNOWN)
def test_unknown_codes(catalogue, code, message):
    expect(resolve(code), Kind.UNKNOWN, message=message)


def test_a_gs1_string_with_an_unknown_gtin_keeps_what_it_says(catalogue):
    scan = resolve(f"01{UNKNOWN_GTIN}|10X|17260600|21S1|3704")

    assert scan.as_json() == {
        "kind": "unknown",
        "sku": None,
        "gtin": UNKNOWN_GTIN,
        "lot": "X",
        "expires_on": "2026-06-30",
        "serial": "S1",
        "quantity": 4,
        "location": None,
        "order": None,
        "message": f"No product has the GTIN {UNKNOWN_GTIN}.",
    }


INVALID = [
    ("0104006381333932", "The check digit of GTIN 04006381333932 is wrong: it should be 1."),
    ("(01)04006381333932", "The check digit of GTIN 04006381333932 is wrong: it should be 1."),
    ("]C10114006381333939|10A", "GTIN 14006381333939 is wrong: it should be 8."),
    ("00106141412345678909", "SSCC 106141412345678909 is wrong: it should be 8."),
    ("4006381333932", "The check digit of GTIN 4006381333932 is wrong: it should be 1."),
    ("]E04006381333932", "The check digit of GTIN 4006381333932 is wrong: it should be 1."),
    ("036000291453", "The check digit of GTIN 036000291453 is wrong: it should be 2."),
    ("96385075", "The check digit of GTIN 96385075 is wrong: it should be 4."),
    ("14006381333939", "The check digit of GTIN 14006381333939 is wrong: it should be 8."),
    (
        "0104006381333931|17260230",
        "The expiry date (AI 17) 260230 is impossible: February 2026 has 28 days, not 30.",
    ),
    (
        "0104006381333931|17990229",
        "The expiry date (AI 17) 990229 is impossible: February 1999 has 28 days, not 29.",
    ),
    (
        "0104006381333931|17261301|10A",
        "The expiry date (AI 17) 261301 is impossible: there is no month 13.",
    ),
    ("01040063813339311526023110A", "best-before date (AI 15) 260231 is impossible"),
    ("(01)04006381333931(17)250230", "February 2025 has 28 days, not 30."),
    ("0104006381333931|171302", "The expiry date (AI 17) needs six digits YYMMDD"),
    ("0104006381333931XYZ", "Leftover data after the GS1 elements: “XYZ” is not one."),
    ("]C1HELLO", "“HELLO” is not a GS1 element string."),
    ("(01)0400638133393", "The GTIN (AI 01) needs 14 digits"),
    ("0104006381333931|10A|10B", "two different values for AI 10: A and B"),
    ("0104006381333931|370", "The count (AI 37) is 0"),
    ("", "Nothing was scanned."),
    ("   ", "Nothing was scanned."),
    ("]C1", "Nothing but a symbology prefix"),
    ("MUG\x00001", "control characters"),
    ("X" * 300, "300 characters long"),
]


@pytest.mark.parametrize(("code", "message"), INVALID)
def test_refused_codes_say_why(catalogue, code, message):
    expect(resolve(code), Kind.INVALID, message=message)


def test_a_refusal_is_word_for_word(catalogue):
    scan = resolve("4006381333932")

    assert scan.message == "The check digit of GTIN 4006381333932 is wrong: it should be 1."
    assert (scan.product, scan.gtin, scan.resolved) == (None, None, False)


def test_a_sku_shaped_like_a_bad_gs1_string_still_resolves(catalogue):
    """Only an exact catalogue match wins over a GS1 refusal; otherwise the reason stands."""
    Product.objects.create(sku="0104006381333931XYZ", name="Odd SKU")

    expect(resolve("0104006381333931XYZ"), Kind.PRODUCT, sku="0104006381333931XYZ")
    expect(resolve("0104006381333931XYW"), Kind.INVALID, message="Leftover data")


# Queries per resolve: none when the code is refused by itself, one UNION of every
# lookup for an unknown code (or a refused one that could still be a SKU, such as a
# digit string with a wrong check digit), one more to load what it names.
QUERIES = [
    (f"0104006381333931{GS}17260230", 0),
    ("]C10104006381333932", 0),
    ("(01)04006381333931(17)250230", 0),
    ("", 0),
    ("4006381333932", 1),
    ("0104006381333931|17260230", 1),
    ("00106141412345678908", 0),
    ("NOPE-42", 1),
    (f"01{UNKNOWN_GTIN}|10X", 1),
    ("SHARED", 1),
    ("MUG-001", 2),
    ("4006381333931", 2),
    ("14006381333938", 2),
    ("0100000096385074|10L2401|17260630", 2),
    ("0104006381333931|10NEW", 2),
    ("WH1-A-01", 2),
    ("L2401", 2),
    ("EXT-1", 2),
]


def shown_by_a_station(scan: Scan) -> list[str]:
    shown = [str(scan.product), str(scan.lot), str(scan.location), str(scan.order)]
    if scan.lot:
        shown.append(scan.lot.product.sku)
    if scan.location:
        shown.append(scan.location.warehouse.code)
    return [*shown, str(scan.as_json())]


@pytest.mark.parametrize(("code", "queries"), QUERIES)
def test_queries_per_resolve_are_fixed(catalogue, django_assert_num_queries, code, queries):
    with django_assert_num_queries(queries):
        scan = resolve(code)
        # What a station shows is loaded with it: no query after resolve.
        assert shown_by_a_station(scan)


def test_queries_do_not_grow_with_the_catalogue(catalogue, django_assert_num_queries):
    for index in range(30):
        product = Product.objects.create(sku=f"BULK-{index}", name="Bulk", tracking="lot")
        ledger.get_or_create_lot(product=product, code=f"LOT-{index}")

    for code in ("LOT-7", "bulk-7", "0104006381333931|10ABC"):
        with django_assert_num_queries(2):
            assert resolve(code).resolved


AI_PREFIXES = ["00", "01", "02", "10", "11", "15", "17", "21", "30", "37", "(01)", "(17)"]
GS1_PIECES = st.tuples(
    st.sampled_from(AI_PREFIXES),
    st.text(alphabet="0123456789ABCxyz-|()\x1d~ ", max_size=20),
)
GS1_SHAPED = st.builds(
    lambda prefix, pieces, joiner: prefix + joiner.join(ai + value for ai, value in pieces),
    st.sampled_from(["", "]C1", "]d2", "]Q3", "]E0", "]E4", "]e0", "(", "|"]),
    st.lists(GS1_PIECES, max_size=5),
    st.sampled_from(["", "|", "\x1d", "||", "~"]),
)
DIGITS = st.from_regex(r"\A(0[012])?[0-9]{0,30}\Z")
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def assert_answers(scan: Scan) -> None:
    assert isinstance(scan, Scan)
    assert scan.kind in set(Kind)
    assert scan.message
    assert scan.quantity >= 1
    assert scan.gtin is None or (len(scan.gtin) == 14 and scan.gtin.isdigit())
    assert scan.resolved == (scan.kind not in (Kind.UNKNOWN, Kind.INVALID))
    scan.as_json()


@FUZZ
@given(code=st.text())
def test_any_text_gets_an_answer(catalogue, code):
    assert_answers(resolve(code))


@FUZZ
@given(code=DIGITS)
def test_any_digit_string_gets_an_answer(catalogue, code):
    assert_answers(resolve(code))


@FUZZ
@given(code=GS1_SHAPED, separator=st.sampled_from([None, "|", "~", "", "ab"]))
def test_any_gs1_shaped_string_gets_an_answer(catalogue, code, separator):
    assert_answers(resolve(code, separator=separator))


@pytest.mark.parametrize(
    "code", ["Tea-Green", "L2401", "DUP-1", "0104006381333931|10ABC", "]C110L2401"]
)
def test_every_lookup_uses_an_index(catalogue, code):
    """At the benchmark's large size a table scan per scan would cost ~20 ms (measured)."""
    if connection.vendor != "sqlite":
        pytest.skip("reads SQLite's query plan")
    sql, params = candidate_query(read_code(code, separator="|")).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = [row[-1] for row in cursor.fetchall()]

    assert [step for step in plan if step.startswith("SCAN")] == [], plan
