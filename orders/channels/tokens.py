"""Channel API tokens and webhook secrets.

Only a SHA-256 hash of a token is stored; the token itself is returned once, when
it is created or rotated. Tokens carry a recognisable prefix (``srk_``) and 32
random bytes, so a hash without salt is safe and lookups stay one indexed query.
"""

import hashlib
import hmac
import secrets

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import CharField, OuterRef, StringAgg, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from common.compiled import CompiledCache, CompiledQuery, stand_in
from orders.models import Channel, ChannelWarehouse

TOKEN_PREFIX = "srk_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@transaction.atomic
def rotate_token(channel: Channel) -> str:
    """Give the channel a new API token (the old one stops working); return it once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    channel.token_hash = hash_token(token)
    channel.token_hint = token[: len(TOKEN_PREFIX) + 4]
    channel.token_created_at = timezone.now()
    channel.save(update_fields=["token_hash", "token_hint", "token_created_at"])
    return token


def channel_for_token(token: str) -> Channel | None:
    """The channel whose token this is, or None (inactive channels included).

    One indexed query, compiled once per process: every API call starts here.
    """
    if not token or len(token) > 200:
        return None
    digest = hash_token(token)
    compiled = LOOKUPS.get(id(connections[DEFAULT_DB_ALIAS]), _compile_lookup)
    rows = compiled.rows(digest=digest)
    if not rows:
        return None
    *fields, warehouses = rows[0]
    channel = Channel.from_db(DEFAULT_DB_ALIAS, CHANNEL_FIELDS, fields)
    # The lookup is by an exact hash; compare again in constant time for good measure.
    if not hmac.compare_digest(channel.token_hash, digest):
        return None
    channel.known_warehouse_ids = _warehouse_ids(warehouses)
    return channel


LOOKUPS = CompiledCache(size=8)
CHANNEL_FIELDS = [field.attname for field in Channel._meta.concrete_fields]


def _compile_lookup() -> CompiledQuery:
    """The channel of a token hash, with its warehouses as ``priority:id:warehouse``
    entries joined by commas (every API request needs them; one query, not two)."""
    digest = stand_in(str)
    entry = Concat(
        Cast("priority", CharField()),
        Value(":"),
        Cast("id", CharField()),
        Value(":"),
        Cast("warehouse_id", CharField()),
        output_field=CharField(),
    )
    warehouses = (
        ChannelWarehouse.objects.filter(channel_id=OuterRef("pk"))
        .order_by()
        .values("channel_id")
        .annotate(entries=StringAgg(entry, delimiter=Value(",")))
        .values("entries")
    )
    rows = (
        Channel.objects.filter(token_hash=digest)
        .annotate(warehouse_entries=Subquery(warehouses))
        .order_by()
        .values_list(*CHANNEL_FIELDS, "warehouse_entries")
    )
    return CompiledQuery(rows[:1], {"digest": digest})


def _warehouse_ids(entries: str | None) -> list[int]:
    """``Channel.warehouse_ids`` from ``_compile_lookup``'s entries: by priority, then id."""
    if not entries:
        return []
    ranked = sorted(tuple(int(part) for part in entry.split(":")) for entry in entries.split(","))
    return [warehouse_id for _, _, warehouse_id in ranked]


@transaction.atomic
def rotate_webhook_secret(channel: Channel) -> str:
    """Give the channel a new webhook signing secret and return it."""
    channel.webhook_secret = secrets.token_hex(32)
    channel.save(update_fields=["webhook_secret"])
    return channel.webhook_secret


def sign(secret: str, body: bytes) -> str:
    """The ``X-Stockroom-Signature`` header value for ``body``: ``sha256=<hex HMAC>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
