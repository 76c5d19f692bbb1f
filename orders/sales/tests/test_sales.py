"""Sales orders through orders.sales: intake, validation, idempotency, pick, ship, cancel."""

from decimal import Decimal
from io import StringIO

import pytest
from django.apps import apps
from django.db import connection

from common.testing import run_threads
from inventory import ledger
from inventory.integrity import find_differences
from inventory.models import StockLevel, StockMove
from orders.models import (
    Allocation,
    PurchaseOrder,
    SalesOrder,
    SalesOrderEvent,
    SalesOrderLine,
)
from orders.sales import errors
from orders.sales import services as sales

Status = SalesOrder.Status

COUNTED = (
    ("inventory", "StockLevel"),
    ("inventory", "StockMove"),
    ("inventory", "ReservationEntry"),
    ("inventory", "CostLayer"),
    ("orders", "SalesOrder"),
    ("orders", "SalesOrderLine"),
    ("orders", "SalesOrderEvent"),
    ("orders", "Allocation"),
    ("orders", "PurchaseOrder"),
    ("orders", "PurchaseOrderLine"),
    ("orders", "PurchaseOrderEvent"),
    ("orders", "StockOutbox"),
)


def table_state() -> dict:
    """Every row of the stock and order tables (a refused call must leave them alone)."""
    state = {}
    for app_label, name in COUNTED:
        model = apps.get_model(app_label, name)
        fields = [f.attname for f in model._meta.concrete_fields]
        state[name] = list(model.objects.order_by("pk").values_list(*fields))
    return state


def level(product, location, lot=None) -> tuple[int, int]:
    row = StockLevel.objects.filter(product=product, location=location, lot=lot).first()
    return (row.on_hand, row.committed) if row else (0, 0)


def order_kwargs(channel, **overrides):
    values = {
        "channel": channel,
        "external_ref": "WEB-1001",
        "customer_name": "Ada Lovelace",
        "customer_email": "ada@example.com",
        "shipping_address": "12 Analytical Row\nLondon",
        "lines": [{"sku": "MUG-001", "quantity": 2, "unit_price": Decimal("9.90")}],
        "request_hash": "hash-a",
    }
    values.update(overrides)
    return values


# --- intake -------------------------------------------------------------------------


def test_create_order_allocates_and_numbers_the_order(web_store, product, locations, stock_in):
    stock_in(product, locations["bin1"], 5)

    order, created = sales.create_order(**order_kwargs(web_store))

    assert created is True
    assert order.number == f"SO-{order.pk:06d}"
    order.refresh_from_db()
    assert order.status == Status.ALLOCATED
    assert order.number == f"SO-{order.pk:06d}"
    line = order.lines.get()
    assert (line.quantity, line.quantity_allocated, line.unit_price) == (2, 2, Decimal("9.90"))
    assert level(product, locations["bin1"]) == (5, 2)
    assert list(order.events.values_list("from_status", "to_status")) == [
        ("", Status.OPEN),
        (Status.OPEN, Status.ALLOCATED),
    ]
    assert list(find_differences()) == []


def test_same_reference_and_body_returns_the_same_order(web_store, product, locations, stock_in):
    stock_in(product, locations["bin1"], 5)
    first, created = sales.create_order(**order_kwargs(web_store))
    before = table_state()

    again, created_again = sales.create_order(**order_kwargs(web_store))

    assert (again.pk, created, created_again) == (first.pk, True, False)
    assert table_state() == before


def test_same_reference_with_another_body_is_a_duplicate(web_store, product, locations, stock_in):
    stock_in(product, locations["bin1"], 5)
    first, _ = sales.create_order(**order_kwargs(web_store))
    before = table_state()

    with pytest.raises(errors.DuplicateReference) as caught:
        sales.create_order(**order_kwargs(web_store, request_hash="hash-b"))

    assert caught.value.code == "duplicate_external_ref"
    assert caught.value.status == 409
    assert first.number in caught.value.message
    assert table_state() == before


def test_without_a_hash_the_arguments_decide(web_store, product, locations, stock_in):
    stock_in(product, locations["bin1"], 5)
    first, _ = sales.create_order(**order_kwargs(web_store, request_hash=""))
    again, created = sales.create_order(**order_kwargs(web_store, request_hash=""))
    assert (again.pk, created) == (first.pk, False)
    lines = [{"sku": "MUG-001", "quantity": 3, "unit_price": Decimal("9.90")}]
    with pytest.raises(errors.DuplicateReference):
        sales.create_order(**order_kwargs(web_store, request_hash="", lines=lines))


