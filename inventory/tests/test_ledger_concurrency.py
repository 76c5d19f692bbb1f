"""Threads hammering the same balance rows and cost layers through the ledger.

PostgreSQL: 8 threads, row locks in primary-key order. SQLite: 2 threads, serialised
by IMMEDIATE transactions on a file database. Either way: no negative stock, no lost
update, no database error reaching the caller (only refusals such as
InsufficientStock), and check_ledger clean afterwards.
"""

import random
import threading
from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from common import transactions
from common.testing import run_threads
from inventory import errors, ledger
from inventory.integrity import find_differences
from inventory.ledger import costing
from inventory.models import Lot, StockLevel, StockMove

ACCEPTABLE = (errors.InsufficientStock,)  # includes CommittedStock and NotCommitted


@pytest.fixture
def counting_retries(monkeypatch):
    seen = Counter()
    original = transactions.is_retryable

    def counted(exc):
        seen[str(exc).splitlines()[0][:60]] += 1
        return original(exc)

    monkeypatch.setattr(transactions, "is_retryable", counted)
    return seen


def hammer(threads: int, rounds: int, product, locations, record_property, retries):
    a, b = locations["bin1"], locations["bin2"]
    for cost in ("1.00", "1.50", "2.00", "2.50"):
        ledger.receive(product=product, location=a, quantity=60, unit_cost=cost)
    ledger.receive(product=product, location=b, quantity=60, unit_cost="3.00")
    start = {a.pk: 240, b.pk: 60}
    done: list[Counter] = [Counter() for _ in range(threads)]
    refused: list[Counter] = [Counter() for _ in range(threads)]

    def work(index):
        rng = random.Random(index)
        tally, refusals = done[index], refused[index]
        for _ in range(rounds):
            quantity = rng.randint(1, 6)
            source, target = rng.sample([a, b], 2)
            action = rng.choice(["ship", "ship", "transfer", "transfer", "reserve_ship"])
            try:
                if action == "ship":
                    ledger.ship(product=product, location=source, quantity=quantity)
                    tally[("shipped", source.pk)] += quantity
                elif action == "transfer":
                    ledger.transfer(
                        product=product,
                        from_location=source,
                        to_location=target,
                        quantity=quantity,
                    )
                    tally[("out", source.pk)] += quantity
                    tally[("in", target.pk)] += quantity
                else:
                    ledger.reserve(product=product, location=source, quantity=quantity)
                    tally[("reserved", source.pk)] += quantity
                    ledger.ship(
                        product=product, location=source, quantity=quantity, from_committed=True
                    )
                    tally[("shipped", source.pk)] += quantity
                    tally[("shipped_committed", source.pk)] += quantity
            except ACCEPTABLE as exc:
                refusals[exc.code] += 1

    failures = run_threads(threads, work)
    assert failures == [], failures

    total = sum(done, Counter())
    for place in (a, b):
        row = StockLevel.objects.get(product=product, location=place)
        expected = (
            start[place.pk]
            - total[("shipped", place.pk)]
            - total[("out", place.pk)]
            + total[("in", place.pk)]
        )
        assert row.on_hand == expected, "a lost update"
        assert row.committed == (
            total[("reserved", place.pk)] - total[("shipped_committed", place.pk)]
        )
        assert 0 <= row.committed <= row.on_hand
    shipped = sum(v for (kind, _), v in total.items() if kind == "shipped")
    assert StockLevel.objects.filter(product=product).aggregate(t=Sum("on_hand"))["t"] == (
        300 - shipped
    )
    assert (
        StockMove.objects.filter(kind=StockMove.Kind.SHIPMENT).aggregate(t=Sum("quantity"))["t"]
        == shipped
    )
    assert shipped > 0 and sum(refused, Counter()), "the threads never competed"
    assert list(find_differences()) == []
    out = StringIO()
    call_command("check_ledger", stdout=out)
    assert "agree" in out.getvalue()
    record_property("succeeded", dict(total))
    record_property("refused", dict(sum(refused, Counter())))
    record_property("retried", dict(retries))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_threads_on_postgresql(product, locations, record_property, counting_retries):
    hammer(8, 40, product, locations, record_property, counting_retries)


@pytest.mark.django_db(transaction=True)
def test_two_threads_on_sqlite(product, locations, record_property, counting_retries):
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite variant")
    hammer(2, 40, product, locations, record_property, counting_retries)
    assert not counting_retries, "database is locked reached the retry wrapper"


