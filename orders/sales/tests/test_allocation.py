"""Which stock an order gets: FIFO and FEFO lots, sellable places, warehouse priority,
backorders and their re-allocation when goods arrive."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.integrity import find_differences
from inventory.models import Product, StockLevel
from orders.models import Allocation, SalesOrder, SalesOrderEvent
from orders.purchasing import receiving
from orders.sales import errors
from orders.sales import services as sales

Status = SalesOrder.Status


def allocated(order) -> list[tuple[str, str | None, int]]:
    """``[(location path, lot code, quantity)]`` of the order's reservations, by path."""
    return sorted(
        (a.location.path, a.lot.code if a.lot else None, a.quantity)
        for a in Allocation.objects.filter(line__order=order, quantity__gt=0).select_related(
            "location", "lot"
        )
    )


def committed(product) -> int:
    return sum(StockLevel.objects.filter(product=product).values_list("committed", flat=True))


@pytest.fixture
def lot_only_product(db):
    return Product.objects.create(sku="YARN-7", name="Yarn", tracking="lot")


def test_oldest_lot_first(web_store, lot_only_product, locations, stock_in, place_order):
    today = timezone.localdate()
    # The newer lot was created first and sits earlier on the pick path: age still wins.
    stock_in(lot_only_product, locations["bin1"], 4, lot_code="NEW", received_on=today)
    stock_in(
        lot_only_product,
        locations["bin2"],
        2,
        lot_code="OLD",
        received_on=today - timedelta(days=20),
    )

    order = place_order(web_store, ("YARN-7", 3))

    assert allocated(order) == [("WH1/A/01", "NEW", 1), ("WH1/A/02", "OLD", 2)]
    assert order.status == Status.ALLOCATED


def test_same_day_lots_go_by_lot_then_path(
    web_store, lot_only_product, locations, stock_in, place_order
):
    today = timezone.localdate()
    stock_in(lot_only_product, locations["bin2"], 2, lot_code="FIRST", received_on=today)
    stock_in(lot_only_product, locations["bin1"], 2, lot_code="SECOND", received_on=today)
    stock_in(lot_only_product, locations["receiving"], 2, lot_code="FIRST")

    order = place_order(web_store, ("YARN-7", 5))

    # FIRST in A/02 and RCV (path order), then SECOND.
    assert allocated(order) == [
        ("WH1/A/01", "SECOND", 1),
        ("WH1/A/02", "FIRST", 2),
        ("WH1/RCV", "FIRST", 2),
    ]


def test_earliest_expiry_first(web_store, lot_product, locations, stock_in, place_order):
    today = timezone.localdate()
    stock_in(
        lot_product,
        locations["bin1"],
        5,
        lot_code="LATE",
        expires_on=today + timedelta(days=200),
        received_on=today - timedelta(days=30),
    )
    stock_in(
        lot_product,
        locations["bin2"],
        2,
        lot_code="SOON",
        expires_on=today + timedelta(days=20),
        received_on=today,
    )

    order = place_order(web_store, ("TEA-100", 4))

    assert allocated(order) == [("WH1/A/01", "LATE", 2), ("WH1/A/02", "SOON", 2)]


def test_lots_without_expiry_come_after_expiring_ones(
    web_store, lot_only_product, locations, stock_in, place_order
):
    today = timezone.localdate()
    stock_in(lot_only_product, locations["bin1"], 2, lot_code="PLAIN", received_on=today)
    stock_in(
        lot_only_product,
        locations["bin2"],
        2,
        lot_code="DATED",
        expires_on=today + timedelta(days=5),
        received_on=today,
    )

    order = place_order(web_store, ("YARN-7", 3))

    assert allocated(order) == [("WH1/A/01", "PLAIN", 1), ("WH1/A/02", "DATED", 2)]


def test_expired_lots_are_never_allocated(
    web_store, lot_product, locations, stock_in, place_order
):
    today = timezone.localdate()
    stock_in(
        lot_product,
        locations["bin1"],
        5,
        lot_code="GONE",
        expires_on=today - timedelta(days=1),
        received_on=today - timedelta(days=100),
    )
    stock_in(
        lot_product, locations["bin2"], 1, lot_code="GOOD", expires_on=today + timedelta(days=9)
    )

    order = place_order(web_store, ("TEA-100", 3))

    assert allocated(order) == [("WH1/A/02", "GOOD", 1)]
    assert order.status == Status.BACKORDERED
    assert order.lines.get().quantity_backordered == 2


