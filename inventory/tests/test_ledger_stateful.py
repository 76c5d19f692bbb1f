"""Random sequences of ledger operations against a model of what the ledger should hold.

The machine predicts, for every step, either the exact outcome (balances, FIFO layers,
the cost stored on the move) or the exact refusal; a refusal must change nothing.
After every step the balances equal the ledger sums (inventory.integrity), nothing is
negative, committed stays within on hand, and the layers hold what the balances hold.
"""

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from inventory import errors, ledger
from inventory.integrity import find_differences
from inventory.models import CostLayer, Lot, Product, StockLevel
from inventory.tests.conftest import ledger_snapshot
from warehouses.models import Location, Warehouse

PRODUCTS = ["MUG", "TEA"]  # untracked; tracked by lot and expiry
PLACES = ["bin1", "bin2", "receiving", "quarantine"]
LOTS = [None, "L1", "L2", "LX"]  # LX has expired
COSTS = ["0", "1.25", "2", "3.333333", "10"]
SIX = Decimal("0.000001")

quantities = st.integers(min_value=1, max_value=12)
products = st.sampled_from(PRODUCTS)
places = st.sampled_from(PLACES)
lots = st.sampled_from(LOTS)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        # Each run works inside its own transaction, rolled back in teardown().
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        today = timezone.localdate()
        warehouse = Warehouse.objects.create(code="SM", name="State machine")
        self.places = {
            "bin1": Location.objects.create(warehouse=warehouse, code="B1", barcode="SM-B1"),
            "bin2": Location.objects.create(warehouse=warehouse, code="B2", barcode="SM-B2"),
            "receiving": Location.objects.create(
                warehouse=warehouse, code="R", barcode="SM-R", kind=Location.Kind.RECEIVING
            ),
            "quarantine": Location.objects.create(
                warehouse=warehouse, code="Q", barcode="SM-Q", kind=Location.Kind.QUARANTINE
            ),
        }
        self.products = {
            "MUG": Product.objects.create(sku="SM-MUG", name="Mug"),
            "TEA": Product.objects.create(sku="SM-TEA", name="Tea", tracking="lot_expiry"),
        }
        tea = self.products["TEA"]
        self.lots = {
            None: None,
            "L1": Lot.objects.create(product=tea, code="L1", expires_on=today + timedelta(30)),
            "L2": Lot.objects.create(product=tea, code="L2", expires_on=today + timedelta(60)),
            "LX": Lot.objects.create(product=tea, code="LX", expires_on=today - timedelta(1)),
        }
        # The model: balances per (product, place, lot) and FIFO layers per product.
        self.balances: dict[tuple, list[int]] = {}
        self.layers: dict[str, list[list]] = {name: [] for name in PRODUCTS}
        self.last_cost: dict[str, Decimal] = {}

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --- the model ------------------------------------------------------------------

    def balance(self, product, place, lot) -> list[int]:
        return self.balances.setdefault((product, place, lot), [0, 0])

    def lot_error(self, product, lot):
        if product == "MUG" and lot is not None:
            return errors.LotNotAllowed
        if product == "TEA" and lot is None:
            return errors.LotRequired
        return None

    def free_error(self, product, place, lot, quantity):
        on_hand, committed = self.balance(product, place, lot)
        if on_hand < quantity:
            return errors.InsufficientStock
        if on_hand - committed < quantity:
            return errors.CommittedStock
        return None

    def add_layer(self, product, quantity, cost: Decimal):
        self.layers[product].append([quantity, cost])
        self.last_cost[product] = cost

    def consume(self, product, quantity) -> Decimal:
        total = Decimal("0")
        for layer in self.layers[product]:
            take = min(layer[0], quantity)
            layer[0] -= take
            quantity -= take
            total += take * layer[1]
            if not quantity:
                break
        assert quantity == 0, "the model ran out of layers"
        return total

    def average_cost(self, product) -> Decimal:
        open_layers = [layer for layer in self.layers[product] if layer[0]]
        units = sum(layer[0] for layer in open_layers)
        if not units:
            return self.last_cost.get(product, Decimal("0"))
        value = sum(layer[0] * layer[1] for layer in open_layers)
        return (value / units).quantize(SIX, ROUND_HALF_UP)

    def attempt(self, expected_error, operation, **kwargs):
        """Run ``operation``: it succeeds, or raises ``expected_error`` and changes nothing."""
        if expected_error is None:
            return operation(**kwargs)
        before = ledger_snapshot()
        with pytest.raises(errors.LedgerError) as caught:
            operation(**kwargs)
        assert type(caught.value) is expected_error, f"{caught.value!r} for {kwargs}"
        assert ledger_snapshot() == before
        return None

    def kwargs(self, product, place, lot, **more):
        return {
            "product": self.products[product],
            "location": self.places[place],
            "lot": self.lots[lot],
            **more,
        }

    # --- rules ----------------------------------------------------------------------

    @rule(
        product=products, place=places, lot=lots, quantity=quantities, cost=st.sampled_from(COSTS)
    )
    def receive(self, product, place, lot, quantity, cost):
        error = self.lot_error(product, lot)
        move = self.attempt(
            error,
            ledger.receive,
            **self.kwargs(product, place, lot, quantity=quantity, unit_cost=cost),
        )
        if move:
            self.balance(product, place, lot)[0] += quantity
            self.add_layer(product, quantity, Decimal(cost))
            assert move.total_cost == Decimal(cost) * quantity

    @rule(product=products, source=places, destination=places, lot=lots, quantity=quantities)
    def transfer(self, product, source, destination, lot, quantity):
        error = self.lot_error(product, lot)
        if not error and source == destination:
            error = errors.SameLocation
        error = error or self.free_error(product, source, lot, quantity)
        move = self.attempt(
            error,
            ledger.transfer,
            product=self.products[product],
            from_location=self.places[source],
            to_location=self.places[destination],
            lot=self.lots[lot],
            quantity=quantity,
        )
        if move:
            self.balance(product, source, lot)[0] -= quantity
            self.balance(product, destination, lot)[0] += quantity

    @rule(
        product=products,
        place=places,
        lot=lots,
        quantity=st.integers(min_value=-12, max_value=12).filter(bool),
        cost=st.sampled_from([None, *COSTS]),
    )
    def adjust(self, product, place, lot, quantity, cost):
        error = self.lot_error(product, lot)
        if not error and quantity < 0:
            error = self.free_error(product, place, lot, -quantity)
        expected_cost = None
        if not error and quantity > 0:
            expected_cost = self.average_cost(product) if cost is None else Decimal(cost)
        move = self.attempt(
            error,
            ledger.adjust,
            **self.kwargs(product, place, lot, quantity=quantity, unit_cost=cost, reason="test"),
        )
        if not move:
            return
        self.balance(product, place, lot)[0] += quantity
        if quantity > 0:
            assert move.unit_cost == expected_cost
            self.add_layer(product, quantity, expected_cost)
        else:
            assert move.total_cost == self.consume(product, -quantity)

    @rule(
        product=products,
        place=places,
        lot=lots,
        counted=st.integers(min_value=0, max_value=25),
        cost=st.sampled_from([None, *COSTS]),
    )
    def count(self, product, place, lot, counted, cost):
        error = self.lot_error(product, lot)
        on_hand, committed = self.balance(product, place, lot)
        if not error and counted < on_hand and counted < committed:
            error = errors.CommittedStock
        expected_cost = None
        if not error and counted > on_hand:
            expected_cost = self.average_cost(product) if cost is None else Decimal(cost)
        move = self.attempt(
            error,
            ledger.count,
            **self.kwargs(product, place, lot, counted=counted, unit_cost=cost),
        )
        if error:
            return
        if counted == on_hand:
            assert move is None
            return
        self.balance(product, place, lot)[0] = counted
        if counted > on_hand:
            assert move.unit_cost == expected_cost
            self.add_layer(product, counted - on_hand, expected_cost)
        else:
            assert move.total_cost == self.consume(product, on_hand - counted)

    @rule(product=products, place=places, lot=lots, quantity=quantities)
    def reserve(self, product, place, lot, quantity):
        error = self.lot_error(product, lot)
        if not error and place == "quarantine":
            error = errors.LocationNotSellable
        if not error and lot == "LX":
            error = errors.ExpiredLot
        error = error or self.free_error(product, place, lot, quantity)
        if self.attempt(
            error, ledger.reserve, **self.kwargs(product, place, lot, quantity=quantity)
        ):
            self.balance(product, place, lot)[1] += quantity

    @rule(product=products, place=places, lot=lots, quantity=quantities)
    def release(self, product, place, lot, quantity):
        error = self.lot_error(product, lot)
        if not error and self.balance(product, place, lot)[1] < quantity:
            error = errors.NotCommitted
        if self.attempt(
            error, ledger.release, **self.kwargs(product, place, lot, quantity=quantity)
        ):
            self.balance(product, place, lot)[1] -= quantity

    @rule(
        product=products, place=places, lot=lots, quantity=quantities, from_committed=st.booleans()
    )
    def ship(self, product, place, lot, quantity, from_committed):
        error = self.lot_error(product, lot)
        if not error and lot == "LX":
            error = errors.ExpiredLot
        if not error and from_committed:
            if self.balance(product, place, lot)[1] < quantity:
                error = errors.NotCommitted
        elif not error:
            error = self.free_error(product, place, lot, quantity)
        move = self.attempt(
            error,
            ledger.ship,
            **self.kwargs(product, place, lot, quantity=quantity, from_committed=from_committed),
        )
        if move:
            row = self.balance(product, place, lot)
            row[0] -= quantity
            row[1] -= quantity if from_committed else 0
            assert move.total_cost == self.consume(product, quantity)

    # --- invariants -----------------------------------------------------------------

    @invariant()
    def ledger_agrees_with_balances(self):
        assert list(find_differences()) == []

    @invariant()
    def balances_match_the_model(self):
        names = {obj.pk: name for name, obj in self.places.items()}
        products = {obj.pk: name for name, obj in self.products.items()}
        lots = {obj.pk: name for name, obj in self.lots.items() if obj}
        actual = {}
        for row in StockLevel.objects.all():
            assert 0 <= row.committed <= row.on_hand
            key = (products[row.product_id], names[row.location_id], lots.get(row.lot_id))
            actual[key] = [row.on_hand, row.committed]
        expected = {key: value for key, value in self.balances.items() if value != [0, 0]}
        assert {k: v for k, v in actual.items() if v != [0, 0]} == expected

    @invariant()
    def layers_match_the_model_and_hold_what_is_on_hand(self):
        for name, product in self.products.items():
            layers = list(
                CostLayer.objects.filter(product=product)
                .order_by("id")
                .values_list("remaining", "unit_cost")
            )
            assert layers == [tuple(layer) for layer in self.layers[name]]
            on_hand = sum(v[0] for k, v in self.balances.items() if k[0] == name)
            assert sum(remaining for remaining, _ in layers) == on_hand


def test_random_ledger_sequences(db):
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            derandomize=True,
            deadline=None,
            database=None,
            # Shrinking a failure replays hundreds of database-backed runs (minutes);
            # the unshrunk steps (25 at most) are printed and readable as they are.
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
