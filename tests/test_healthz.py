"""/healthz: what a load balancer polls to know whether this server can take traffic."""

from unittest import mock

import pytest
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper


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