def test_quarantine_and_shipping_stock_is_not_allocated(
    web_store, product, locations, stock_in, place_order
):
    stock_in(product, locations["quarantine"], 5)
    stock_in(product, locations["shipping"], 5)

    order = place_order(web_store, ("MUG-001", 2))

    assert order.status == Status.BACKORDERED
    assert allocated(order) == []
    assert committed(product) == 0


def test_inactive_location_is_not_allocated(web_store, product, locations, stock_in, place_order):
    stock_in(product, locations["bin1"], 5)
    locations["bin1"].active = False
    locations["bin1"].save()
    stock_in(product, locations["bin2"], 1)

    order = place_order(web_store, ("MUG-001", 2))

    assert allocated(order) == [("WH1/A/02", None, 1)]


def test_warehouse_priority_follows_the_channel(
    web_store, marketplace, second_warehouse, product, locations, stock_in, place_order
):
    stock_in(product, locations["bin1"], 3)
    stock_in(product, second_warehouse.bin, 3)

    web = place_order(web_store, ("MUG-001", 2))
    market = place_order(marketplace, ("MUG-001", 2))

    assert allocated(web) == [("WH1/A/01", None, 2)]
    assert allocated(market) == [("WH2/B/01", None, 2)]
    # The marketplace's buffer only limits what it advertises: allocation uses it all.
    rest = place_order(marketplace, ("MUG-001", 2))
    assert allocated(rest) == [("WH1/A/01", None, 1), ("WH2/B/01", None, 1)]
    assert rest.status == Status.ALLOCATED


def test_stock_in_another_channels_warehouse_is_not_used(
    web_store, second_warehouse, product, locations, stock_in, place_order
):
    web_store.channel_warehouses.filter(warehouse=second_warehouse).delete()
    stock_in(product, second_warehouse.bin, 5)

    order = place_order(web_store, ("MUG-001", 1))

    assert order.status == Status.BACKORDERED


def test_partial_allocation_backorders_the_rest(
    web_store, product, lot_product, locations, stock_in, place_order
):
    stock_in(product, locations["bin1"], 3)
    stock_in(
        lot_product,
        locations["bin1"],
        9,
        lot_code="L1",
        expires_on=timezone.localdate() + timedelta(days=60),
    )

    order = place_order(web_store, ("MUG-001", 5), ("TEA-100", 2))

    assert order.status == Status.BACKORDERED
    mug, tea = order.lines.order_by("id")
    assert (mug.quantity_allocated, mug.quantity_backordered) == (3, 2)
    assert (tea.quantity_allocated, tea.quantity_backordered) == (2, 0)
    assert committed(product) == 3
    assert list(find_differences()) == []
    assert "2 wait for stock" in SalesOrderEvent.objects.filter(order=order).last().note


def test_allocate_order_takes_stock_that_came_later(
    web_store, product, locations, stock_in, place_order
):
    stock_in(product, locations["bin1"], 1)
    order = place_order(web_store, ("MUG-001", 3))
    stock_in(product, locations["bin1"], 1)

    sales.allocate_order(order=order)
    assert order.status == Status.BACKORDERED
    assert allocated(order) == [("WH1/A/01", None, 2)]  # added to the same allocation row
    assert Allocation.objects.filter(line__order=order).count() == 1

    stock_in(product, locations["bin2"], 5)
    sales.allocate_order(order=order)
    assert order.status == Status.ALLOCATED
    assert allocated(order) == [("WH1/A/01", None, 2), ("WH1/A/02", None, 1)]
    assert committed(product) == 3
    # Nothing left to allocate: a no-op.
    sales.allocate_order(order=order)
    assert committed(product) == 3


def test_re_allocation_on_receipt_serves_the_oldest_order_first(
    web_store,
    product,
    locations,
    sent_order,
    clerk,
    place_order,
    django_capture_on_commit_callbacks,
):
    newer = place_order(web_store, ("MUG-001", 3))
    older = place_order(web_store, ("MUG-001", 3))
    # ``older`` came in first at the channel even though its row was written second.
    SalesOrder.objects.filter(pk=older.pk).update(
        created_at=newer.created_at - timedelta(minutes=5)
    )
    assert newer.status == older.status == Status.BACKORDERED
    line = sent_order.lines.get(product=product)

    with django_capture_on_commit_callbacks(execute=True):
        receiving.receive_line(line=line, quantity=4, user=clerk)

    older.refresh_from_db()
    newer.refresh_from_db()
    assert older.status == Status.ALLOCATED
    assert newer.status == Status.BACKORDERED
    assert allocated(older) == [("WH1/RCV", None, 3)]
    assert allocated(newer) == [("WH1/RCV", None, 1)]
    assert committed(product) == 4

    with django_capture_on_commit_callbacks(execute=True):
        receiving.receive_line(line=line, quantity=6, user=clerk)
    newer.refresh_from_db()
    assert newer.status == Status.ALLOCATED
    assert list(find_differences()) == []


