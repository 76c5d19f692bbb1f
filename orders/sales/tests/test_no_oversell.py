"""No overselling through the API: concurrent HTTP clients order one SKU with 10 units.

Real requests to ``live_server`` from threads, each with its own ``urllib`` client:
20 at once on PostgreSQL (row locks), 2 at once on SQLite (IMMEDIATE transactions on
a file database). Exactly 10 units end up allocated, the rest is backordered, no
request gets a 5xx and the ledger agrees with the balances.
"""

import json
import threading
import urllib.error
import urllib.request

import pytest
from django.db import connection
from django.db.models import Sum

from inventory import ledger
from inventory.integrity import find_differences
from inventory.models import StockLevel
from orders.channels import tokens as channels
from orders.models import Allocation, SalesOrder, SalesOrderLine

STOCK = 10

only_sqlite = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the SQLite variant (PostgreSQL runs 20 clients)"
)


@pytest.fixture
def shop(transactional_db, web_store, product, locations):
    """MUG-001 with 10 units in WH1; the web store's token."""
    ledger.receive(product=product, location=locations["bin1"], quantity=STOCK, unit_cost="2")
    return channels.rotate_token(web_store)


def post_order(base_url: str, token: str, ref: str, quantity: int) -> tuple[int, dict]:
    body = json.dumps(
        {
            "external_ref": ref,
            "customer": {"name": "Racer", "email": "", "address": "1 Track Lane"},
            "lines": [{"sku": "MUG-001", "quantity": quantity, "unit_price": "9.90"}],
        }
    ).encode()
    request = urllib.request.Request(
        f"{base_url}/api/v1/orders",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {"error": error.read().decode(errors="replace")}


def race(base_url: str, token: str, clients: int, refs, quantities) -> list[tuple[int, dict]]:
    """Post one order per client, all released at the same moment."""
    barrier = threading.Barrier(clients)
    results: list = [None] * clients

    def client(index):
        barrier.wait(timeout=30)
        try:
            results[index] = post_order(base_url, token, refs[index], quantities[index])
        except BaseException as exc:  # a dropped connection is a failure too
            results[index] = (0, {"error": repr(exc)})

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads), "a client hung"
    return results


def assert_exactly_the_stock_was_allocated(results, demand: int):
    statuses = [status for status, _ in results]
    assert all(status == 201 for status in statuses), results
    lines = [line for _, order in results for line in order["lines"]]
    assert sum(line["allocated"] for line in lines) == STOCK
    assert sum(line["backordered"] for line in lines) == demand - STOCK
    for line in lines:
        assert line["allocated"] + line["backordered"] == line["quantity"]
    # The database says the same as the answers.
    assert Allocation.objects.aggregate(n=Sum("quantity"))["n"] == STOCK
    assert SalesOrderLine.objects.aggregate(n=Sum("quantity_allocated"))["n"] == STOCK
    assert StockLevel.objects.aggregate(n=Sum("committed"))["n"] == STOCK
    assert list(find_differences()) == []


@pytest.mark.postgres
def test_twenty_clients_never_oversell_on_postgresql(live_server, shop):
    clients = 20
    quantities = [1 + index % 2 for index in range(clients)]  # 30 units asked for 10
    results = race(
        live_server.url, shop, clients, [f"RACE-{i}" for i in range(clients)], quantities
    )
    assert_exactly_the_stock_was_allocated(results, sum(quantities))
    statuses = {order["status"] for _, order in results}
    assert statuses <= {"allocated", "backordered"}
    assert "backordered" in statuses


@only_sqlite
def test_two_clients_never_oversell_on_sqlite(live_server, shop):
    results = race(live_server.url, shop, 2, ["RACE-A", "RACE-B"], [7, 7])
    assert_exactly_the_stock_was_allocated(results, 14)
    assert sorted(line["allocated"] for _, o in results for line in o["lines"]) == [3, 7]


@pytest.mark.parametrize("clients", [2, pytest.param(8, marks=pytest.mark.postgres)])
def test_the_same_order_sent_at_once_is_placed_once(live_server, shop, clients):
    results = race(live_server.url, shop, clients, ["SAME-1"] * clients, [3] * clients)
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * (clients - 1) + [201], results
    assert len({order["number"] for _, order in results}) == 1
    assert SalesOrder.objects.filter(external_ref="SAME-1").count() == 1
    assert StockLevel.objects.aggregate(n=Sum("committed"))["n"] == 3
    assert list(find_differences()) == []


def post_lines(base_url: str, token: str, ref: str, lines) -> tuple[int, dict]:
    body = json.dumps(
        {
            "external_ref": ref,
            "customer": {"name": "Racer", "email": "", "address": "1 Track Lane"},
            "lines": [{"sku": sku, "quantity": q, "unit_price": "9.90"} for sku, q in lines],
        }
    ).encode()
    request = urllib.request.Request(
        f"{base_url}/api/v1/orders",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {"error": error.read().decode(errors="replace")}


@pytest.mark.postgres
def test_multi_line_orders_in_every_line_order_never_oversell_or_deadlock(
    live_server, transactional_db, web_store, locations
):
    # Three scarce SKUs, each in two bins; 16 clients order all three at once, their
    # lines in rotated orders (the batch locks products, then rows, by key whatever
    # the line order, so no two requests wait for each other in a circle).
    from inventory.models import Product

    skus = []
    for index in range(3):
        product = Product.objects.create(sku=f"SCARCE-{index}", name=f"Scarce {index}")
        ledger.receive(product=product, location=locations["bin1"], quantity=3, unit_cost="1")
        ledger.receive(product=product, location=locations["bin2"], quantity=4, unit_cost="2")
        skus.append(product.sku)
    token = channels.rotate_token(web_store)
    clients = 16
    barrier = threading.Barrier(clients)
    results: list = [None] * clients

    def client(index):
        rotated = skus[index % 3 :] + skus[: index % 3]
        barrier.wait(timeout=30)
        try:
            results[index] = post_lines(
                live_server.url, token, f"MULTI-{index}", [(sku, 1 + index % 2) for sku in rotated]
            )
        except BaseException as exc:
            results[index] = (0, {"error": repr(exc)})

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert all(status == 201 for status, _ in results), results
    for sku in skus:
        allocated = sum(
            line["allocated"]
            for _, order in results
            for line in order["lines"]
            if line["sku"] == sku
        )
        assert allocated == 7  # 24 asked for, 7 in stock
        assert (
            Allocation.objects.filter(line__product__sku=sku).aggregate(n=Sum("quantity"))["n"]
            == 7
        )
    assert StockLevel.objects.aggregate(n=Sum("committed"))["n"] == 21
    assert list(find_differences()) == []
