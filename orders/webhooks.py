"""Delivery of the stock outbox to channels' webhook URLs (placeholder until built)."""


def schedule_delivery(channel_ids: list[int]) -> None:
    """Enqueue delivery of the channels' undelivered outbox rows."""