def test_the_same_reference_on_another_channel_is_another_order(
    web_store, marketplace, product, locations, stock_in
):
    stock_in(product, locations["bin1"], 5)
    first, _ = sales.create_order(**order_kwargs(web_store))
    second, created = sales.create_order(**order_kwargs(marketplace))
    assert created and second.pk != first.pk


def _line(**overrides):
    line = {"sku": "MUG-001", "quantity": 1, "unit_price": Decimal("9.90")}
    line.update(overrides)
    return line


REFUSALS = [
    ({"external_ref": ""}, errors.InvalidOrder, "external_ref", "reference"),
    ({"external_ref": "x" * 101}, errors.InvalidOrder, "external_ref", "101"),
    ({"external_ref": None}, errors.InvalidOrder, "external_ref", "reference"),
    ({"customer_name": "  "}, errors.InvalidOrder, "customer_name", "customer name"),
    ({"shipping_address": ""}, errors.InvalidOrder, "shipping_address", "address"),
    ({"customer_email": "not-an-email"}, errors.InvalidOrder, "customer_email", "not-an-email"),
    ({"lines": []}, errors.InvalidOrder, "lines", "at least one line"),
    ({"lines": [_line()] * 501}, errors.InvalidOrder, "lines", "500"),
    ({"lines": ["MUG-001"]}, errors.InvalidOrder, "lines[0]", "Line 1"),
    ({"lines": [_line(), _line(sku="NOPE-1")]}, errors.UnknownSku, "lines[1].sku", "NOPE-1"),
    ({"lines": [_line(sku="")]}, errors.UnknownSku, "lines[0].sku", "no SKU"),
    ({"lines": [_line(quantity=0)]}, errors.InvalidOrderQuantity, "lines[0].quantity", "least"),
    ({"lines": [_line(quantity=-3)]}, errors.InvalidOrderQuantity, "lines[0].quantity", "-3"),
    ({"lines": [_line(quantity=1.5)]}, errors.InvalidOrderQuantity, "lines[0].quantity", "1.5"),
    ({"lines": [_line(quantity="2")]}, errors.InvalidOrderQuantity, "lines[0].quantity", "2"),
    ({"lines": [_line(quantity=True)]}, errors.InvalidOrderQuantity, "lines[0].quantity", "True"),
    (
        {"lines": [_line(quantity=1_000_001)]},
        errors.InvalidOrderQuantity,
        "lines[0].quantity",
        "1,000,000",
    ),
    ({"lines": [_line(unit_price="-1")]}, errors.InvalidPrice, "lines[0].unit_price", "negative"),
    ({"lines": [_line(unit_price="1.999")]}, errors.InvalidPrice, "lines[0].unit_price", "2 dec"),
    ({"lines": [_line(unit_price="abc")]}, errors.InvalidPrice, "lines[0].unit_price", "abc"),
    ({"lines": [_line(unit_price="NaN")]}, errors.InvalidPrice, "lines[0].unit_price", "NaN"),
    ({"lines": [_line(unit_price=None)]}, errors.InvalidPrice, "lines[0].unit_price", "None"),
    # Huge and non-finite numbers are refused by magnitude, never by an arithmetic error.
    *[
        ({"lines": [_line(quantity=q)]}, errors.InvalidOrderQuantity, "lines[0].quantity", f)
        for q, f in (
            (Decimal("1e30"), "1,000,000"),
            (Decimal("1e999999999"), "1,000,000"),
            (Decimal("-1e999999999"), "1,000,000"),
            (Decimal("Infinity"), "whole number"),
            (Decimal("sNaN"), "whole number"),
            (float("inf"), "whole number"),
            (float("nan"), "whole number"),
            (1e308, "1,000,000"),
        )
    ],
    *[
        ({"lines": [_line(unit_price=p)]}, errors.InvalidPrice, "lines[0].unit_price", f)
        for p, f in (
            (Decimal("1e30"), "too large"),
            (Decimal("1e999999999"), "too large"),
            ("1e309", "too large"),
            (1e20, "too large"),
            (float("inf"), "not a unit price"),
            (float("nan"), "not a unit price"),
            ("-Infinity", "not a unit price"),
        )
    ],
    (
        {"lines": [_line(unit_price=Decimal("10000000000"))]},
        errors.InvalidPrice,
        "lines[0].unit_price",
        "too large",
    ),
]