def test_reallocate_backorders_counts_orders_that_gained(
    web_store, product, lot_product, locations, stock_in, place_order
):
    first = place_order(web_store, ("MUG-001", 2))
    second = place_order(web_store, ("MUG-001", 2))
    other = place_order(web_store, ("TEA-100", 1))
    stock_in(product, locations["bin1"], 3)

    assert sales.reallocate_backorders([product.pk]) == 2
    first.refresh_from_db()
    second.refresh_from_db()
    other.refresh_from_db()
    assert (first.status, second.status, other.status) == (
        Status.ALLOCATED,
        Status.BACKORDERED,
        Status.BACKORDERED,
    )
    assert sales.reallocate_backorders([product.pk]) == 0
    assert sales.reallocate_backorders([]) == 0


def test_cancelled_orders_are_not_reallocated(
    web_store, product, locations, stock_in, place_order
):
    order = place_order(web_store, ("MUG-001", 2))
    sales.cancel_order(order=order)
    stock_in(product, locations["bin1"], 3)
    assert sales.reallocate_backorders([product.pk]) == 0
    assert committed(product) == 0


def expire(code: str) -> None:
    """The lot's expiry date passes (as it does overnight)."""
    from inventory.models import Lot

    Lot.objects.filter(code=code).update(expires_on=timezone.localdate() - timedelta(days=1))


def test_a_lot_that_expired_after_allocation_cannot_ship_and_allocate_replaces_it(
    web_store, lot_product, locations, stock_in, place_order
):
    today = timezone.localdate()
    stock_in(lot_product, locations["bin1"], 2, lot_code="L1", expires_on=today + timedelta(3))
    order = place_order(web_store, ("TEA-100", 2))
    stock_in(lot_product, locations["bin2"], 5, lot_code="L2", expires_on=today + timedelta(90))
    expire("L1")

    with pytest.raises(errors.AllocationRefused) as caught:
        sales.ship_order(order=order)

    assert caught.value.code == "stale_allocation"
    assert "lot L1 expired on" in caught.value.message
    assert "Use Allocate to replace them" in caught.value.message
    order.refresh_from_db()
    assert order.status == Status.ALLOCATED
    assert allocated(order) == [("WH1/A/01", "L1", 2)]

    sales.allocate_order(order=order)

    assert order.status == Status.ALLOCATED
    assert allocated(order) == [("WH1/A/02", "L2", 2)]
    assert committed(lot_product) == 2
    assert "lot L1 expired" in SalesOrderEvent.objects.filter(order=order).last().note
    assert list(find_differences()) == []
    sales.ship_order(order=order)
    assert order.status == Status.SHIPPED


def test_stale_units_without_replacement_make_the_order_backordered(
    web_store, lot_product, locations, stock_in, place_order
):
    today = timezone.localdate()
    stock_in(lot_product, locations["bin1"], 3, lot_code="L1", expires_on=today + timedelta(3))
    order = place_order(web_store, ("TEA-100", 2))
    sales.start_picking(order=order)
    expire("L1")

    sales.allocate_order(order=order)

    assert order.status == Status.BACKORDERED
    assert allocated(order) == []
    assert committed(lot_product) == 0
    assert order.lines.get().quantity_allocated == 0
    with pytest.raises(errors.InvalidSalesTransition, match="backordered"):
        sales.ship_order(order=order)
    # Fresh stock later reaches it like any backorder.
    stock_in(lot_product, locations["bin2"], 2, lot_code="L3", expires_on=today + timedelta(60))
    assert sales.reallocate_backorders([lot_product.pk]) == 1
    assert allocated(order) == [("WH1/A/02", "L3", 2)]


