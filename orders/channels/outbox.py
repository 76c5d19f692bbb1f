"""The stock outbox: a row per channel and product whose available-to-sell may have changed.

Rows are written in the transaction that changed the stock (the ledger's
``stock_changed`` signal), so a change and its notice commit or roll back together.
``orders.channels.webhooks`` delivers them.
"""

from collections.abc import Iterable
from datetime import date, timedelta

from django.db import connection, transaction
from django.utils import timezone

from common import together
from inventory.models import Product, StockLevel
from orders.channels import webhooks
from orders.models import Channel, ChannelWarehouse, StockOutbox
from orders.models.channels import HOOKED_SQL, hooked_q
from warehouses.models import is_sellable_place

BATCH = 1000
# Lots that expired up to this many days ago are announced again (a sweep that did
# not run for a few nights still catches up; values sent are current, so repeats are
# harmless).
EXPIRY_LOOKBACK_DAYS = 7


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


# Changes to these fields change what a channel may sell or where it hears about it.
RESYNC_FIELDS = frozenset({"buffer", "webhook_url", "active"})


def _schedule(channel_ids: list[int]) -> None:
    webhooks.schedule_delivery(channel_ids)


def channel_saved(channel: Channel, *, changed_fields, warehouses_changed: bool = False) -> int:
    """Resync the channel after a save that changes what it may sell or whether it hears.

    A changed buffer, warehouse list, webhook URL or activation does; ``changed_fields``
    are the names the save changed. Call it in the saving transaction; return the rows
    written.
    """
    if warehouses_changed or RESYNC_FIELDS & set(changed_fields):
        return resync_channel(channel)
    return 0


@transaction.atomic
def resync_channel(channel: Channel) -> int:
    """Queue every active product's current value for the channel; return the rows written.

    Call it when what the channel may sell changes for every SKU at once: its buffer,
    its warehouses, its webhook URL, its activation. It also stamps the channel's
    ``settings_changed_at``, so the API's ``updated_since`` reports every product
    (for any channel, hooked or not). Inactive channels and channels without a
    webhook URL get no rows.
    """
    channel.settings_changed_at = timezone.now()
    Channel.objects.filter(pk=channel.pk).update(settings_changed_at=channel.settings_changed_at)
    if not channel.is_hooked:
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


def record_expired_lots(today: date) -> int:
    """Queue the products whose lots expired recently for the channels selling them.

    A lot that passes its expiry date stops counting as available without any ledger
    call, so no ``stock_changed`` signal fires. The nightly sweep calls this: every
    active channel with a webhook URL that sells from a warehouse holding units
    (on hand > 0) of a lot with ``today - 7 days <= expires_on < today`` gets a row
    per such product. Rows are written in batches; returns the number written.
    """
    since = today - timedelta(days=EXPIRY_LOOKBACK_DAYS)
    held = (
        StockLevel.objects.filter(
            on_hand__gt=0, lot__expires_on__gte=since, lot__expires_on__lt=today
        )
        .order_by()
        .values_list("location__warehouse_id", "product_id")
        .distinct()
    )
    products_by_warehouse: dict[int, set[int]] = {}
    for warehouse_id, product_id in held.iterator(chunk_size=BATCH):
        products_by_warehouse.setdefault(warehouse_id, set()).add(product_id)
    if not products_by_warehouse:
        return 0
    return _record_by_warehouse(products_by_warehouse)


def _record_by_warehouse(products_by_warehouse: dict[int, set[int]]) -> int:
    """Rows for each webhook channel and the products held in the warehouses it sells from."""
    links = (
        ChannelWarehouse.objects.filter(
            hooked_q("channel__"), warehouse_id__in=list(products_by_warehouse)
        )
        .order_by()
        .values_list("channel_id", "warehouse_id")
    )
    pairs: dict[int, set[int]] = {}
    for channel_id, warehouse_id in links:
        pairs.setdefault(channel_id, set()).update(products_by_warehouse[warehouse_id])
    if not pairs:
        return 0
    written = 0
    now = timezone.now()
    with transaction.atomic():
        batch: list[StockOutbox] = []
        for channel_id in sorted(pairs):
            for product_id in sorted(pairs[channel_id]):
                batch.append(
                    StockOutbox(channel_id=channel_id, product_id=product_id, created_at=now)
                )
                if len(batch) == BATCH:
                    StockOutbox.objects.bulk_create(batch)
                    written += len(batch)
                    batch = []
        if batch:
            StockOutbox.objects.bulk_create(batch)
            written += len(batch)
        channel_ids = sorted(pairs)
        transaction.on_commit(lambda: _schedule(channel_ids), robust=True)
    return written


def webhook_channel_ids(warehouse_ids: Iterable[int] | None = None) -> list[int]:
    """Active channels with a webhook URL (selling from one of ``warehouse_ids`` if given)."""
    if warehouse_ids is None:
        return list(Channel.objects.hooked().values_list("pk", flat=True))
    return list(
        ChannelWarehouse.objects.filter(
            hooked_q("channel__"), warehouse_id__in=list(warehouse_ids)
        )
        .order_by()
        .values_list("channel_id", flat=True)
        .distinct()
    )