@pytest.mark.django_db(transaction=True)
def test_threads_creating_the_same_lot_and_balance_row(lot_product, locations, counting_retries):
    """Receipts of a new lot into an empty place: one lot, one balance row, every unit kept."""
    threads = 8 if connection.vendor == "postgresql" else 2
    expiry = timezone.localdate() + timedelta(days=40)

    def work(index):
        for _ in range(5):
            ledger.receive(
                product=lot_product,
                location=locations["receiving"],
                quantity=index + 1,
                unit_cost="1",
                lot_code="RACE-1",
                expires_on=expiry,
            )
            ledger.transfer(
                product=lot_product,
                from_location=locations["receiving"],
                to_location=locations["bin2"],
                quantity=1,
                lot=Lot.objects.get(product=lot_product, code="RACE-1"),
            )

    assert run_threads(threads, work) == []
    lot = Lot.objects.get(product=lot_product, code="RACE-1")
    rows = StockLevel.objects.filter(product=lot_product, lot=lot)
    assert rows.count() == 2
    received = 5 * sum(range(1, threads + 1))
    assert rows.get(location=locations["bin2"]).on_hand == 5 * threads
    assert rows.get(location=locations["receiving"]).on_hand == received - 5 * threads
    assert list(find_differences()) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_shipment_waiting_on_layers_emptied_meanwhile_finds_the_next_ones(
    product, locations, monkeypatch
):
    """A shipment that waited for layer locks uses the layers as they are after the wait.

    One transaction empties the twelve oldest layers (more than one lock batch) while
    a second shipment from another location waits for them; PostgreSQL re-checks the
    locked rows, and the second shipment must take the next layers at their cost, not
    report that the layers hold too few units or reuse the emptied ones.
    """
    from django.db import transaction

    monkeypatch.setattr(costing, "LAYER_BATCH", 10)
    a, b = locations["bin1"], locations["bin2"]
    for cost in range(1, 16):
        ledger.receive(product=product, location=a, quantity=1, unit_cost=cost)
    ledger.receive(product=product, location=b, quantity=5, unit_cost=99)
    shipped = threading.Event()
    release = threading.Event()
    results = {}

    def first(index):
        if index == 0:
            with transaction.atomic():
                ledger.ship(product=product, location=a, quantity=12)
                shipped.set()
                assert release.wait(timeout=20)
        else:
            assert shipped.wait(timeout=20)
            results["second"] = ledger.ship(product=product, location=b, quantity=3)

    def watch():
        # Let the first transaction commit only once the second waits on a row lock.
        with connection.cursor() as cursor:
            for _ in range(200):
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                )
                if cursor.fetchone()[0]:
                    break
                threading.Event().wait(0.05)
        release.set()

    watcher = threading.Thread(target=lambda: (shipped.wait(20), watch(), connection.close()))
    watcher.start()
    failures = run_threads(2, first)
    watcher.join(timeout=30)
    assert failures == []
    # Layers 13, 14 and 15 (costs 13 + 14 + 15): FIFO is per product, not per location.
    assert results["second"].total_cost == 42
    assert list(find_differences()) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_receipts_and_shipments_keep_fifo_order_replayable(product, locations):
    """Receipts of one product into different bins race shipments; FIFO stays replayable.

    Cost layers are consumed in posting order, and check_ledger replays moves in
    posting order: both only agree if a product's layer changes are serialised, so
    that no shipment can skip a receipt posted before it but committed after it.
    """
    bins = [locations["bin1"], locations["bin2"], locations["receiving"]]
    ledger.receive(product=product, location=bins[0], quantity=50, unit_cost="1.00")

    def work(index):
        rng = random.Random(index)
        for round_ in range(25):
            try:
                if rng.random() < 0.5:
                    ledger.receive(
                        product=product,
                        location=rng.choice(bins),
                        quantity=rng.randint(1, 5),
                        unit_cost=f"{index + 1}.{round_:02d}",
                    )
                else:
                    ledger.ship(
                        product=product, location=rng.choice(bins), quantity=rng.randint(1, 8)
                    )
            except ACCEPTABLE:
                pass

    failures = run_threads(8, work)
    assert failures == []
    assert list(find_differences()) == []
