"""manage.py sweep: waiting orders take free stock oldest first, reservations that can no
longer ship are replaced, channels hear of lots that expired."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from inventory import ledger
from inventory.integrity import find_differences
from inventory.models import Lot
from orders.models import Allocation, SalesOrder, StockOutbox
from orders.sales import services as sales

Status = SalesOrder.Status


def sweep() -> str:
    out = StringIO()
    call_command("sweep", stdout=out)
    return out.getvalue()


def allocated(order) -> list[tuple[str, str | None, int]]:
    return sorted(
        (a.location.path, a.lot.code if a.lot else None, a.quantity)
        for a in Allocation.objects.filter(line__order=order, quantity__gt=0).select_related(
            "location", "lot"
        )
    )


def found(product, location, quantity: int) -> None:
    """Units turn up in a count: the ledger re-allocates nothing by itself."""
    ledger.adjust(
        product=product, location=location, quantity=quantity, reason="found", unit_cost="1"
    )


def test_waiting_orders_take_found_stock_oldest_first(
    web_store, marketplace, product, locations, place_order
):
    older = place_order(web_store, ("MUG-001", 3))
    newer = place_order(marketplace, ("MUG-001", 2))
    cancelled = place_order(web_store, ("MUG-001", 5))
    sales.cancel_order(order=cancelled)
    found(product, locations["bin1"], 4)

    output = sweep()

    for order in (older, newer, cancelled):
        order.refresh_from_db()
    assert (older.status, newer.status, cancelled.status) == (
        Status.ALLOCATED,
        Status.BACKORDERED,
        Status.CANCELLED,
    )
    assert allocated(older) == [("WH1/A/01", None, 3)]
    assert allocated(newer) == [("WH1/A/01", None, 1)]
    assert allocated(cancelled) == []
    assert "Swept 2 orders: 2 gained 4 units, 0 reservations" in output
    assert "1 wait for stock" in output
    assert list(find_differences()) == []
    # A second run finds nothing more to do.
    assert "Swept 1 orders: 0 gained 0 units" in sweep()


def test_reservations_that_can_no_longer_ship_are_replaced_or_wait(
    web_store, lot_product, locations, stock_in, place_order
):
    today = timezone.localdate()
    stock_in(lot_product, locations["bin1"], 4, lot_code="OLD", expires_on=today + timedelta(2))
    replaced = place_order(web_store, ("TEA-100", 2))
    short = place_order(web_store, ("TEA-100", 2))
    sales.start_picking(order=short)
    stock_in(lot_product, locations["bin2"], 2, lot_code="NEW", expires_on=today + timedelta(60))
    Lot.objects.filter(code="OLD").update(expires_on=today - timedelta(days=1))

    output = sweep()

    replaced.refresh_from_db()
    short.refresh_from_db()
    assert (replaced.status, allocated(replaced)) == (Status.ALLOCATED, [("WH1/A/02", "NEW", 2)])
    assert (short.status, allocated(short)) == (Status.BACKORDERED, [])
    assert "2 reservations that could no longer ship released, 1 wait for stock" in output
    assert list(find_differences()) == []
    sales.ship_order(order=replaced)
    assert replaced.status == Status.SHIPPED


def test_channels_hear_of_lots_that_expired(web_store, lot_product, locations, stock_in):
    today = timezone.localdate()
    stock_in(lot_product, locations["bin1"], 3, lot_code="GONE", expires_on=today + timedelta(1))
    Lot.objects.filter(code="GONE").update(expires_on=today - timedelta(days=2))
    web_store.webhook_url = "https://shop.example/hooks/stock"
    web_store.save(update_fields=["webhook_url"])
    before = StockOutbox.objects.filter(channel=web_store, product=lot_product).count()

    output = sweep()

    assert StockOutbox.objects.filter(channel=web_store, product=lot_product).count() == (
        before + 1
    )
    assert "Expired lots: 1 webhook outbox rows written." in output


@pytest.mark.django_db
def test_nothing_to_do_says_so():
    assert sweep().splitlines() == [
        "Swept 0 orders: 0 gained 0 units, 0 reservations that could no longer ship "
        "released, 0 wait for stock.",
        "Expired lots: 0 webhook outbox rows written.",
    ]
