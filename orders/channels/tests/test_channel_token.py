"""``manage.py channel_token CODE``: creates or rotates the token and prints it once."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from orders.channels import tokens as channels


def run(code: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("channel_token", code, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_creates_a_token_that_authenticates_the_channel(web_store):
    token, note = run("WEB")
    assert token.startswith(channels.TOKEN_PREFIX)
    assert "created" in note
    assert channels.channel_for_token(token) == web_store
    web_store.refresh_from_db()
    assert web_store.token_hash == channels.hash_token(token)
    assert token not in web_store.token_hash  # only the hash is kept


def test_rotating_replaces_the_old_token(web_store):
    first, _ = run("WEB")
    second, note = run("WEB")
    assert second != first
    assert "rotated" in note
    assert channels.channel_for_token(first) is None
    assert channels.channel_for_token(second) == web_store


def test_unknown_code_is_refused_and_names_the_channels(web_store, marketplace):
    with pytest.raises(CommandError, match=r"NOPE.*MKT, WEB"):
        run("NOPE")
    web_store.refresh_from_db()
    assert web_store.token_hash == ""


def test_the_token_lookup_brings_the_channels_warehouses_by_priority(
    marketplace, warehouse, second_warehouse, django_assert_num_queries
):
    from orders.models import Channel, ChannelWarehouse

    token = channels.rotate_token(marketplace)
    third = type(warehouse).objects.create(code="WH3", name="Third")
    # The newest entry (highest id) with the highest priority goes first.
    ChannelWarehouse.objects.create(channel=marketplace, warehouse=third, priority=0)
    channels.channel_for_token(token)  # compiles the lookup
    with django_assert_num_queries(1):
        found = channels.channel_for_token(token)
        ids = found.warehouse_ids()
    assert ids == [third.pk, second_warehouse.pk, warehouse.pk]
    assert ids == Channel.objects.get(pk=marketplace.pk).warehouse_ids()

    ChannelWarehouse.objects.filter(channel=marketplace).delete()
    assert channels.channel_for_token(token).warehouse_ids() == []
