"""An unwritable database: /healthz says 503, pages a plain 503 page, the API JSON 503.

The database is made read-only the way an operator's mistake or a full disk makes it:
SQLite through ``PRAGMA query_only`` on every connection (the same "attempt to write a
readonly database" a read-only file gives; chmod does not stop root), PostgreSQL
through ``default_transaction_read_only``. Once it is writable again everything
answers normally, with nothing restarted.
"""

import sys

import pytest
from django.db import DatabaseError, OperationalError, ProgrammingError, connection
from django.db.backends.signals import connection_created
from django.test import RequestFactory

from common import unavailable
from common.testing import text_of
from inventory import ledger
from orders.channels import tokens as channels
from orders.channels.tests.test_api import ORDERS, bearer, order_body
from orders.models import Channel, ChannelWarehouse, SalesOrder

pytestmark = pytest.mark.django_db(transaction=True)


def set_read_only(conn, on: bool) -> None:
    with conn.cursor() as cursor:
        if conn.vendor == "sqlite":
            cursor.execute(f"PRAGMA query_only = {int(on)}")
        else:
            cursor.execute(f"SET default_transaction_read_only = {'on' if on else 'off'}")


class ReadOnly:
    """Every connection, now and newly opened, refuses writes until ``writable()``."""

    def __init__(self):
        self.on = False

    def _opened(self, sender, connection, **kwargs):
        if self.on:
            set_read_only(connection, True)

    def read_only(self):
        self.on = True
        connection_created.connect(self._opened)
        connection.ensure_connection()
        set_read_only(connection, True)

    def writable(self):
        self.on = False
        connection_created.disconnect(self._opened)
        if connection.connection is not None:
            set_read_only(connection, False)


@pytest.fixture
def database():
    switch = ReadOnly()
    yield switch
    if switch.on:
        switch.writable()


def test_healthz_reports_an_unwritable_database_and_recovers(client, database):
    assert client.get("/healthz").status_code == 200
    database.read_only()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.content == b"database unavailable\n"
    database.writable()
    assert client.get("/healthz").status_code == 200


def test_login_answers_a_plain_503_page_and_works_again_after(client, manager, database):
    credentials = {"username": "manager1", "password": "pass-for-tests-only"}
    database.read_only()
    response = client.post("/login/", credentials)

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "no-cache" in response["Cache-Control"]
    assert "Try again shortly" in text_of(response)
    assert "Nothing you sent was saved" in text_of(response)

    database.writable()
    response = client.post("/login/", credentials)
    assert response.status_code == 302 and response.url == "/"
    assert client.get("/").status_code == 200


def test_the_api_answers_json_503_and_takes_the_order_once_writable(
    client, warehouse, product, locations, database
):
    web_store = Channel.objects.create(code="WEB", name="Web store")
    ChannelWarehouse.objects.create(channel=web_store, warehouse=warehouse, priority=1)
    ledger.receive(product=product, location=locations["bin1"], quantity=10, unit_cost="2.00")
    token = channels.rotate_token(web_store)

    def place():
        return client.post(
            ORDERS, order_body(), content_type="application/json", headers=bearer(token)
        )

    database.read_only()
    response = place()
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "database_unavailable"
    assert "Try again shortly" in response.json()["message"]

    database.writable()
    assert SalesOrder.objects.count() == 0
    assert place().status_code == 201
    assert SalesOrder.objects.count() == 1


class FakePgError(Exception):
    def __init__(self, sqlstate):
        super().__init__("pg")
        self.sqlstate = sqlstate


def wrapped(error_class, cause):
    try:
        raise error_class(str(cause)) from cause
    except error_class as exc:
        return exc


@pytest.mark.parametrize("sqlstate", ["25006", "53100", "08006", "57P01", "57P03", "55P03"])
def test_postgresql_states_that_mean_unavailable(sqlstate):
    assert unavailable.is_unavailable(wrapped(OperationalError, FakePgError(sqlstate)))


@pytest.mark.parametrize(
    "error",
    [
        ProgrammingError("no such table: inventory_product"),
        DatabaseError("CHECK constraint failed: on_hand"),
        OperationalError("no such column: x"),
        ValueError("attempt to write a readonly database"),
    ],
)
def test_bugs_are_not_mistaken_for_an_unavailable_database(error):
    assert not unavailable.is_unavailable(error)


@pytest.mark.parametrize(
    "message",
    [
        "attempt to write a readonly database",
        "database or disk is full",
        "database is locked",
        "unable to open database file",
    ],
)
def test_sqlite_messages_that_mean_unavailable(message):
    assert unavailable.is_unavailable(OperationalError(message))


def test_an_error_outside_a_view_gets_the_503_too():
    """``handler500`` sees the error a middleware raised (e.g. saving the session)."""
    request = RequestFactory().get("/api/v1/inventory")
    try:
        raise OperationalError("attempt to write a readonly database")
    except OperationalError:
        assert sys.exc_info()[0] is OperationalError
        response = unavailable.server_error(request)
    assert response.status_code == 503
    assert b"database_unavailable" in response.content
