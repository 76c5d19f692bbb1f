"""What a ledger operation refuses about a locked balance row, and how it names the document.

Shared by the single-row operations (``inventory.ledger``) and the batches
(``inventory.ledger.batch``), so both refuse with the same codes and sentences.
"""

from django.contrib.contenttypes.models import ContentType

from inventory import errors
from inventory.models import Lot, Product, StockLevel
from warehouses.models import Location


def where(location: Location, lot: Lot | None) -> str:
    """The place as a sentence names it: “WH1-A-01, lot L1”."""
    return f"{location}" + (f", lot {lot.code}" if lot else "")


def document_fields(document) -> dict:
    """The ledger row's fields naming ``document`` (none for None)."""
    if document is None:
        return {}
    return {
        "document_type": ContentType.objects.get_for_model(document),
        "document_id": document.pk,
    }


def require_free(
    product: Product, level: StockLevel | None, quantity: int, location: Location, lot
) -> None:
    """Refuse unless ``quantity`` uncommitted units are in the balance row."""
    on_hand = level.on_hand if level else 0
    committed = level.committed if level else 0
    if on_hand < quantity:
        raise errors.InsufficientStock(
            f"Only {on_hand} of {product.sku} in {where(location, lot)}; {quantity} needed.",
            field="quantity",
        )
    if on_hand - committed < quantity:
        raise errors.CommittedStock(
            f"{committed} of the {on_hand} units of {product.sku} in {where(location, lot)} "
            f"are committed to orders; only {on_hand - committed} can be used, {quantity} "
            "needed.",
            field="quantity",
        )


def require_committed(
    product: Product, level: StockLevel | None, quantity: int, location: Location, lot, *, verb
) -> None:
    """Refuse unless ``quantity`` committed units are in the balance row."""
    committed = level.committed if level else 0
    if committed < quantity:
        raise errors.NotCommitted(
            f"Only {committed} of {product.sku} in {where(location, lot)} are committed; "
            f"cannot {verb} {quantity}.",
            field="quantity",
        )
