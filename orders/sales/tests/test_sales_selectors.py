"""Why an order stays backordered, in words: warehouses the channel does not sell from
that hold free stock, or none free anywhere with what is incoming; what a shipment
takes from where. A fixed number of queries whatever the products and warehouses."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory import ledger
from orders.models import Channel, ChannelWarehouse
from orders.purchasing import services as purchasing
from orders.sales import services as sales
from orders.sales.selectors import allocation_summary, shipment_summary, units

TODAY = timezone.localdate


@pytest.fixture
def counter(warehouse, locations, second_warehouse):
    """Channel POS selling from WH1 only; WH2 (``second_warehouse``) is not its warehouse."""
    channel = Channel.objects.create(code="POS", name="Shop counter", kind=Channel.Kind.POS)
    ChannelWarehouse.objects.create(channel=channel, warehouse=warehouse, priority=1)
    return channel


def test_units_are_pluralised():
    assert (units(0), units(1), units(2)) == ("0 units", "1 unit", "2 units")


def test_free_stock_in_a_warehouse_the_channel_does_not_sell_from_is_named(
    counter, product, locations, second_warehouse, stock_in, place_order
):
    stock_in(product, locations["bin1"], 1)
    stock_in(product, second_warehouse.bin, 719)
    order = place_order(counter, ("MUG-001", 4))
    assert order.status == "backordered"

    summary = allocation_summary(order)

    assert (summary.allocated, summary.backordered) == (1, 3)
    assert summary.text == (
        f"{order.number} is backordered: 1 unit allocated, 3 units wait for stock. "
        "POS sells from WH1 only; 719 free units of MUG-001 are in WH2."
    )


def test_a_channel_selling_from_both_warehouses_is_not_short_of_that_stock(
    web_store, product, locations, second_warehouse, stock_in, place_order
):
    stock_in(product, second_warehouse.bin, 719)
    order = place_order(web_store, ("MUG-001", 4))
    summary = allocation_summary(order)
    assert (summary.allocated, summary.backordered) == (4, 0)
    assert summary.text == f"{order.number} is allocated: 4 units allocated."


def test_only_free_sellable_unexpired_units_count(
    counter, product, lot_product, locations, second_warehouse, web_store, stock_in, place_order
):
    # WH2 holds: 2 MUG-001 reserved by a WEB order, 5 in a quarantine cage (WH1 only has
    # one, so build one in WH2), 3 TEA-100 of an expired lot, 1 TEA-100 good.
    from warehouses.models import Location

    cage = Location.objects.create(
        warehouse=second_warehouse,
        code="Q",
        barcode="WH2-Q",
        kind=Location.Kind.QUARANTINE,
    )
    stock_in(product, second_warehouse.bin, 2)
    place_order(web_store, ("MUG-001", 2))  # WEB takes WH1 first: it has none, so WH2
    stock_in(product, cage, 5)
    stock_in(
        lot_product, second_warehouse.bin, 3, lot_code="OLD", expires_on=TODAY() + timedelta(1)
    )
    stock_in(
        lot_product, second_warehouse.bin, 1, lot_code="NEW", expires_on=TODAY() + timedelta(90)
    )
    from inventory.models import Lot

    Lot.objects.filter(code="OLD").update(expires_on=TODAY() - timedelta(1))
    order = place_order(counter, ("MUG-001", 2), ("TEA-100", 2))

    text = allocation_summary(order).text

    assert text == (
        f"{order.number} is backordered: 0 units allocated, 4 units wait for stock. "
        "POS sells from WH1 only; 1 free unit of TEA-100 is in WH2. "
        "None of MUG-001 is free anywhere and none is on order."
    )


def test_none_free_anywhere_names_what_is_incoming_on_open_purchase_orders(
    counter, product, lot_product, sent_order, buyer, place_order
):
    # A second open PO of MUG-001 and a draft one (a draft is not incoming).
    second = purchasing.create_order(
        supplier=sent_order.supplier, warehouse=sent_order.warehouse, user=buyer
    )
    purchasing.set_line(order=second, product=product, quantity=30, user=buyer)
    purchasing.send_order(order=second, user=buyer)
    draft = purchasing.create_order(
        supplier=sent_order.supplier, warehouse=sent_order.warehouse, user=buyer
    )
    purchasing.set_line(order=draft, product=product, quantity=99, user=buyer)
    order = place_order(counter, ("TEA-100", 1), ("MUG-001", 5))

    text = allocation_summary(order).text

    assert text == (
        f"{order.number} is backordered: 0 units allocated, 6 units wait for stock. "
        f"None of MUG-001 is free anywhere; 40 incoming on {sent_order.number} (10) and "
        f"{second.number} (30). "
        f"None of TEA-100 is free anywhere; 20 incoming on {sent_order.number}."
    )


def test_free_elsewhere_and_incoming_are_both_said(
    counter, product, second_warehouse, sent_order, stock_in, place_order
):
    stock_in(product, second_warehouse.bin, 1)
    order = place_order(counter, ("MUG-001", 1))
    assert allocation_summary(order).text == (
        f"{order.number} is backordered: 0 units allocated, 1 unit waits for stock. "
        f"POS sells from WH1 only; 1 free unit of MUG-001 is in WH2; "
        f"10 incoming on {sent_order.number}."
    )


def test_dropship_lines_are_not_short(
    counter, product, dropship_supplier, locations, stock_in, place_order
):
    stock_in(product, locations["bin1"], 2)
    order = place_order(counter, ("MUG-001", 2), ("SOFA-9", 1))
    summary = allocation_summary(order)
    assert summary.dropship == 1
    assert summary.text == (
        f"{order.number} is allocated: 2 units allocated, "
        "1 unit to be shipped by the dropship supplier."
    )


def test_a_channel_whose_warehouses_were_removed_says_so(
    counter, product, second_warehouse, stock_in, place_order
):
    order = place_order(counter, ("MUG-001", 1))
    counter.channel_warehouses.all().delete()
    stock_in(product, second_warehouse.bin, 3)
    assert allocation_summary(order).text.endswith(
        "POS sells from no warehouse; 3 free units of MUG-001 are in WH2."
    )


def test_the_explanation_reads_a_fixed_number_of_queries(
    counter, locations, second_warehouse, sent_order, stock_in, place_order
):
    from inventory.models import Product
    from warehouses.models import Location, Warehouse

    def summary_queries(order) -> int:
        order = type(order).objects.select_related("channel").get(pk=order.pk)
        with CaptureQueriesContext(connection) as queries:
            allocation_summary(order)
        return len(queries.captured_queries)

    small = place_order(counter, ("MUG-001", 1))
    few = summary_queries(small)
    more = []
    for i in range(4):
        wh = Warehouse.objects.create(code=f"X{i}", name=f"Extra {i}")
        place = Location.objects.create(warehouse=wh, code="01", barcode=f"X{i}-01")
        item = Product.objects.create(sku=f"P{i}", name=f"Item {i}")
        stock_in(item, place, 3)
        stock_in(item, second_warehouse.bin, 1)
        more.append((item.sku, 5))
    large = place_order(counter, ("MUG-001", 2), ("TEA-100", 1), *more)
    assert few == summary_queries(large) == 4
    assert "3 free units of P0 are in X0, 1 in WH2" in allocation_summary(large).text


def test_shipment_summary_names_units_per_warehouse(
    web_store, product, locations, second_warehouse, stock_in, place_order
):
    stock_in(product, locations["bin1"], 1)
    stock_in(product, second_warehouse.bin, 2)
    order = place_order(web_store, ("MUG-001", 3))
    assert shipment_summary(order) == "1 unit from WH1 and 2 units from WH2"
    sales.ship_order(order=order)
    assert shipment_summary(order) == "nothing allocated"


def test_allocation_notes_in_the_status_history_are_pluralised(
    web_store, product, locations, stock_in, place_order
):
    stock_in(product, locations["bin1"], 1)
    order = place_order(web_store, ("MUG-001", 2))
    assert order.events.last().note == "Allocated 1 unit; 1 waits for stock"
    ledger.receive(product=product, location=locations["bin2"], quantity=1, unit_cost="2.00")
    sales.allocate_order(order=order)
    assert order.events.last().note == "Allocated 1 unit"
