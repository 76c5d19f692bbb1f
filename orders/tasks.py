"""Background work of the orders app (django.tasks; `manage.py db_worker` runs it)."""

from django.tasks import task


@task()
def reallocate_backorders(product_ids: list[int]) -> int:
    """Allocate waiting sales orders of these products, oldest order first."""
    from orders import sales

    return sales.reallocate_backorders(product_ids)


@task()
def deliver_webhooks(channel_id: int) -> dict:
    """Send the channel's stock outbox to its webhook URL (see ``orders.webhooks``)."""
    from orders import webhooks

    return webhooks.deliver_channel(channel_id)


@task()
def send_purchase_order_email(order_id: int) -> str:
    """Email a sent purchase order to its supplier (see ``orders.purchase_email``)."""
    from orders import purchase_email

    return purchase_email.deliver(order_id=order_id)