@pytest.mark.parametrize(("overrides", "error", "field", "fragment"), REFUSALS)
def test_bad_input_is_refused_and_changes_nothing(
    web_store, product, locations, stock_in, overrides, error, field, fragment
):
    stock_in(product, locations["bin1"], 5)
    before = table_state()

    with pytest.raises(error) as caught:
        sales.create_order(**order_kwargs(web_store, **overrides))

    assert type(caught.value) is error
    assert caught.value.field == field
    assert fragment in caught.value.message
    assert table_state() == before


def test_inactive_product_is_not_for_sale(web_store, product, locations, stock_in):
    stock_in(product, locations["bin1"], 5)
    product.active = False
    product.save()
    before = table_state()
    with pytest.raises(errors.ProductNotForSale) as caught:
        sales.create_order(**order_kwargs(web_store))
    assert caught.value.field == "lines[0].sku" and "MUG-001" in caught.value.message
    assert table_state() == before


def test_inactive_channel_is_refused(web_store, product, locations, stock_in):
    stock_in(product, locations["bin1"], 5)
    web_store.active = False
    web_store.save()
    before = table_state()
    with pytest.raises(errors.ChannelInactive) as caught:
        sales.create_order(**order_kwargs(web_store))
    assert caught.value.status == 403
    assert table_state() == before


def test_channel_without_warehouse_is_refused_for_stocked_lines(
    web_store, product, dropship_product, dropship_supplier
):
    web_store.channel_warehouses.all().delete()
    before = table_state()
    with pytest.raises(errors.ChannelHasNoWarehouse) as caught:
        sales.create_order(**order_kwargs(web_store))
    assert "MUG-001" in caught.value.message
    assert table_state() == before
    # Dropship lines alone need no warehouse of the channel.
    lines = [{"sku": "SOFA-9", "quantity": 1, "unit_price": Decimal("499.00")}]
    order, created = sales.create_order(**order_kwargs(web_store, lines=lines))
    assert created and order.status == Status.ALLOCATED


def test_dropship_product_without_a_supplier_is_refused(web_store, dropship_product):
    before = table_state()
    lines = [{"sku": "SOFA-9", "quantity": 1, "unit_price": Decimal("499.00")}]
    with pytest.raises(errors.NoDropshipSupplier) as caught:
        sales.create_order(**order_kwargs(web_store, lines=lines))
    assert caught.value.field == "lines[0].sku" and "SOFA-9" in caught.value.message
    assert table_state() == before


def test_order_without_stock_is_backordered(web_store, product):
    order, _ = sales.create_order(**order_kwargs(web_store))
    assert order.status == Status.BACKORDERED
    line = order.lines.get()
    assert (line.quantity_allocated, line.quantity_backordered) == (0, 2)
    assert not Allocation.objects.exists()


def test_create_and_ship_queries_grow_only_with_the_ledger_calls(
    web_store, product, locations, stock_in
):
    from django.test.utils import CaptureQueriesContext

    from inventory.models import Product

    products = [product] + [
        Product.objects.create(sku=f"SKU-{n}", name=f"Thing {n}") for n in range(9)
    ]
    for item in products:
        stock_in(item, locations["bin1"], 5)
    counts = {}
    for size in (1, 10):
        lines = [
            {"sku": p.sku, "quantity": 1, "unit_price": Decimal("1.00")} for p in products[:size]
        ]
        with CaptureQueriesContext(connection) as created:
            order, _ = sales.create_order(
                **order_kwargs(web_store, external_ref=f"Q{size}", lines=lines)
            )
        with CaptureQueriesContext(connection) as shipped:
            sales.ship_order(order=order)
        counts[size] = (len(created), len(shipped))
    # About 27 + 8 per line to create (one reserve each) and 18 + 10 per line to ship
    # on SQLite; PostgreSQL adds the row locks.
    assert counts[1][0] <= 35 and counts[10][0] - counts[1][0] <= 9 * 10, counts
    # Each shipped line also reads and writes its product's stored position (valuation reads).
    assert counts[1][1] <= 25 and counts[10][1] - counts[1][1] <= 9 * 14, counts


# --- picking and shipping -----------------------------------------------------------


