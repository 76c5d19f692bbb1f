"""Channel API tokens and webhook secrets.

Only a SHA-256 hash of a token is stored; the token itself is returned once, when
it is created or rotated. Tokens carry a recognisable prefix (``srk_``) and 32
random bytes, so a hash without salt is safe and lookups stay one indexed query.
"""

import hashlib
import hmac
import secrets

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from common.compiled import CompiledCache, CompiledQuery, stand_in
from orders.models import Channel

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
    channel = Channel.from_db(DEFAULT_DB_ALIAS, CHANNEL_FIELDS, rows[0]) if rows else None
    # The lookup is by an exact hash; compare again in constant time for good measure.
    if channel is None or not hmac.compare_digest(channel.token_hash, digest):
        return None
    return channel


LOOKUPS = CompiledCache(size=8)
CHANNEL_FIELDS = [field.attname for field in Channel._meta.concrete_fields]


def _compile_lookup() -> CompiledQuery:
    digest = stand_in(str)
    rows = Channel.objects.filter(token_hash=digest).order_by().values_list(*CHANNEL_FIELDS)
    return CompiledQuery(rows[:1], {"digest": digest})


@transaction.atomic
def rotate_webhook_secret(channel: Channel) -> str:
    """Give the channel a new webhook signing secret and return it."""
    channel.webhook_secret = secrets.token_hex(32)
    channel.save(update_fields=["webhook_secret"])
    return channel.webhook_secret


def sign(secret: str, body: bytes) -> str:
    """The ``X-Stockroom-Signature`` header value for ``body``: ``sha256=<hex HMAC>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
