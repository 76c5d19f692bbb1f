"""Turn the plan's suggestions into draft purchase orders, in one action.

One draft per supplier × warehouse, through the purchasing services (which re-check
pack size, minimum order, active product and supplier); then the plan lines record the
order as incoming and suggest nothing more, so the page never suggests the same need
twice. All of it in one transaction: any refusal creates nothing.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from orders.models import PurchaseOrder
from orders.purchasing import services as purchasing
from orders.purchasing.errors import PurchasingError
from planning import errors
from planning.models import PlanLine
from planning.selectors import latest_run

__all__ = ["create_drafts"]


@transaction.atomic
def create_drafts(*, lines: Iterable[int], user) -> list[PurchaseOrder]:
    """Create one draft purchase order per supplier × warehouse for the selected plan lines.

    ``lines`` are PlanLine ids of the latest finished plan. A line that is not in it, was
    ordered already, has no supplier, or whose product or supplier cannot be ordered now
    is refused (``PlanningError``) with nothing created.
    """
    selected = _lock_selected(lines)
    by_place: dict[tuple, list[PlanLine]] = defaultdict(list)
    for line in selected:
        by_place[(line.supplier_product.supplier_id, line.warehouse_id)].append(line)
    orders = []
    for place_lines in by_place.values():
        orders.append(_draft_for(place_lines, user))
    return sorted(orders, key=lambda order: order.pk)


def _lock_selected(ids: Iterable[int]) -> list[PlanLine]:
    """Lock the selected lines (primary-key order) and check each may still be ordered."""
    try:
        wanted = sorted({int(pk) for pk in ids})
    except (TypeError, ValueError):
        raise errors.StaleSelection(
            "The selection is not a list of plan lines: reload the page and select again.",
            field="lines",
        ) from None
    if not wanted:
        raise errors.NothingSelected(
            "Select at least one line to order (tick its box).", field="lines"
        )
    run = latest_run()
    found = list(
        PlanLine.objects.select_for_update(of=("self",))
        .filter(pk__in=wanted)
        .select_related("run", "product", "warehouse", "supplier_product__supplier")
        .order_by("pk")
    )
    if len(found) != len(wanted) or run is None:
        raise errors.StaleSelection(
            "Some selected lines are no longer in the plan (a newer plan has run): reload the "
            "page and select again. Nothing was ordered.",
            field="lines",
        )
    problems = [problem for line in found if (problem := _why_not(line, run))]
    if problems:
        raise (problems[0][0])(
            " ".join(message for _, message in problems) + " Nothing was ordered.",
            field="lines",
        )
    return found


def _why_not(line: PlanLine, run) -> tuple[type, str] | None:
    """Why ``line`` cannot be ordered now, or None."""
    place = f"{line.product.sku} in {line.warehouse.code}"
    if line.run_id != run.pk:
        return errors.StaleSelection, (
            f"{place} is from an older plan ({line.run.as_of}): reload the page."
        )
    if line.suggested_qty <= 0:
        return errors.StaleSelection, f"{place} has nothing left to order (ordered already?)."
    if line.supplier_product is None:
        return errors.NotOrderable, f"{place} has no preferred supplier: add one first."
    if not line.product.is_stocked:
        return errors.NotOrderable, f"{place} is now a dropship product: it is not stocked."
    if not line.product.active:
        return errors.NotOrderable, f"{place} is inactive: it cannot be ordered."
    offer = line.supplier_product
    if not offer.active or not offer.supplier.active:
        return errors.NotOrderable, (
            f"{offer.supplier.code} no longer sells {line.product.sku}: choose another supplier."
        )
    return None


def _draft_for(lines: list[PlanLine], user) -> PurchaseOrder:
    """One draft for the lines of one supplier and warehouse; record them as ordered."""
    supplier = lines[0].supplier_product.supplier
    lead_time = max(
        line.supplier_product.lead_time_days or supplier.default_lead_time_days for line in lines
    )
    try:
        order = purchasing.create_order(
            supplier=supplier,
            warehouse=lines[0].warehouse,
            user=user,
            expected_on=timezone.localdate() + timedelta(days=lead_time),
            notes=f"From the replenishment plan of {lines[0].run.as_of}",
        )
        for line in lines:
            ordered = purchasing.set_line(
                order=order,
                product=line.product,
                quantity=line.suggested_qty,
                unit_cost=line.supplier_product.unit_cost,
                user=user,
            )
            PlanLine.objects.filter(pk=line.pk).update(
                incoming=F("incoming") + ordered.quantity_ordered, suggested_qty=0
            )
    except PurchasingError as exc:
        raise errors.OrderRefused(
            f"{supplier.code}: {exc.message} Nothing was ordered.", field="lines"
        ) from exc
    return order