def record_location_change(location, warehouse_ids: Iterable[int]) -> int:
    """Queue the products held in ``location`` for the webhook channels of ``warehouse_ids``."""
    product_ids = list(
        StockLevel.objects.filter(location_id=location.pk, on_hand__gt=0)
        .order_by()
        .values_list("product_id", flat=True)
        .distinct()
    )
    if not product_ids:
        return 0
    return record(webhook_channel_ids(warehouse_ids), product_ids)


def remember_location(sender, instance, raw=False, **kwargs) -> None:
    """``pre_save`` of ``warehouses.Location``: note what an existing location was."""
    if raw or instance.pk is None:
        return
    instance._outbox_before = (
        type(instance)
        .objects.filter(pk=instance.pk)
        .values_list("kind", "active", "warehouse_id")
        .first()
    )


def on_location_saved(sender, instance, created, raw=False, **kwargs) -> None:
    """``post_save`` of ``warehouses.Location``: a location that starts or stops being
    sellable (kind, active) or moves to another warehouse changes available-to-sell of
    everything it holds, without a ledger call. Runs in the save's transaction."""
    before = instance.__dict__.pop("_outbox_before", None)
    if created or raw or before is None:
        return
    kind, active, warehouse_id = before
    was = is_sellable_place(kind, active)
    is_now = is_sellable_place(instance.kind, instance.active)
    if was == is_now and (not was or warehouse_id == instance.warehouse_id):
        return
    record_location_change(instance, {warehouse_id, instance.warehouse_id})


def on_stock_changed(sender, *, product, warehouse_ids, **kwargs) -> None:
    """Receiver of ``inventory.signals.stock_changed`` (runs inside the ledger transaction).

    Every ledger call runs this, so it is one statement: the rows for the active
    webhook channels selling from those warehouses are inserted straight from the
    channel tables (INSERT … SELECT … RETURNING), instead of a lookup and an insert.
    """
    warehouse_ids = sorted(warehouse_ids)
    if not warehouse_ids:
        return
    outbox = StockOutbox._meta.db_table
    links = ChannelWarehouse._meta.db_table
    channels = Channel._meta.db_table
    marks = ", ".join(["%s"] * len(warehouse_ids))
    hooked = HOOKED_SQL.format(channel="channel")
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{outbox}" (channel_id, product_id, created_at) '
            f'SELECT DISTINCT link.channel_id, %s, %s FROM "{links}" link '
            f'JOIN "{channels}" channel ON channel.id = link.channel_id '
            f"WHERE link.warehouse_id IN ({marks}) AND {hooked} RETURNING channel_id",
            [product.pk, connection.ops.adapt_datetimefield_value(timezone.now()), *warehouse_ids],
        )
        channel_ids = sorted({row[0] for row in cursor.fetchall()})
    if channel_ids:
        transaction.on_commit(lambda: _schedule(channel_ids), robust=True)


def on_stock_changed_many(sender, *, changes, **kwargs) -> None:
    """Receiver of ``inventory.signals.stock_changed_many``: ``on_stock_changed`` for a
    batch of products in one statement (the pairs of product and warehouse go in as a
    ``VALUES`` list), whatever the number of products; PostgreSQL prepares it, and inside
    ``common.together.writes_together()`` sends it with the block's other writes."""
    pairs = sorted(
        {
            (product.pk, warehouse_id)
            for product, warehouse_ids, _ in changes
            for warehouse_id in warehouse_ids
        }
    )
    if not pairs:
        return
    outbox = StockOutbox._meta.db_table
    links = ChannelWarehouse._meta.db_table
    channels = Channel._meta.db_table
    values = ", ".join(["(%s, %s)"] * len(pairs))
    hooked = HOOKED_SQL.format(channel="channel")
    # VALUES names its columns column1, column2 on SQLite and PostgreSQL alike.
    together.write(
        f'INSERT INTO "{outbox}" (channel_id, product_id, created_at) '
        f"SELECT DISTINCT link.channel_id, pair.column1, %s FROM (VALUES {values}) pair "
        f'JOIN "{links}" link ON link.warehouse_id = pair.column2 '
        f'JOIN "{channels}" channel ON channel.id = link.channel_id '
        f"WHERE {hooked} RETURNING channel_id",
        [
            connection.ops.adapt_datetimefield_value(timezone.now()),
            *(value for pair in pairs for value in pair),
        ],
        table=outbox,
        on_rows=_schedule_after_commit,
    )


def _schedule_after_commit(channel_ids: list[int]) -> None:
    """After commit, make sure a delivery task will send these channels' new rows."""
    channel_ids = sorted(set(channel_ids))
    if channel_ids:
        transaction.on_commit(lambda: _schedule(channel_ids), robust=True)
