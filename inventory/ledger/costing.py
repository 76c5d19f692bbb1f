"""FIFO cost layers: every inbound move opens one, outbound moves use the oldest first."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import F, Sum

from inventory import errors
from inventory.ledger.checks import COST_PLACES
from inventory.models import CostLayer, Product, StockMove

LAYER_BATCH = 50


@dataclass(frozen=True)
class Consumption:
    quantity: int
    total_cost: Decimal

    @property
    def unit_cost(self) -> Decimal:
        return (self.total_cost / self.quantity).quantize(COST_PLACES, ROUND_HALF_UP)


def current_average_cost(product: Product) -> Decimal:
    """Return the average unit cost of the units on hand (the last cost when there are none)."""
    totals = CostLayer.objects.filter(product=product, remaining__gt=0).aggregate(
        quantity=Sum("remaining"), value=Sum(F("remaining") * F("unit_cost"))
    )
    if not totals["quantity"]:
        last = CostLayer.objects.filter(product=product).order_by("-id").first()
        return last.unit_cost if last else Decimal("0")
    return (Decimal(totals["value"]) / totals["quantity"]).quantize(COST_PLACES, ROUND_HALF_UP)


def add_layer(move: StockMove, unit_cost: Decimal) -> CostLayer:
    """Open the cost layer of an inbound move."""
    return CostLayer.objects.create(
        product_id=move.product_id,
        move=move,
        quantity=move.quantity,
        remaining=move.quantity,
        unit_cost=unit_cost,
        created_at=move.created_at,
    )


def consume_layers(product: Product, quantity: int) -> Consumption:
    """Take ``quantity`` units from the product's oldest open cost layers."""
    needed = quantity
    total = Decimal("0")
    empty_batches = 0
    while needed > 0:
        # No "id > last seen" cursor: layers used up by this loop drop out of the
        # filter by themselves. On PostgreSQL a row emptied by another transaction
        # while we waited for its lock is re-checked and skipped (LockRows sits
        # under the LIMIT, so the batch is filled from the next rows). An empty
        # batch is retried once or twice: a new statement also sees layers that
        # were committed after this one took its snapshot.
        batch = list(
            CostLayer.objects.select_for_update()
            .filter(product=product, remaining__gt=0)
            .order_by("id")[:LAYER_BATCH]
        )
        if not batch:
            empty_batches += 1
            if empty_batches < 3:
                continue
            # Balances and layers disagree; refuse rather than invent a cost.
            raise errors.InsufficientStock(
                f"The cost layers of {product.sku} hold fewer units than its balance; "
                "run check_ledger.",
                field="quantity",
            )
        changed = []
        for layer in batch:
            take = min(layer.remaining, needed)
            layer.remaining -= take
            changed.append(layer)
            total += take * layer.unit_cost
            needed -= take
            if needed == 0:
                break
        if len(changed) == 1:
            CostLayer.objects.filter(pk=changed[0].pk).update(remaining=changed[0].remaining)
        else:
            CostLayer.objects.bulk_update(changed, ["remaining"])
    return Consumption(quantity=quantity, total_cost=total)