def test_pick_list_is_sorted_by_path_with_flat_queries(
    web_store, product, lot_product, locations, stock_in, place_order, django_assert_num_queries
):
    from datetime import timedelta

    from django.utils import timezone

    stock_in(product, locations["bin2"], 3)
    stock_in(product, locations["receiving"], 3)
    stock_in(
        lot_product,
        locations["bin1"],
        4,
        lot_code="L1",
        expires_on=timezone.localdate() + timedelta(days=90),
    )
    order = place_order(web_store, ("MUG-001", 5), ("TEA-100", 2))

    with django_assert_num_queries(1):
        rows = sales.pick_list(order)

    assert [(row["barcode"], row["sku"], row["quantity"]) for row in rows] == [
        ("WH1-A-01", "TEA-100", 2),
        ("WH1-A-02", "MUG-001", 3),
        ("WH1-RCV", "MUG-001", 2),
    ]
    assert rows[0]["lot"].code == "L1" and rows[0]["expires_on"] is not None
    big = place_order(web_store, ("MUG-001", 1))
    with django_assert_num_queries(1):
        sales.pick_list(big)


def test_ship_consumes_fifo_cost(web_store, product, locations, stock_in, place_order):
    stock_in(product, locations["bin1"], 3, unit_cost="2.00")
    stock_in(product, locations["bin1"], 5, unit_cost="3.50")
    order = place_order(web_store, ("MUG-001", 4))
    assert level(product, locations["bin1"]) == (8, 4)

    sales.start_picking(order=order)
    assert order.status == Status.PICKING
    sales.ship_order(order=order)

    order.refresh_from_db()
    assert order.status == Status.SHIPPED and order.shipped_at is not None
    line = order.lines.get()
    assert (line.quantity_allocated, line.quantity_shipped) == (0, 4)
    assert line.cost_of_goods == Decimal("3") * Decimal("2.00") + Decimal("3.50")
    assert level(product, locations["bin1"]) == (4, 0)
    move = StockMove.objects.get(kind=StockMove.Kind.SHIPMENT)
    assert move.reference == order.number and move.document_id == order.pk
    allocation = Allocation.objects.get()
    assert (allocation.quantity, allocation.quantity_shipped) == (0, 4)
    assert list(find_differences()) == []


def test_ship_straight_from_allocated(web_store, product, locations, stock_in, place_order):
    stock_in(product, locations["bin1"], 3)
    order = place_order(web_store, ("MUG-001", 3))
    sales.ship_order(order=order)
    assert order.status == Status.SHIPPED


def test_backordered_order_cannot_ship_or_be_picked(
    web_store, product, locations, stock_in, place_order
):
    stock_in(product, locations["bin1"], 1)
    order = place_order(web_store, ("MUG-001", 3))
    assert order.status == Status.BACKORDERED
    before = table_state()
    with pytest.raises(errors.InvalidSalesTransition) as caught:
        sales.ship_order(order=order)
    assert "fully allocated" in caught.value.message or "every line" in caught.value.message
    with pytest.raises(errors.InvalidSalesTransition) as caught:
        sales.start_picking(order=order)
    assert "backordered" in caught.value.message
    assert table_state() == before


def test_shipped_order_cannot_ship_again_or_be_cancelled(
    web_store, product, locations, stock_in, place_order
):
    stock_in(product, locations["bin1"], 3)
    order = place_order(web_store, ("MUG-001", 3))
    sales.ship_order(order=order)
    before = table_state()
    with pytest.raises(errors.InvalidSalesTransition):
        sales.ship_order(order=order)
    with pytest.raises(errors.InvalidSalesTransition) as caught:
        sales.cancel_order(order=order)
    assert caught.value.status == 409 and "shipped" in caught.value.message
    with pytest.raises(errors.InvalidSalesTransition):
        sales.start_picking(order=order)
    assert table_state() == before


# --- cancelling ---------------------------------------------------------------------


def test_cancel_releases_the_reservations(
    web_store, product, locations, stock_in, place_order, django_capture_on_commit_callbacks
):
    stock_in(product, locations["bin1"], 2)
    stock_in(product, locations["bin2"], 2)
    order = place_order(web_store, ("MUG-001", 3))
    assert level(product, locations["bin1"])[1] + level(product, locations["bin2"])[1] == 3

    with django_capture_on_commit_callbacks(execute=True):
        sales.cancel_order(order=order, reason="Customer changed their mind")

    assert order.status == Status.CANCELLED and order.cancelled_at is not None
    assert level(product, locations["bin1"]) == (2, 0)
    assert level(product, locations["bin2"]) == (2, 0)
    assert not Allocation.objects.filter(quantity__gt=0).exists()
    assert SalesOrderLine.objects.get().quantity_allocated == 0
    event = SalesOrderEvent.objects.filter(order=order).last()
    assert (event.to_status, event.note) == (Status.CANCELLED, "Customer changed their mind")
    assert list(find_differences()) == []
    with pytest.raises(errors.InvalidSalesTransition) as caught:
        sales.cancel_order(order=order)
    assert "already cancelled" in caught.value.message
    with pytest.raises(errors.InvalidSalesTransition):
        sales.allocate_order(order=order)


