"""The inventory feed's bytes and validator, written without a schema per item.

A page of 1,000 items is rendered from the tuples ``availability.channel_inventory``
answers with one format string per row (the same JSON ``InventoryPage`` describes);
its ETag is derived from the same tuples, so a conditional request that matches is
answered without rendering the body.
"""

import hashlib
import json
from datetime import datetime

from django.utils.http import quote_etag

from orders.models import Channel

Item = tuple[str, int, int, int, int, datetime]
ROW = '{{"sku":{},"available":{},"on_hand":{},"committed":{},"incoming":{},"updated_at":"{}"}}'


def moment(value: datetime) -> str:
    """ISO 8601 as pydantic writes it: ``Z`` for UTC, microseconds only when there are some."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def render(items: list[Item], next_cursor: str | None) -> bytes:
    """The page as compact JSON: ``{"items": [...], "next_cursor": ...}``."""
    dumps = json.dumps
    rows = ",".join(
        ROW.format(dumps(sku), available, on_hand, committed, incoming, moment(updated_at))
        for sku, available, on_hand, committed, incoming, updated_at in items
    )
    return f'{{"items":[{rows}],"next_cursor":{dumps(next_cursor)}}}'.encode()


def etag(channel: Channel, items: list[Item], next_cursor: str | None) -> str:
    """A strong validator of the page: a hash of everything its body is made of.

    Any change of a number, a SKU, an ``updated_at`` or the page's extent changes it,
    whatever caused the change (stock, reservations, purchase orders, channel settings,
    product fields, a lot expiring); the channel is part of it, as the same numbers for
    two channels are two different answers.
    """
    text = "\n".join(
        f"{sku}|{available}|{on_hand}|{committed}|{incoming}|{updated_at.timestamp()}"
        for sku, available, on_hand, committed, incoming, updated_at in items
    )
    digest = hashlib.sha256(f"{channel.pk}|{next_cursor}\n{text}".encode())
    return quote_etag(digest.hexdigest()[:40])
