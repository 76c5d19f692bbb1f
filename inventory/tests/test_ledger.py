"""The ledger's write path: every operation's success and every refusal, FIFO cost, retries."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

from common import transactions
from inventory import errors, ledger
from inventory.integrity import find_differences
from inventory.models import CostLayer, CountRecord, Lot, ReservationEntry, StockLevel, StockMove
from inventory.tests.conftest import ledger_snapshot, refused

BAD_QUANTITIES = [0, -1, 1.5, "3", True, False, None, Decimal("2"), ledger.MAX_QUANTITY + 1]
BAD_COSTS = [-1, "-0.01", "abc", "", None, True, float("nan"), "Infinity", "1e12", object()]


def level(product, location, lot=None) -> StockLevel | None:
    return StockLevel.objects.filter(product=product, location=location, lot=lot).first()


def on_hand(product, location, lot=None) -> int:
    row = level(product, location, lot)
    return row.on_hand if row else 0


def committed(product, location, lot=None) -> int:
    row = level(product, location, lot)
    return row.committed if row else 0


def remaining_layers(product) -> list[tuple[int, Decimal]]:
    return [
        (layer.remaining, layer.unit_cost)
        for layer in CostLayer.objects.filter(product=product).order_by("id")
    ]


@pytest.fixture
def stocked(product, locations):
    """MUG-001: 10 in bin1 at 2.00, then 10 in bin1 at 4.00."""
    ledger.receive(product=product, location=locations["bin1"], quantity=10, unit_cost="2.00")
    ledger.receive(product=product, location=locations["bin1"], quantity=10, unit_cost="4.00")
    return product


@pytest.fixture
def lot_stocked(lot_product, lot, locations):
    """TEA-100: 10 of lot L-2030 in bin1 at 1.50."""
    ledger.receive(
        product=lot_product, location=locations["bin1"], quantity=10, unit_cost="1.5", lot=lot
    )
    return lot_product


@pytest.fixture
def other_lot(plain_lot_product):
    return Lot.objects.create(product=plain_lot_product, code="B-1")


@pytest.fixture(autouse=True)
def ledger_stays_clean(request):
    """After every test that posts stock, the balances must still agree with the ledger."""
    if "locations" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("locations")  # set up the database before this fixture
    yield
    assert list(find_differences()) == []


# --- receive ------------------------------------------------------------------------


def test_receive_posts_a_receipt_a_balance_and_a_cost_layer(product, locations, manager):
    move = ledger.receive(
        product=product,
        location=locations["bin1"],
        quantity=12,
        unit_cost="2.505",
        user=manager,
        reference="PO-1",
    )
    move.refresh_from_db()
    assert move.kind == StockMove.Kind.RECEIPT
    assert (move.from_location, move.to_location) == (None, locations["bin1"])
    assert move.unit_cost == Decimal("2.505")
    assert move.total_cost == Decimal("30.06")
    assert move.user == manager and move.reference == "PO-1"
    assert (on_hand(product, locations["bin1"]), committed(product, locations["bin1"])) == (12, 0)
    layer = move.cost_layer
    assert (layer.quantity, layer.remaining, layer.unit_cost) == (12, 12, Decimal("2.505"))

    ledger.receive(product=product, location=locations["bin1"], quantity=3, unit_cost=0)
    assert on_hand(product, locations["bin1"]) == 15
    assert StockLevel.objects.filter(product=product).count() == 1


def test_receive_creates_a_lot_from_its_code_and_reuses_it(lot_product, locations, today):
    expiry = today + timedelta(30)
    first = ledger.receive(
        product=lot_product,
        location=locations["receiving"],
        quantity=5,
        unit_cost=1,
        lot_code="  LX-1 ",
        expires_on=expiry,
    )
    lot = first.lot
    assert (lot.code, lot.expires_on, lot.received_on) == ("LX-1", expiry, today)
    second = ledger.receive(
        product=lot_product, location=locations["bin1"], quantity=2, unit_cost=1, lot_code="LX-1"
    )
    assert second.lot_id == lot.pk
    assert Lot.objects.filter(product=lot_product).count() == 1
    assert on_hand(lot_product, locations["receiving"], lot) == 5
    assert on_hand(lot_product, locations["bin1"], lot) == 2


def test_receive_into_a_quarantine_location_is_allowed(product, locations):
    ledger.receive(product=product, location=locations["quarantine"], quantity=1, unit_cost=1)
    assert on_hand(product, locations["quarantine"]) == 1


def test_receive_gives_an_expiry_to_a_lot_that_had_none(lot_product, locations, today):
    undated = Lot.objects.create(product=lot_product, code="U-1")
    ledger.receive(
        product=lot_product,
        location=locations["bin1"],
        quantity=1,
        unit_cost=1,
        lot=undated,
        expires_on=today + timedelta(9),
    )
    undated.refresh_from_db()
    assert undated.expires_on == today + timedelta(9)


@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_receive_refuses_a_bad_quantity(product, locations, quantity):
    with refused(errors.InvalidQuantity, "invalid_quantity", "MUG-001") as caught:
        ledger.receive(product=product, location=locations["bin1"], quantity=quantity, unit_cost=1)
    assert caught.value.field == "quantity"


@pytest.mark.parametrize("unit_cost", BAD_COSTS)
def test_receive_refuses_a_bad_cost(product, locations, unit_cost):
    with refused(errors.InvalidCost, "invalid_cost", "MUG-001") as caught:
        ledger.receive(
            product=product, location=locations["bin1"], quantity=1, unit_cost=unit_cost
        )
    assert caught.value.field == "unit_cost"


def test_receive_refuses_a_total_cost_beyond_the_column(product, locations):
    with refused(errors.InvalidCost, "invalid_cost", "MUG-001", "too large"):
        ledger.receive(
            product=product, location=locations["bin1"], quantity=10**8, unit_cost="9999999"
        )


def test_receive_refuses_a_dropship_product(dropship_product, locations):
    with refused(errors.NotStocked, "not_stocked", "SOFA-9", "dropship"):
        ledger.receive(
            product=dropship_product, location=locations["bin1"], quantity=1, unit_cost=1
        )


def test_receive_refuses_an_inactive_location(product, locations):
    locations["bin2"].active = False
    locations["bin2"].save()
    with refused(errors.LocationInactive, "location_inactive", "MUG-001", "WH1-A-02"):
        ledger.receive(product=product, location=locations["bin2"], quantity=1, unit_cost=1)


def test_receive_refuses_a_lot_tracked_product_without_lot(lot_product, locations):
    with refused(errors.LotRequired, "lot_required", "TEA-100"):
        ledger.receive(product=lot_product, location=locations["bin1"], quantity=1, unit_cost=1)


def test_receive_refuses_a_lot_for_an_untracked_product(product, lot, locations):
    with refused(errors.LotNotAllowed, "lot_not_allowed", "MUG-001", "L-2030"):
        ledger.receive(
            product=product, location=locations["bin1"], quantity=1, unit_cost=1, lot=lot
        )
    with refused(errors.LotNotAllowed, "lot_not_allowed", "MUG-001", "X9"):
        ledger.receive(
            product=product, location=locations["bin1"], quantity=1, unit_cost=1, lot_code="X9"
        )


def test_receive_refuses_a_lot_of_another_product(lot_product, other_lot, locations):
    with refused(errors.WrongLot, "wrong_lot", "B-1", "TEA-100"):
        ledger.receive(
            product=lot_product, location=locations["bin1"], quantity=1, unit_cost=1, lot=other_lot
        )


def test_receive_refuses_a_lot_and_a_different_lot_code(lot_product, lot, locations):
    with refused(errors.WrongLot, "wrong_lot", "L-2030", "L-OTHER"):
        ledger.receive(
            product=lot_product,
            location=locations["bin1"],
            quantity=1,
            unit_cost=1,
            lot=lot,
            lot_code="L-OTHER",
        )


def test_receive_refuses_a_new_lot_without_expiry(lot_product, locations):
    with refused(errors.ExpiryRequired, "expiry_required", "TEA-100", "L-NEW"):
        ledger.receive(
            product=lot_product,
            location=locations["bin1"],
            quantity=1,
            unit_cost=1,
            lot_code="L-NEW",
        )


def test_receive_refuses_an_undated_lot_of_an_expiry_product(lot_product, locations):
    undated = Lot.objects.create(product=lot_product, code="U-2")
    with refused(errors.ExpiryRequired, "expiry_required", "TEA-100", "U-2"):
        ledger.receive(
            product=lot_product, location=locations["bin1"], quantity=1, unit_cost=1, lot=undated
        )


def test_receive_refuses_a_conflicting_expiry(lot_product, lot, locations, today):
    wrong = today + timedelta(3)
    with refused(errors.LotExpiryConflict, "lot_expiry_conflict", "L-2030", "TEA-100"):
        ledger.receive(
            product=lot_product,
            location=locations["bin1"],
            quantity=1,
            unit_cost=1,
            lot_code="L-2030",
            expires_on=wrong,
        )
    with refused(errors.LotExpiryConflict, "lot_expiry_conflict", "L-2030", wrong.isoformat()):
        ledger.receive(
            product=lot_product,
            location=locations["bin1"],
            quantity=1,
            unit_cost=1,
            lot=lot,
            expires_on=wrong,
        )


def test_receive_refuses_an_expiry_that_is_not_a_date(lot_product, locations):
    with refused(errors.InvalidExpiry, "invalid_expiry", "2030-01-01"):
        ledger.receive(
            product=lot_product,
            location=locations["bin1"],
            quantity=1,
            unit_cost=1,
            lot_code="L-S",
            expires_on="2030-01-01",
        )


# --- get_or_create_lot --------------------------------------------------------------


def test_get_or_create_lot_creates_then_returns_the_same_lot(lot_product, today):
    expiry = today + timedelta(10)
    lot = ledger.get_or_create_lot(product=lot_product, code=" N-1 ", expires_on=expiry)
    assert (lot.code, lot.expires_on, lot.received_on) == ("N-1", expiry, today)
    again = ledger.get_or_create_lot(product=lot_product, code="N-1")
    assert again.pk == lot.pk
    assert (
        ledger.get_or_create_lot(product=lot_product, code="N-1", expires_on=expiry).pk == lot.pk
    )


def test_get_or_create_lot_takes_a_received_date_and_optional_expiry(plain_lot_product):
    lot = ledger.get_or_create_lot(
        product=plain_lot_product, code="B-7", received_on=date(2026, 1, 2)
    )
    assert (lot.expires_on, lot.received_on) == (None, date(2026, 1, 2))
    dated = ledger.get_or_create_lot(
        product=plain_lot_product, code="B-7", expires_on=date(2027, 1, 1)
    )
    assert dated.pk == lot.pk
    lot.refresh_from_db()
    assert lot.expires_on == date(2027, 1, 1)


def test_get_or_create_lot_refusals(product, lot_product, lot, today):
    with refused(errors.LotNotAllowed, "lot_not_allowed", "MUG-001", "Z1"):
        ledger.get_or_create_lot(product=product, code="Z1")
    with refused(errors.LotRequired, "lot_required", "TEA-100"):
        ledger.get_or_create_lot(product=lot_product, code="   ", expires_on=today)
    with refused(errors.InvalidLotCode, "invalid_lot_code", "TEA-100"):
        ledger.get_or_create_lot(product=lot_product, code="X" * 65, expires_on=today)
    with refused(errors.InvalidLotCode, "invalid_lot_code", "TEA-100"):
        ledger.get_or_create_lot(product=lot_product, code="A\x1dB", expires_on=today)
    with refused(errors.ExpiryRequired, "expiry_required", "TEA-100", "NEW-1"):
        ledger.get_or_create_lot(product=lot_product, code="NEW-1")
    with refused(errors.LotExpiryConflict, "lot_expiry_conflict", "L-2030", today.isoformat()):
        ledger.get_or_create_lot(product=lot_product, code="L-2030", expires_on=today)
    with refused(errors.InvalidExpiry, "invalid_expiry", "soon"):
        ledger.get_or_create_lot(product=lot_product, code="NEW-2", expires_on="soon")


# --- transfer -----------------------------------------------------------------------


def test_transfer_moves_units_without_touching_cost_layers(stocked, locations):
    layers = remaining_layers(stocked)
    move = ledger.transfer(
        product=stocked, from_location=locations["bin1"], to_location=locations["bin2"], quantity=7
    )
    assert move.kind == StockMove.Kind.TRANSFER
    assert (move.from_location, move.to_location) == (locations["bin1"], locations["bin2"])
    assert (move.unit_cost, move.total_cost) == (None, None)
    assert on_hand(stocked, locations["bin1"]) == 13
    assert on_hand(stocked, locations["bin2"]) == 7
    assert remaining_layers(stocked) == layers


def test_transfer_between_warehouses_and_out_of_an_inactive_location(stocked, locations):
    from warehouses.models import Location, Warehouse

    other = Warehouse.objects.create(code="WH2", name="Second")
    far = Location.objects.create(warehouse=other, code="B", barcode="WH2-B")
    locations["bin1"].active = False
    locations["bin1"].save()
    ledger.transfer(product=stocked, from_location=locations["bin1"], to_location=far, quantity=20)
    assert on_hand(stocked, far) == 20
    assert on_hand(stocked, locations["bin1"]) == 0


def test_transfer_may_move_an_expired_lot_to_quarantine(lot_product, expired_lot, locations):
    ledger.receive(
        product=lot_product, location=locations["bin1"], quantity=4, unit_cost=1, lot=expired_lot
    )
    ledger.transfer(
        product=lot_product,
        from_location=locations["bin1"],
        to_location=locations["quarantine"],
        quantity=4,
        lot=expired_lot,
    )
    assert on_hand(lot_product, locations["quarantine"], expired_lot) == 4


@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_transfer_refuses_a_bad_quantity(stocked, locations, quantity):
    with refused(errors.InvalidQuantity, "invalid_quantity", "MUG-001"):
        ledger.transfer(
            product=stocked,
            from_location=locations["bin1"],
            to_location=locations["bin2"],
            quantity=quantity,
        )


def test_transfer_refuses_more_than_on_hand(stocked, locations):
    with refused(errors.InsufficientStock, "insufficient_stock", "MUG-001", "WH1-A-01", "21"):
        ledger.transfer(
            product=stocked,
            from_location=locations["bin1"],
            to_location=locations["bin2"],
            quantity=21,
        )


def test_transfer_from_an_empty_location_creates_no_balance_row(stocked, locations):
    with refused(errors.InsufficientStock, "insufficient_stock", "MUG-001", "WH1-A-02"):
        ledger.transfer(
            product=stocked,
            from_location=locations["bin2"],
            to_location=locations["receiving"],
            quantity=1,
        )


def test_transfer_refuses_committed_units(stocked, locations):
    ledger.reserve(product=stocked, location=locations["bin1"], quantity=15)
    with refused(errors.CommittedStock, "committed_stock", "MUG-001", "WH1-A-01", "15"):
        ledger.transfer(
            product=stocked,
            from_location=locations["bin1"],
            to_location=locations["bin2"],
            quantity=6,
        )
    ledger.transfer(
        product=stocked, from_location=locations["bin1"], to_location=locations["bin2"], quantity=5
    )


def test_transfer_refuses_the_same_location(stocked, locations):
    with refused(errors.SameLocation, "same_location", "MUG-001", "WH1-A-01"):
        ledger.transfer(
            product=stocked,
            from_location=locations["bin1"],
            to_location=locations["bin1"],
            quantity=1,
        )


def test_transfer_refuses_an_inactive_target(stocked, locations):
    locations["bin2"].active = False
    locations["bin2"].save()
    with refused(errors.LocationInactive, "location_inactive", "MUG-001", "WH1-A-02") as caught:
        ledger.transfer(
            product=stocked,
            from_location=locations["bin1"],
            to_location=locations["bin2"],
            quantity=1,
        )
    assert caught.value.field == "to_location"


def test_transfer_lot_refusals(lot_stocked, lot, other_lot, product, dropship_product, locations):
    kwargs = {"from_location": locations["bin1"], "to_location": locations["bin2"], "quantity": 1}
    with refused(errors.LotRequired, "lot_required", "TEA-100"):
        ledger.transfer(product=lot_stocked, **kwargs)
    with refused(errors.LotNotAllowed, "lot_not_allowed", "MUG-001", "L-2030"):
        ledger.transfer(product=product, lot=lot, **kwargs)
    with refused(errors.WrongLot, "wrong_lot", "B-1", "TEA-100"):
        ledger.transfer(product=lot_stocked, lot=other_lot, **kwargs)
    with refused(errors.NotStocked, "not_stocked", "SOFA-9"):
        ledger.transfer(product=dropship_product, **kwargs)
    with refused(errors.InsufficientStock, "insufficient_stock", "TEA-100", "lot L-2030"):
        ledger.transfer(product=lot_stocked, lot=lot, **{**kwargs, "quantity": 11})


# --- adjust -------------------------------------------------------------------------


def test_adjust_up_at_a_given_cost_and_down_at_fifo_cost(stocked, locations, manager):
    found = ledger.adjust(
        product=stocked,
        location=locations["bin2"],
        quantity=5,
        unit_cost="1",
        reason=" found behind shelf ",
        user=manager,
    )
    assert found.kind == StockMove.Kind.ADJUSTMENT
    assert (found.to_location, found.from_location) == (locations["bin2"], None)
    assert (found.unit_cost, found.total_cost, found.reason) == (1, 5, "found behind shelf")
    assert on_hand(stocked, locations["bin2"]) == 5

    lost = ledger.adjust(
        product=stocked, location=locations["bin1"], quantity=-12, reason="damaged"
    )
    assert (lost.from_location, lost.to_location) == (locations["bin1"], None)
    assert lost.total_cost == Decimal("28")  # 10 × 2 + 2 × 4
    assert lost.unit_cost == Decimal("2.333333")
    assert on_hand(stocked, locations["bin1"]) == 8
    assert remaining_layers(stocked) == [(0, 2), (8, 4), (5, 1)]


def test_adjust_up_without_cost_comes_in_at_the_average_cost(stocked, locations):
    ledger.ship(product=stocked, location=locations["bin1"], quantity=5)  # 5 × 2 left
    move = ledger.adjust(product=stocked, location=locations["bin2"], quantity=3, reason="found")
    # (5 × 2 + 10 × 4) / 15
    assert move.unit_cost == Decimal("3.333333")
    assert move.cost_layer.unit_cost == Decimal("3.333333")


def test_adjust_up_without_cost_and_without_layers(product, locations):
    first = ledger.adjust(product=product, location=locations["bin1"], quantity=2, reason="found")
    assert first.unit_cost == 0
    ledger.receive(product=product, location=locations["bin1"], quantity=1, unit_cost="7")
    ledger.ship(product=product, location=locations["bin1"], quantity=3)
    # Nothing on hand: the last known cost is the best guess.
    again = ledger.adjust(product=product, location=locations["bin1"], quantity=1, reason="found")
    assert again.unit_cost == Decimal("7")


@pytest.mark.parametrize("quantity", [0, 1.5, "3", True, None, -(ledger.MAX_QUANTITY + 1)])
def test_adjust_refuses_a_bad_quantity(stocked, locations, quantity):
    with refused(errors.InvalidQuantity, "invalid_quantity", "MUG-001"):
        ledger.adjust(product=stocked, location=locations["bin1"], quantity=quantity, reason="x")


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_adjust_refuses_a_missing_reason(stocked, locations, reason):
    with refused(errors.ReasonRequired, "reason_required", "MUG-001", "WH1-A-01") as caught:
        ledger.adjust(product=stocked, location=locations["bin1"], quantity=-1, reason=reason)
    assert caught.value.field == "reason"


@pytest.mark.parametrize("unit_cost", BAD_COSTS[:-1])
def test_adjust_refuses_a_bad_cost(stocked, locations, unit_cost):
    if unit_cost is None:
        return  # None means "at the average cost"
    with refused(errors.InvalidCost, "invalid_cost", "MUG-001"):
        ledger.adjust(
            product=stocked,
            location=locations["bin2"],
            quantity=1,
            reason="x",
            unit_cost=unit_cost,
        )


def test_adjust_refuses_removing_more_than_on_hand_or_committed(stocked, locations):
    with refused(errors.InsufficientStock, "insufficient_stock", "MUG-001", "WH1-A-01"):
        ledger.adjust(product=stocked, location=locations["bin1"], quantity=-21, reason="x")
    with refused(errors.InsufficientStock, "insufficient_stock", "MUG-001", "WH1-A-02"):
        ledger.adjust(product=stocked, location=locations["bin2"], quantity=-1, reason="x")
    ledger.reserve(product=stocked, location=locations["bin1"], quantity=18)
    with refused(errors.CommittedStock, "committed_stock", "MUG-001", "18"):
        ledger.adjust(product=stocked, location=locations["bin1"], quantity=-3, reason="x")


def test_adjust_refuses_adding_to_an_inactive_location_but_may_empty_it(stocked, locations):
    locations["bin1"].active = False
    locations["bin1"].save()
    with refused(errors.LocationInactive, "location_inactive", "MUG-001", "WH1-A-01"):
        ledger.adjust(product=stocked, location=locations["bin1"], quantity=1, reason="x")
    ledger.adjust(product=stocked, location=locations["bin1"], quantity=-20, reason="clear out")
    assert on_hand(stocked, locations["bin1"]) == 0


def test_adjust_lot_refusals(lot_stocked, lot, other_lot, product, dropship_product, locations):
    kwargs = {"location": locations["bin1"], "quantity": -1, "reason": "x"}
    with refused(errors.LotRequired, "lot_required", "TEA-100"):
        ledger.adjust(product=lot_stocked, **kwargs)
    with refused(errors.LotNotAllowed, "lot_not_allowed", "MUG-001"):
        ledger.adjust(product=product, lot=lot, **kwargs)
    with refused(errors.WrongLot, "wrong_lot", "B-1"):
        ledger.adjust(product=lot_stocked, lot=other_lot, **kwargs)
    with refused(errors.NotStocked, "not_stocked", "SOFA-9"):
        ledger.adjust(product=dropship_product, **kwargs)


# --- count --------------------------------------------------------------------------


def test_count_posts_the_difference(stocked, locations, clerk):
    down = ledger.count(product=stocked, location=locations["bin1"], counted=17, user=clerk)
    assert down.kind == StockMove.Kind.COUNT
    assert (down.quantity, down.from_location, down.to_location) == (3, locations["bin1"], None)
    assert (down.total_cost, down.unit_cost) == (Decimal("6"), Decimal("2"))
    assert down.reason == "Counted 17, was 20"
    assert on_hand(stocked, locations["bin1"]) == 17

    up = ledger.count(
        product=stocked, location=locations["bin1"], counted=19, unit_cost="5", reason="recount"
    )
    assert (up.quantity, up.to_location, up.unit_cost, up.reason) == (
        2,
        locations["bin1"],
        Decimal("5"),
        "recount",
    )
    assert on_hand(stocked, locations["bin1"]) == 19
    # Each count is kept with the value of its difference: lost at FIFO cost, found at cost.
    records = CountRecord.objects.order_by("id").values_list(
        "expected", "counted", "difference", "unit_cost", "value", "move", "counted_by"
    )
    assert list(records) == [
        (20, 17, -3, Decimal("2"), Decimal("-6"), down.pk, clerk.pk),
        (17, 19, 2, Decimal("5"), Decimal("10"), up.pk, None),
    ]


def test_count_without_difference_posts_nothing(stocked, locations, clerk):
    before = ledger_snapshot()
    assert ledger.count(product=stocked, location=locations["bin1"], counted=20) is None
    assert ledger.count(product=stocked, location=locations["bin2"], counted=0, user=clerk) is None
    after = ledger_snapshot()
    assert after.pop("CountRecord") != before.pop("CountRecord")
    assert after == before
    # ...but the count is kept: accuracy needs the counts that matched too.
    records = CountRecord.objects.order_by("id").values_list(
        "location", "expected", "counted", "difference", "value", "move", "counted_by"
    )
    assert list(records) == [
        (locations["bin1"].pk, 20, 20, 0, Decimal("0"), None, None),
        (locations["bin2"].pk, 0, 0, 0, Decimal("0"), None, clerk.pk),
    ]


def test_count_in_a_new_place_creates_the_balance_at_average_cost(stocked, locations):
    move = ledger.count(product=stocked, location=locations["bin2"], counted=4)
    assert move.unit_cost == Decimal("3")
    assert on_hand(stocked, locations["bin2"]) == 4


def test_count_to_zero_empties_a_lot(lot_stocked, lot, locations):
    move = ledger.count(product=lot_stocked, location=locations["bin1"], counted=0, lot=lot)
    assert (move.quantity, move.total_cost) == (10, Decimal("15"))
    assert on_hand(lot_stocked, locations["bin1"], lot) == 0


@pytest.mark.parametrize("counted", [-1, 1.5, "3", True, None, ledger.MAX_QUANTITY + 1])
def test_count_refuses_a_bad_quantity(stocked, locations, counted):
    with refused(errors.InvalidQuantity, "invalid_quantity", "MUG-001") as caught:
        ledger.count(product=stocked, location=locations["bin1"], counted=counted)
    assert caught.value.field == "counted"


def test_count_refuses_a_bad_cost(stocked, locations):
    with refused(errors.InvalidCost, "invalid_cost", "MUG-001"):
        ledger.count(product=stocked, location=locations["bin1"], counted=25, unit_cost="-1")


def test_count_refuses_going_below_committed(stocked, locations):
    ledger.reserve(product=stocked, location=locations["bin1"], quantity=8)
    with refused(errors.CommittedStock, "committed_stock", "MUG-001", "WH1-A-01", "8") as caught:
        ledger.count(product=stocked, location=locations["bin1"], counted=7)
    assert caught.value.field == "counted"
    ledger.count(product=stocked, location=locations["bin1"], counted=8)
    assert (on_hand(stocked, locations["bin1"]), committed(stocked, locations["bin1"])) == (8, 8)


def test_count_refuses_finding_units_in_an_inactive_location(stocked, locations):
    locations["bin1"].active = False
    locations["bin1"].save()
    with refused(errors.LocationInactive, "location_inactive", "MUG-001", "WH1-A-01"):
        ledger.count(product=stocked, location=locations["bin1"], counted=21)
    ledger.count(product=stocked, location=locations["bin1"], counted=0)


def test_count_lot_refusals(lot_stocked, lot, other_lot, product, dropship_product, locations):
    with refused(errors.LotRequired, "lot_required", "TEA-100"):
        ledger.count(product=lot_stocked, location=locations["bin1"], counted=1)
    with refused(errors.LotNotAllowed, "lot_not_allowed", "MUG-001"):
        ledger.count(product=product, location=locations["bin1"], counted=1, lot=lot)
    with refused(errors.WrongLot, "wrong_lot", "B-1"):
        ledger.count(product=lot_stocked, location=locations["bin1"], counted=1, lot=other_lot)
    with refused(errors.NotStocked, "not_stocked", "SOFA-9"):
        ledger.count(product=dropship_product, location=locations["bin1"], counted=1)


# --- reserve and release ------------------------------------------------------------


def test_reserve_and_release_change_committed_and_journal_it(stocked, locations, clerk):
    row = ledger.reserve(product=stocked, location=locations["bin1"], quantity=6, user=clerk)
    assert (row.on_hand, row.committed, row.available) == (20, 6, 14)
    assert committed(stocked, locations["bin1"]) == 6
    row = ledger.release(product=stocked, location=locations["bin1"], quantity=4)
    assert row.committed == 2
    entries = list(ReservationEntry.objects.order_by("id").values_list("kind", "quantity"))
    assert entries == [("reserve", 6), ("release", -4)]
    assert StockMove.objects.count() == 2  # the receipts only


def test_reserve_a_lot_in_the_receiving_dock(lot_product, lot, locations):
    ledger.receive(
        product=lot_product, location=locations["receiving"], quantity=3, unit_cost=1, lot=lot
    )
    ledger.reserve(product=lot_product, location=locations["receiving"], quantity=3, lot=lot)
    assert committed(lot_product, locations["receiving"], lot) == 3


@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_reserve_and_release_refuse_a_bad_quantity(stocked, locations, quantity):
    with refused(errors.InvalidQuantity, "invalid_quantity", "MUG-001"):
        ledger.reserve(product=stocked, location=locations["bin1"], quantity=quantity)
    with refused(errors.InvalidQuantity, "invalid_quantity", "MUG-001"):
        ledger.release(product=stocked, location=locations["bin1"], quantity=quantity)


def test_reserve_refuses_more_than_available(stocked, locations):
    with refused(errors.InsufficientStock, "insufficient_stock", "MUG-001", "WH1-A-01"):
        ledger.reserve(product=stocked, location=locations["bin1"], quantity=21)
    with refused(errors.InsufficientStock, "insufficient_stock", "MUG-001", "WH1-A-02"):
        ledger.reserve(product=stocked, location=locations["bin2"], quantity=1)
    ledger.reserve(product=stocked, location=locations["bin1"], quantity=15)
    with refused(errors.CommittedStock, "committed_stock", "MUG-001", "only 5"):
        ledger.reserve(product=stocked, location=locations["bin1"], quantity=6)


@pytest.mark.parametrize("place", ["quarantine", "shipping"])
def test_reserve_refuses_a_location_that_is_not_sellable(product, locations, place):
    ledger.receive(product=product, location=locations[place], quantity=5, unit_cost=1)
    with refused(
        errors.LocationNotSellable, "location_not_sellable", "MUG-001", locations[place].barcode
    ):
        ledger.reserve(product=product, location=locations[place], quantity=1)


def test_reserve_refuses_an_inactive_location(stocked, locations):
    locations["bin1"].active = False
    locations["bin1"].save()
    with refused(errors.LocationInactive, "location_inactive", "MUG-001", "WH1-A-01"):
        ledger.reserve(product=stocked, location=locations["bin1"], quantity=1)


def test_reserve_refuses_an_expired_lot(lot_product, expired_lot, locations):
    ledger.receive(
        product=lot_product, location=locations["bin1"], quantity=4, unit_cost=1, lot=expired_lot
    )
    with refused(errors.ExpiredLot, "expired_lot", "L-OLD", "TEA-100"):
        ledger.reserve(
            product=lot_product, location=locations["bin1"], quantity=1, lot=expired_lot
        )


def test_reserve_and_release_lot_refusals(
    lot_stocked, lot, other_lot, product, dropship_product, locations
):
    for operation in (ledger.reserve, ledger.release):
        kwargs = {"location": locations["bin1"], "quantity": 1}
        with refused(errors.LotRequired, "lot_required", "TEA-100"):
            operation(product=lot_stocked, **kwargs)
        with refused(errors.LotNotAllowed, "lot_not_allowed", "MUG-001"):
            operation(product=product, lot=lot, **kwargs)
        with refused(errors.WrongLot, "wrong_lot", "B-1"):
            operation(product=lot_stocked, lot=other_lot, **kwargs)
        with refused(errors.NotStocked, "not_stocked", "SOFA-9"):
            operation(product=dropship_product, **kwargs)


def test_release_refuses_more_than_committed(stocked, locations):
    with refused(errors.NotCommitted, "not_committed", "MUG-001", "WH1-A-02"):
        ledger.release(product=stocked, location=locations["bin2"], quantity=1)
    ledger.reserve(product=stocked, location=locations["bin1"], quantity=3)
    with refused(errors.NotCommitted, "not_committed", "MUG-001", "Only 3") as caught:
        ledger.release(product=stocked, location=locations["bin1"], quantity=4)
    assert isinstance(caught.value, errors.InsufficientStock)


def test_release_from_an_inactive_location_is_allowed(stocked, locations):
    ledger.reserve(product=stocked, location=locations["bin1"], quantity=3)
    locations["bin1"].active = False
    locations["bin1"].save()
    ledger.release(product=stocked, location=locations["bin1"], quantity=3)
    assert committed(stocked, locations["bin1"]) == 0


# --- ship ---------------------------------------------------------------------------


def test_ship_uncommitted_units_at_fifo_cost(stocked, locations):
    move = ledger.ship(product=stocked, location=locations["bin1"], quantity=15, reference="SO-1")
    assert move.kind == StockMove.Kind.SHIPMENT
    assert (move.from_location, move.to_location) == (locations["bin1"], None)
    assert move.total_cost == Decimal("40")  # 10 × 2 + 5 × 4
    assert move.unit_cost == Decimal("2.666667")
    assert on_hand(stocked, locations["bin1"]) == 5
    assert remaining_layers(stocked) == [(0, 2), (5, 4)]
    assert not ReservationEntry.objects.exists()


def test_ship_from_committed_lowers_committed_with_on_hand(stocked, locations):
    ledger.reserve(product=stocked, location=locations["bin1"], quantity=6)
    move = ledger.ship(
        product=stocked, location=locations["bin1"], quantity=4, from_committed=True
    )
    assert (on_hand(stocked, locations["bin1"]), committed(stocked, locations["bin1"])) == (16, 2)
    entry = ReservationEntry.objects.get(kind=ReservationEntry.Kind.SHIP)
    assert (entry.quantity, entry.move_id) == (-4, move.pk)


def test_ship_from_the_shipping_dock(product, locations):
    ledger.receive(product=product, location=locations["shipping"], quantity=2, unit_cost=1)
    ledger.ship(product=product, location=locations["shipping"], quantity=2)
    assert on_hand(product, locations["shipping"]) == 0


def test_ship_a_lot(lot_stocked, lot, locations):
    move = ledger.ship(product=lot_stocked, location=locations["bin1"], quantity=4, lot=lot)
    assert (move.lot, move.total_cost) == (lot, Decimal("6"))
    assert on_hand(lot_stocked, locations["bin1"], lot) == 6


@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_ship_refuses_a_bad_quantity(stocked, locations, quantity):
    with refused(errors.InvalidQuantity, "invalid_quantity", "MUG-001"):
        ledger.ship(product=stocked, location=locations["bin1"], quantity=quantity)


def test_ship_refuses_more_than_on_hand(stocked, locations):
    with refused(errors.InsufficientStock, "insufficient_stock", "MUG-001", "WH1-A-01", "21"):
        ledger.ship(product=stocked, location=locations["bin1"], quantity=21)
    with refused(errors.InsufficientStock, "insufficient_stock", "MUG-001", "WH1-A-02"):
        ledger.ship(product=stocked, location=locations["bin2"], quantity=1)


def test_ship_refuses_units_promised_to_orders(stocked, locations):
    ledger.reserve(product=stocked, location=locations["bin1"], quantity=16)
    with refused(errors.CommittedStock, "committed_stock", "MUG-001", "only 4"):
        ledger.ship(product=stocked, location=locations["bin1"], quantity=5)


def test_ship_from_committed_refuses_beyond_committed(stocked, locations):
    with refused(errors.NotCommitted, "not_committed", "MUG-001", "WH1-A-02"):
        ledger.ship(product=stocked, location=locations["bin2"], quantity=1, from_committed=True)
    ledger.reserve(product=stocked, location=locations["bin1"], quantity=3)
    with refused(errors.NotCommitted, "not_committed", "MUG-001", "Only 3"):
        ledger.ship(product=stocked, location=locations["bin1"], quantity=4, from_committed=True)


@pytest.mark.parametrize("from_committed", [False, True])
def test_ship_refuses_an_expired_lot(lot_product, lot, expired_lot, locations, from_committed):
    ledger.receive(
        product=lot_product, location=locations["bin1"], quantity=4, unit_cost=1, lot=lot
    )
    ledger.reserve(product=lot_product, location=locations["bin1"], quantity=2, lot=lot)
    # The lot expired after it was allocated.
    lot.expires_on = date.today() - timedelta(2)
    lot.save()
    with refused(errors.ExpiredLot, "expired_lot", "L-2030", "TEA-100"):
        ledger.ship(
            product=lot_product,
            location=locations["bin1"],
            quantity=1,
            lot=lot,
            from_committed=from_committed,
        )


def test_ship_refuses_an_inactive_location(stocked, locations):
    locations["bin1"].active = False
    locations["bin1"].save()
    with refused(errors.LocationInactive, "location_inactive", "MUG-001", "WH1-A-01"):
        ledger.ship(product=stocked, location=locations["bin1"], quantity=1)


def test_ship_lot_refusals(lot_stocked, lot, other_lot, product, dropship_product, locations):
    kwargs = {"location": locations["bin1"], "quantity": 1}
    with refused(errors.LotRequired, "lot_required", "TEA-100"):
        ledger.ship(product=lot_stocked, **kwargs)
    with refused(errors.LotNotAllowed, "lot_not_allowed", "MUG-001"):
        ledger.ship(product=product, lot=lot, **kwargs)
    with refused(errors.WrongLot, "wrong_lot", "B-1"):
        ledger.ship(product=lot_stocked, lot=other_lot, **kwargs)
    with refused(errors.NotStocked, "not_stocked", "SOFA-9"):
        ledger.ship(product=dropship_product, **kwargs)


# --- FIFO cost across operations ----------------------------------------------------


def test_fifo_uses_the_oldest_layers_of_the_product_wherever_received(product, locations):
    ledger.receive(product=product, location=locations["bin1"], quantity=10, unit_cost="1")
    ledger.receive(product=product, location=locations["bin2"], quantity=10, unit_cost="2")
    ledger.receive(product=product, location=locations["bin2"], quantity=10, unit_cost="4")
    # Valuation is per product: the bin2 shipment uses the oldest (bin1) layer first.
    first = ledger.ship(product=product, location=locations["bin2"], quantity=15)
    assert (first.total_cost, first.unit_cost) == (Decimal("20"), Decimal("1.333333"))
    assert remaining_layers(product) == [(0, 1), (5, 2), (10, 4)]
    second = ledger.adjust(product=product, location=locations["bin1"], quantity=-7, reason="lost")
    assert second.total_cost == Decimal("18")  # 5 × 2 + 2 × 4
    third = ledger.count(product=product, location=locations["bin2"], counted=0)
    assert (third.quantity, third.total_cost) == (5, Decimal("20"))
    assert remaining_layers(product) == [(0, 1), (0, 2), (3, 4)]
    assert sum(r for r, _ in remaining_layers(product)) == on_hand(product, locations["bin1"])


def test_fifo_over_many_layers(product, locations):
    for cost in range(1, 131):
        ledger.receive(product=product, location=locations["bin1"], quantity=1, unit_cost=cost)
    move = ledger.ship(product=product, location=locations["bin1"], quantity=120)
    assert move.total_cost == sum(range(1, 121))
    assert [r for r, _ in remaining_layers(product)] == [0] * 120 + [1] * 10


# --- atomicity, retries, query counts -----------------------------------------------


def test_a_failure_inside_an_outer_transaction_rolls_back_only_the_operation(stocked, locations):
    from django.db import transaction

    with transaction.atomic():
        ledger.ship(product=stocked, location=locations["bin1"], quantity=1)
        with refused(errors.InsufficientStock, "insufficient_stock", "MUG-001"):
            ledger.ship(product=stocked, location=locations["bin1"], quantity=100)
        ledger.ship(product=stocked, location=locations["bin1"], quantity=1)
    assert on_hand(stocked, locations["bin1"]) == 18


@pytest.mark.django_db(transaction=True)
def test_ledger_operation_retries_a_lost_race_then_gives_up():
    calls = []

    @transactions.atomic_with_retry
    def flaky(message, failures):
        calls.append(connection.in_atomic_block)
        if len(calls) <= failures:
            raise OperationalError(message)
        return "done"

    assert flaky("database is locked", 2) == "done"
    assert calls == [True, True, True]
    calls.clear()
    with pytest.raises(OperationalError):
        flaky("database is locked", transactions.MAX_ATTEMPTS)
    assert len(calls) == transactions.MAX_ATTEMPTS
    calls.clear()
    with pytest.raises(OperationalError, match="disk I/O"):
        flaky("disk I/O error", 1)
    assert len(calls) == 1


def test_ledger_operation_does_not_retry_inside_an_outer_transaction(db):
    calls = []

    @transactions.atomic_with_retry
    def flaky():
        calls.append(1)
        raise OperationalError("database is locked")

    with pytest.raises(OperationalError):
        flaky()
    assert calls == [1]


def test_a_postgres_deadlock_is_retryable():
    class Deadlock(Exception):
        sqlstate = "40P01"

    error = OperationalError("deadlock detected")
    error.__cause__ = Deadlock()
    assert transactions.is_retryable(error)
    assert not transactions.is_retryable(OperationalError("server closed the connection"))


# Queries per operation, including the SAVEPOINT and RELEASE that the ledger's own
# atomic block costs inside the test transaction. Receipts into a new place and
# shipments that use up more layers cost one or two queries more; the count never
# grows with the number of rows. A change of sellable stock costs one query more:
# the channel outbox looks up the channels with a webhook that sell from the
# warehouse (none here). Moves between two sellable bins of one warehouse and
# shipments of reserved units change nothing a channel may sell and skip it. A
# change that can free units (receipt, upward adjustment or count, release, a move
# into a sellable place) costs one more: are sales orders waiting for the product?
# Every posted move also writes the product's new position (ProductPosition, issue 14:
# the valuation reads positions instead of replaying): + 1; the position before it is
# read in the statement that locks the balance rows (issue 11), not by one of its own.
# A new balance row is one INSERT … ON CONFLICT DO NOTHING RETURNING that reads the
# position too (locks.create_levels), after the lookup that missed it: + 1, not + 2.
QUERY_BUDGET = {
    "receive (existing balance)": 6 + 2 + 1,
    "receive (new balance)": 7 + 2 + 1,
    "transfer (existing target)": 6 + 1,
    "transfer (new target)": 7 + 1,
    "adjust +": 7 + 2 + 1,
    "adjust −": 7 + 1 + 1,
    "count (down, 2 layers)": 7 + 1 + 1 + 1,  # + its CountRecord
    "reserve": 5 + 1,
    "release": 5 + 2,
    "ship": 7 + 1 + 1,
    "ship from committed": 8 + 1,
}


def test_query_counts_per_operation(product, locations, record_property):
    bin1, bin2 = locations["bin1"], locations["bin2"]
    ledger.receive(product=product, location=bin1, quantity=10, unit_cost=1)
    operations = {
        "receive (existing balance)": lambda: ledger.receive(
            product=product, location=bin1, quantity=10, unit_cost=2
        ),
        "receive (new balance)": lambda: ledger.receive(
            product=product, location=locations["receiving"], quantity=5, unit_cost=2
        ),
        "transfer (existing target)": lambda: ledger.transfer(
            product=product, from_location=locations["receiving"], to_location=bin1, quantity=1
        ),
        "transfer (new target)": lambda: ledger.transfer(
            product=product, from_location=bin1, to_location=bin2, quantity=2
        ),
        "adjust +": lambda: ledger.adjust(product=product, location=bin1, quantity=1, reason="x"),
        "adjust −": lambda: ledger.adjust(product=product, location=bin1, quantity=-1, reason="x"),
        "count (down, 2 layers)": lambda: ledger.count(product=product, location=bin1, counted=5),
        "reserve": lambda: ledger.reserve(product=product, location=bin2, quantity=2),
        "release": lambda: ledger.release(product=product, location=bin2, quantity=1),
        "ship": lambda: ledger.ship(product=product, location=bin1, quantity=2),
        "ship from committed": lambda: ledger.ship(
            product=product, location=bin2, quantity=1, from_committed=True
        ),
    }
    measured = {}
    for name, operation in operations.items():
        with CaptureQueriesContext(connection) as queries:
            operation()
        measured[name] = len(queries)
    record_property("ledger_queries", measured)
    # On PostgreSQL every operation first locks the product row (one query);
    # SQLite serialises writers without it.
    extra = 1 if connection.features.has_select_for_update else 0
    expected = {name: budget + extra for name, budget in QUERY_BUDGET.items()}
    assert measured == expected
