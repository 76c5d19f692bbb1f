"""Re-allocation in the background: the task, and the receiver that queues it.

Units freed by any ledger change (a receipt, an adjustment or count upwards, stock
moved into a sellable place, a release such as a cancelled order's) reach the
orders waiting for them through the ledger's one ``stock_changed`` signal.
"""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import F
from django.tasks import task

from orders.models import SalesOrder, SalesOrderLine
from orders.sales import services


@task()
def reallocate_backorders(product_ids: list[int]) -> int:
    """Allocate waiting sales orders of these products, oldest order first."""
    return services.reallocate_backorders(product_ids)


def queue_reallocation(product_ids: Iterable[int]) -> None:
    """Enqueue re-allocation of these products once the current transaction commits."""
    ids = sorted(set(product_ids))
    if not ids:
        return
    # robust: the change is committed; a task queue that is down must not turn it into an
    # error. `manage.py sweep` re-allocates whatever still waits.
    transaction.on_commit(lambda: reallocate_backorders.enqueue(ids), robust=True)


def on_stock_changed(sender, *, product, increased: bool = False, **kwargs) -> None:
    """Receiver of ``inventory.signals.stock_changed``: free units may serve backorders.

    Re-allocates waiting orders of the product after commit, oldest first — one
    EXISTS query when nothing waits.
    """
    if not increased:
        return
    waiting = SalesOrderLine.objects.filter(
        product_id=product.pk,
        dropship=False,
        order__status__in=SalesOrder.WAITING_STATUSES,
        quantity__gt=F("quantity_allocated") + F("quantity_shipped"),
    )
    if waiting.exists():
        queue_reallocation([product.pk])


def on_stock_changed_many(sender, *, changes, **kwargs) -> None:
    """Receiver of ``inventory.signals.stock_changed_many``: ``on_stock_changed`` for a batch."""
    product_ids = sorted({product.pk for product, _, increased in changes if increased})
    if not product_ids:
        return
    waiting = SalesOrderLine.objects.filter(
        product_id__in=product_ids,
        dropship=False,
        order__status__in=SalesOrder.WAITING_STATUSES,
        quantity__gt=F("quantity_allocated") + F("quantity_shipped"),
    )
    queue_reallocation(waiting.values_list("product_id", flat=True).distinct())
