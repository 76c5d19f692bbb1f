"""Schemathesis against ``/api/v1/openapi.json``: no input, valid or not, gets a server error.

Each operation gets a bounded number of generated requests (valid and invalid bodies,
parameters and paths) sent in-process through Django's WSGI handler with a real
channel token; every response must be a non-5xx that matches the documented schema.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from inventory import ledger
from orders.channels import tokens as channels


class InProcessWSGI:
    """Django's WSGI handler that keeps the test's database connection open.

    A real request ends by closing old connections, which would close the test
    transaction's connection; Django's own test client unhooks that the same way.
    """

    def __init__(self):
        self.app = get_wsgi_application()

    def __call__(self, environ, start_response):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            response = self.app(environ, start_response)
            try:
                return [b"".join(response)]
            finally:
                response.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)


schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", InProcessWSGI())

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def token(web_store, product, locations, dropship_supplier):
    ledger.receive(product=product, location=locations["bin1"], quantity=50, unit_cost="2")
    return channels.rotate_token(web_store)


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)
def test_no_server_error_and_answers_match_the_schema(case, token):
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
