"""Requests racing each other lose nothing and do nothing twice (issue 15's probe held it).

- 8 clerks' browsers × 50 "remove 1" through the stock adjustment form: 400 units gone,
  400 moves, not one more or less;
- 10 identical API order POSTs at once: one order, its stock reserved once;
- ships and cancels of one order at once: it ships once or is cancelled, never both.

Each runs on the suite's database: SQLite (IMMEDIATE transactions serialise the writers)
in the SQLite stage, PostgreSQL (row locks) in the PostgreSQL stage.
"""

import json
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.test import Client
from django.urls import reverse

from common.testing import run_threads
from inventory import ledger
from inventory.integrity import find_differences
from inventory.models import ReservationEntry, StockLevel, StockMove
from orders.channels.tokens import rotate_token
from orders.models import Channel, ChannelWarehouse, SalesOrder
from orders.sales import services as sales
from orders.sales.errors import SalesError

THREADS, REMOVALS = 8, 50


def on_hand(product, location) -> tuple[int, int]:
    level = StockLevel.objects.get(product=product, location=location, lot__isnull=True)
    return level.on_hand, level.committed


def remove_one_each(manager, product, location, threads: int, removals: int) -> None:
    """``threads`` browsers post "remove 1" ``removals`` times each; all must be taken."""
    start = threads * removals + 25
    ledger.receive(product=product, location=location, quantity=start, unit_cost="1.00")
    clients = []
    for _ in range(threads):
        client = Client()
        client.force_login(manager)
        clients.append(client)
    answers: list[int] = []
    form = {"product": product.sku, "location": location.barcode, "quantity": "-1"}

    def work(index: int) -> None:
        for n in range(removals):
            response = clients[index].post(
                reverse("adjust_stock"), {**form, "reason": f"lost {index}-{n}"}
            )
            answers.append(response.status_code)

    assert run_threads(threads, work) == []
    # Every post was taken (a redirect to the product); none refused or failed.
    assert len(answers) == threads * removals and set(answers) == {302}
    assert on_hand(product, location) == (25, 0)
    removed = StockMove.objects.filter(kind=StockMove.Kind.ADJUSTMENT, from_location=location)
    assert removed.count() == threads * removals
    assert removed.aggregate(t=Sum("quantity"))["t"] == threads * removals
    assert list(find_differences()) == []


@pytest.mark.django_db(transaction=True)
def test_many_browsers_removing_one_unit_lose_nothing(manager, product, locations):
    remove_one_each(manager, product, locations["bin1"], THREADS, REMOVALS)


def channel_for(warehouse) -> Channel:
    channel = Channel.objects.create(code="WEB", name="Web store")
    ChannelWarehouse.objects.create(channel=channel, warehouse=warehouse, priority=1)
    return channel


def identical_orders(product, locations, copies: int) -> None:
    """``copies`` clients POST the same order at once; one order comes of it."""
    ledger.receive(product=product, location=locations["bin1"], quantity=10, unit_cost="1.00")
    token = rotate_token(channel_for(locations["bin1"].warehouse))
    body = json.dumps(
        {
            "external_ref": "WEB-SAME",
            "customer": {"name": "Ada", "email": "ada@example.com", "address": "1 Row"},
            "lines": [{"sku": product.sku, "quantity": 3, "unit_price": "9.90"}],
        }
    )
    answers: list[tuple[int, str]] = []

    def work(_: int) -> None:
        response = Client().post(
            "/api/v1/orders",
            body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )
        answers.append((response.status_code, response.json().get("number", response.content)))

    assert run_threads(copies, work) == []
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] * (copies - 1) + [201], answers
    assert len({number for _, number in answers}) == 1
    assert SalesOrder.objects.count() == 1
    assert on_hand(product, locations["bin1"]) == (10, 3)
    assert ReservationEntry.objects.aggregate(t=Sum("quantity"))["t"] == 3
    assert list(find_differences()) == []


@pytest.mark.django_db(transaction=True)
def test_ten_identical_order_posts_make_one_order(product, locations):
    identical_orders(product, locations, 10)


def ship_and_cancel_at_once(manager, product, locations, threads: int) -> None:
    """Half the threads ship the order, half cancel it, all at once."""
    ledger.receive(product=product, location=locations["bin1"], quantity=10, unit_cost="1.00")
    channel = channel_for(locations["bin1"].warehouse)
    order, _ = sales.create_order(
        channel=channel,
        external_ref="WEB-RACE",
        customer_name="Ada",
        customer_email="",
        shipping_address="1 Row",
        lines=[{"sku": product.sku, "quantity": 4, "unit_price": Decimal("9.90")}],
    )
    done: list[str] = []

    def work(index: int) -> None:
        fresh = SalesOrder.objects.get(pk=order.pk)
        try:
            if index % 2:
                sales.cancel_order(order=fresh, user=manager)
                done.append("cancel")
            else:
                sales.ship_order(order=fresh, user=manager)
                done.append("ship")
        except SalesError as err:  # the loser is refused with a message
            done.append(f"refused {type(err).__name__}")

    assert run_threads(threads, work) == []
    order.refresh_from_db()
    shipped = StockMove.objects.filter(kind=StockMove.Kind.SHIPMENT)
    if order.status == SalesOrder.Status.SHIPPED:
        assert shipped.aggregate(t=Sum("quantity"))["t"] == 4, done
        assert on_hand(product, locations["bin1"]) == (6, 0)
        assert "cancel" not in done, done
    else:
        assert order.status == SalesOrder.Status.CANCELLED, done
        assert not shipped.exists() and "ship" not in done, done
        assert on_hand(product, locations["bin1"]) == (10, 0)
    assert list(find_differences()) == []


@pytest.mark.django_db(transaction=True)
def test_ships_and_cancels_at_once_ship_once_or_cancel(manager, product, locations):
    ship_and_cancel_at_once(manager, product, locations, THREADS)
