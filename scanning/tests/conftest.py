"""Helpers for the station tests: post a scan as htmx or as a plain form."""

import uuid

import pytest
from django.urls import reverse


@pytest.fixture
def scan(client):
    """``scan(kind, code, htmx=True, scan_id=None, action="")`` posts one submission."""

    def post(kind, code="", *, htmx=True, scan_id=None, action=""):
        headers = {"HX-Request": "true"} if htmx else {}
        data = {"code": code, "scan_id": scan_id or uuid.uuid4().hex, "action": action}
        return client.post(reverse("scan_station", args=[kind]), data, headers=headers)

    return post
