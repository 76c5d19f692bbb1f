"""The stock outbox: a row per channel and product whose available-to-sell may have changed.

Rows are written in the transaction that changed the stock (the ledger's
``stock_changed`` signal), so a change and its notice commit or roll back together.
``orders.webhooks`` delivers them.
"""

from collections.abc import Iterable

from django.db import transaction

from inventory.models import Product
from orders.models import Channel, ChannelWarehouse, StockOutbox

BATCH = 1000


def record(channel_ids: Iterable[int], product_ids: Iterable[int]) -> int:
    """Write outbox rows for every (channel, product) pair; schedule delivery after commit."""
    channel_ids = sorted(set(channel_ids))
    product_ids = sorted(set(product_ids))
    if not channel_ids or not product_ids:
        return 0
    StockOutbox.objects.bulk_create(
        [StockOutbox(channel_id=c, product_id=p) for c in channel_ids for p in product_ids],
        batch_size=BATCH,
    )
    # robust: the stock change has committed; a failure to enqueue must not look like
    # its failure (``manage.py deliver_webhooks`` sends what is waiting).
    transaction.on_commit(lambda: _schedule(channel_ids), robust=True)
    return len(channel_ids) * len(product_ids)


def _schedule(channel_ids: list[int]) -> None:
    from orders import webhooks

    webhooks.schedule_delivery(channel_ids)


@transaction.atomic
def resync_channel(channel: Channel) -> int:
    """Queue every active product's current value for the channel; return the rows written.

    Call it when what the channel may sell changes for every SKU at once: its buffer,
    its warehouses, its webhook URL, its activation. Inactive channels and channels
    without a webhook URL get nothing.
    """
    if not channel.active or not channel.webhook_url:
        return 0
    written = 0
    product_ids = (
        Product.objects.filter(active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
        .iterator(chunk_size=BATCH)
    )
    batch: list[StockOutbox] = []
    for product_id in product_ids:
        batch.append(StockOutbox(channel_id=channel.pk, product_id=product_id))
        if len(batch) == BATCH:
            StockOutbox.objects.bulk_create(batch)
            written += len(batch)
            batch = []
    if batch:
        StockOutbox.objects.bulk_create(batch)
        written += len(batch)
    if written:
        channel_id = channel.pk
        transaction.on_commit(lambda: _schedule([channel_id]), robust=True)
    return written


def webhook_channel_ids(warehouse_ids: Iterable[int] | None = None) -> list[int]:
    """Active channels with a webhook URL (selling from one of ``warehouse_ids`` if given)."""
    if warehouse_ids is None:
        return list(
            Channel.objects.filter(active=True)
            .exclude(webhook_url="")
            .values_list("pk", flat=True)
        )
    return list(
        ChannelWarehouse.objects.filter(warehouse_id__in=list(warehouse_ids), channel__active=True)
        .exclude(channel__webhook_url="")
        .order_by()
        .values_list("channel_id", flat=True)
        .distinct()
    )


def on_stock_changed(sender, *, product, warehouse_ids, **kwargs) -> None:
    """Receiver of ``inventory.signals.stock_changed`` (runs inside the ledger transaction)."""
    channel_ids = webhook_channel_ids(warehouse_ids)
    if channel_ids:
        record(channel_ids, [product.pk])
