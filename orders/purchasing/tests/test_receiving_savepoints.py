"""A receipt's ledger call runs in the receipt's own atomic block, without a savepoint."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from inventory import errors as ledger_errors
from inventory import ledger
from inventory.models import StockLevel, StockMove
from orders.models import PurchaseOrderEvent, ReceiptLine
from orders.purchasing import errors, receiving


@pytest.fixture
def mug_line(sent_order, product):
    return sent_order.lines.get(product=product)


def test_the_ledger_call_shares_the_receipts_savepoint_and_a_late_refusal_undoes_it_all(
    mug_line, locations, clerk, monkeypatch
):
    """A refusal after the ledger has written still undoes every row of the receipt, and
    an enclosing block (a scan station writing its log) goes on afterwards."""
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        receiving.receive_line(line=mug_line, quantity=1, user=clerk)
    savepoints = [q for q in queries.captured_queries if q["sql"].startswith("SAVEPOINT")]
    assert len(savepoints) == 2  # this block's and the receipt's: the ledger call takes none

    def refuse_late(move, cost):
        raise ledger_errors.LedgerError("Refused after the move was written.")

    monkeypatch.setattr(ledger, "add_layer", refuse_late)
    moves = StockMove.objects.filter(product=mug_line.product)
    with transaction.atomic():
        with pytest.raises(errors.StockRefused, match="after the move"):
            receiving.receive_line(line=mug_line, quantity=4, user=clerk)
        assert moves.count() == 1
        assert StockLevel.objects.get(product=mug_line.product).on_hand == 1
        PurchaseOrderEvent.objects.create(order=mug_line.order, note="the caller goes on")
    mug_line.refresh_from_db()
    assert mug_line.quantity_received == 1
    assert ReceiptLine.objects.filter(line=mug_line).count() == 1
    assert PurchaseOrderEvent.objects.filter(note="the caller goes on").exists()