def test_cancel_frees_stock_for_a_backorder(
    web_store, product, locations, stock_in, place_order, django_capture_on_commit_callbacks
):
    stock_in(product, locations["bin1"], 3)
    first = place_order(web_store, ("MUG-001", 3))
    waiting = place_order(web_store, ("MUG-001", 2))
    assert waiting.status == Status.BACKORDERED

    with django_capture_on_commit_callbacks(execute=True):
        sales.cancel_order(order=first)

    waiting.refresh_from_db()
    assert waiting.status == Status.ALLOCATED
    assert level(product, locations["bin1"]) == (3, 2)


# --- concurrency ----------------------------------------------------------------------


def race_for_ten_units(threads: int, channel, product, locations):
    """Every thread places 3 orders of 1-3 units of a SKU with 10 units in two bins."""
    from django.core.management import call_command

    ledger.receive(product=product, location=locations["bin1"], quantity=6, unit_cost="1.00")
    ledger.receive(product=product, location=locations["bin2"], quantity=4, unit_cost="1.00")

    def work(n):
        for i in range(3):
            sales.create_order(
                channel=channel,
                external_ref=f"T{n}-{i}",
                customer_name="Racer",
                shipping_address="Track 1",
                lines=[{"sku": "MUG-001", "quantity": 1 + (n + i) % 3, "unit_price": "1.00"}],
            )

    assert run_threads(threads, work) == []
    assert SalesOrder.objects.count() == threads * 3
    assert sum(SalesOrderLine.objects.values_list("quantity_allocated", flat=True)) == 10
    assert sum(Allocation.objects.values_list("quantity", flat=True)) == 10
    assert level(product, locations["bin1"]) == (6, 6)
    assert level(product, locations["bin2"]) == (4, 4)
    ordered = sum(SalesOrderLine.objects.values_list("quantity", flat=True))
    backordered = sum(line.quantity_backordered for line in SalesOrderLine.objects.all())
    assert backordered == ordered - 10
    assert list(find_differences()) == []
    out = StringIO()
    call_command("check_ledger", stdout=out)
    assert "agree" in out.getvalue()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_clients_never_oversell_on_postgresql(web_store, product, locations):
    race_for_ten_units(8, web_store, product, locations)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_clients_never_oversell(web_store, product, locations):
    race_for_ten_units(2, web_store, product, locations)


@pytest.mark.django_db(transaction=True)
def test_concurrent_same_reference_makes_one_order(web_store, product, locations):
    ledger.receive(product=product, location=locations["bin1"], quantity=10, unit_cost="1.00")
    results = []

    def work(_):
        results.append(sales.create_order(**order_kwargs(web_store)))

    assert run_threads(4, work) == []
    assert len({order.pk for order, _ in results}) == 1
    assert sorted(created for _, created in results) == [False, False, False, True]
    assert level(product, locations["bin1"]) == (10, 2)
    assert PurchaseOrder.objects.count() == 0


# --- after commit -------------------------------------------------------------------


def _enqueue_fails(monkeypatch):
    from orders.sales import tasks

    def down(*args, **kwargs):
        raise RuntimeError("task queue down")

    monkeypatch.setattr(type(tasks.reallocate_backorders), "enqueue", down)


def test_a_failed_enqueue_never_fails_a_committed_cancel(
    web_store,
    product,
    locations,
    stock_in,
    place_order,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    stock_in(product, locations["bin1"], 5)
    order = place_order(web_store, ("MUG-001", 2))
    # A backorder waits for the 2 units the cancel frees: the release queues re-allocation.
    place_order(web_store, ("MUG-001", 4))
    _enqueue_fails(monkeypatch)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        cancelled = sales.cancel_order(order=order, reason="Customer changed their mind")

    assert len(callbacks) == 1
    assert cancelled.status == Status.CANCELLED
    assert SalesOrder.objects.get(pk=order.pk).status == Status.CANCELLED
    # The queue is down: the backorder keeps the 3 units it had until the sweep.
    assert level(product, locations["bin1"]) == (5, 3)