@pytest.mark.parametrize(
    "change", [{"active": False}, {"kind": "quarantine"}], ids=["inactive", "unsellable"]
)
def test_a_place_made_unsellable_is_replaced_while_picking(
    web_store, product, locations, stock_in, place_order, change
):
    from warehouses.models import Location

    stock_in(product, locations["bin1"], 2)
    order = place_order(web_store, ("MUG-001", 2))
    sales.start_picking(order=order)
    stock_in(product, locations["bin2"], 4)
    Location.objects.filter(pk=locations["bin1"].pk).update(**change)

    with pytest.raises(errors.AllocationRefused, match="WH1-A-01"):
        sales.ship_order(order=order)
    sales.allocate_order(order=order)

    assert order.status == Status.PICKING
    assert allocated(order) == [("WH1/A/02", None, 2)]
    assert list(find_differences()) == []
    sales.ship_order(order=order)
    assert order.status == Status.SHIPPED


# --- older backorders first ---------------------------------------------------------


def test_a_new_order_does_not_take_stock_ahead_of_an_older_backorder(
    web_store, marketplace, product, lot_product, locations, stock_in, place_order
):
    from inventory import ledger

    older = place_order(web_store, ("MUG-001", 3), ("TEA-100", 1))
    # Stock found by a count or adjustment re-allocates nothing by itself.
    ledger.adjust(
        product=product, location=locations["bin1"], quantity=4, reason="found", unit_cost="1"
    )
    stock_in(
        lot_product,
        locations["bin1"],
        1,
        lot_code="T1",
        expires_on=timezone.localdate() + timedelta(30),
    )
    older.refresh_from_db()
    assert older.status == Status.BACKORDERED

    newer = place_order(marketplace, ("MUG-001", 3))

    older.refresh_from_db()
    # The older order took its 3 mugs first; its tea line (a product this intake did not
    # lock) still waits for the next re-allocation.
    assert allocated(older) == [("WH1/A/01", None, 3)]
    assert older.status == Status.BACKORDERED
    assert allocated(newer) == [("WH1/A/01", None, 1)]
    assert newer.status == Status.BACKORDERED
    assert committed(product) == 4
    assert list(find_differences()) == []


def test_an_intake_with_nothing_waiting_asks_once(
    web_store, product, locations, stock_in, place_order
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    stock_in(product, locations["bin1"], 5)
    with CaptureQueriesContext(connection) as queries:
        place_order(web_store, ("MUG-001", 1))
    waiting = [q["sql"] for q in queries if "EXISTS" in q["sql"].upper()]
    assert len(waiting) == 1, waiting


# --- units freed by any ledger change --------------------------------------------------


def test_an_upward_adjustment_serves_backorders_oldest_first(
    web_store, product, locations, stock_in, place_order, django_capture_on_commit_callbacks
):
    from inventory import ledger

    stock_in(product, locations["bin1"], 1)
    first = place_order(web_store, ("MUG-001", 3))
    second = place_order(web_store, ("MUG-001", 2))
    assert (first.status, second.status) == (Status.BACKORDERED, Status.BACKORDERED)

    with django_capture_on_commit_callbacks(execute=True):
        ledger.adjust(product=product, location=locations["bin1"], quantity=3, reason="Found")

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Status.ALLOCATED  # 1 + 2 of the 3 found units
    assert second.status == Status.BACKORDERED
    assert second.lines.get().quantity_allocated == 1
    assert committed(product) == 4
    assert list(find_differences()) == []


def test_stock_moved_out_of_quarantine_serves_backorders(
    web_store, product, locations, stock_in, place_order, django_capture_on_commit_callbacks
):
    from inventory import ledger

    stock_in(product, locations["quarantine"], 5)
    order = place_order(web_store, ("MUG-001", 2))
    assert order.status == Status.BACKORDERED  # quarantine is not for sale

    with django_capture_on_commit_callbacks(execute=True):
        ledger.transfer(
            product=product,
            from_location=locations["quarantine"],
            to_location=locations["bin2"],
            quantity=5,
        )

    order.refresh_from_db()
    assert order.status == Status.ALLOCATED
    assert allocated(order) == [(locations["bin2"].path, None, 2)]


def test_freed_units_enqueue_nothing_when_no_order_waits(
    web_store,
    product,
    locations,
    stock_in,
    place_order,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    from inventory import ledger
    from orders.sales import tasks

    calls = []
    monkeypatch.setattr(
        type(tasks.reallocate_backorders), "enqueue", lambda self, *args: calls.append(args)
    )
    stock_in(product, locations["bin1"], 5)
    order = place_order(web_store, ("MUG-001", 2))
    assert order.status == Status.ALLOCATED
    with django_capture_on_commit_callbacks(execute=True):
        ledger.adjust(product=product, location=locations["bin1"], quantity=1, reason="Found")
        ledger.count(product=product, location=locations["bin1"], counted=4)  # down: no
    assert calls == []
