"""/healthz: what a load balancer polls to know whether this server can take traffic."""

from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.db.backends.base.base import BaseDatabaseWrapper

from common import health


@pytest.mark.django_db
def test_healthz_answers_200_without_login(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert "no-cache" in response.headers["Cache-Control"]


@pytest.mark.django_db
def test_healthz_answers_503_when_the_database_cannot_be_reached(client):
    with mock.patch.object(
        BaseDatabaseWrapper, "cursor", side_effect=OperationalError("connection refused")
    ):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert b"database" in response.content


@pytest.mark.django_db
def test_healthz_answers_503_when_the_query_fails(client):
    failing_cursor = mock.MagicMock()
    failing_cursor.__enter__.return_value.execute.side_effect = OperationalError("server closed")
    with mock.patch.object(BaseDatabaseWrapper, "cursor", return_value=failing_cursor):
        response = client.get("/healthz")

    assert response.status_code == 503


@pytest.mark.django_db
def test_healthz_is_not_redirected_to_https(client, settings):
    """Load balancers often poll over plain HTTP even when the site forces HTTPS."""
    settings.SECURE_SSL_REDIRECT = True

    response = client.get("/healthz")

    assert response.status_code == 200


@pytest.fixture
def fresh_check():
    health.WriteCheck.forget()
    yield
    health.WriteCheck.forget()


def statements(client) -> list[str]:
    """The SQL one /healthz call runs."""
    seen: list[str] = []

    def record(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        assert client.get("/healthz").status_code == 200
    return seen


@pytest.mark.django_db
def test_healthz_writes_at_most_once_a_second_and_reads_every_time(client, fresh_check):
    """The write takes SQLite's write lock: polled by a load balancer, it would queue
    behind order intake and measure the queue instead of the server."""
    now = [1000.0]
    with mock.patch.object(health.time, "monotonic", lambda: now[0]):
        first = statements(client)
        now[0] += 0.5
        second = statements(client)
        now[0] += 0.6
        third = statements(client)
    assert any(sql.startswith("UPDATE django_migrations") for sql in first)
    assert second and not any("UPDATE" in sql for sql in second)
    assert any(sql.startswith("UPDATE django_migrations") for sql in third)


@pytest.mark.django_db
def test_a_failed_write_is_never_taken_as_fresh(client, fresh_check):
    with mock.patch.object(health, "write_rolled_back", return_value=False) as write:
        assert client.get("/healthz").status_code == 503
        assert client.get("/healthz").status_code == 503
    assert write.call_count == 2
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_a_read_only_database_answers_503_within_the_write_window(client, fresh_check):
    assert client.get("/healthz").status_code == 200  # the write check is now fresh
    with mock.patch.object(health, "accepts_writes", return_value=False):
        assert client.get("/healthz").status_code == 503
    assert health.WriteCheck.passed_at is None
