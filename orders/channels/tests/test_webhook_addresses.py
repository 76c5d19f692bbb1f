"""Webhook address rules: no loopback, private, link-local, metadata or reserved receivers.

Checked when a manager saves the URL and again on the address actually connected to
when sending (resolved once, so DNS cannot answer the check and the connection
differently). Receivers' answers are shown to managers only, truncated.
"""

import ipaddress
import socket
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest
from django.urls import reverse
from django.utils import timezone

from common.testing import field_error, html_of, text_of
from inventory import ledger
from orders.channels import addresses, webhook_http, webhooks
from orders.channels.tests.test_channel_views import channel_rows, form_data
from orders.channels.tests.test_webhooks import Receiver
from orders.models import Channel, WebhookDelivery

Status = WebhookDelivery.Status


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def strict(settings):
    settings.STOCKROOM_WEBHOOK_ALLOW_PRIVATE = False
    return settings


REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.10", "private"),
    ("fd12:3456::1", "private"),
    ("169.254.10.10", "link-local"),
    ("fe80::1", "link-local"),
    ("169.254.169.254", "cloud metadata"),
    ("fd00:ec2::254", "cloud metadata"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("240.0.0.1", "reserved"),
    ("100.64.0.1", "reserved"),
]


@pytest.mark.parametrize(("address", "kind"), REFUSED)
def test_internal_addresses_are_refused(strict, address, kind):
    assert kind in addresses.why_refused(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(strict, address):
    assert addresses.why_refused(ipaddress.ip_address(address)) is None


def test_the_development_setting_allows_private_but_never_metadata(settings):
    settings.STOCKROOM_WEBHOOK_ALLOW_PRIVATE = True
    assert addresses.why_refused(ipaddress.ip_address("127.0.0.1")) is None
    assert addresses.why_refused(ipaddress.ip_address("10.0.0.5")) is None
    assert "metadata" in addresses.why_refused(ipaddress.ip_address("169.254.169.254"))
    assert "metadata" in addresses.why_refused(ipaddress.ip_address("fd00:ec2::254"))


def test_a_loopback_receiver_is_not_contacted_at_send_time(
    strict, web_store, receiver, product, locations
):
    Channel.objects.filter(pk=web_store.pk).update(webhook_url=receiver.url)
    web_store.refresh_from_db()
    ledger.receive(product=product, location=locations["bin1"], quantity=1, unit_cost="2")

    delivery = webhooks.deliver(web_store)

    assert receiver.requests == []
    assert delivery.status == Status.FAILED and delivery.response_status is None
    assert delivery.last_error == (
        "Not sent: 127.0.0.1 is a loopback address; webhooks are only sent to public addresses."
    )


def fake_dns(monkeypatch, answers: list[str]) -> list[str]:
    """``getaddrinfo`` answers the next address of ``answers`` on each call (rebinding)."""
    asked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        try:
            ipaddress.ip_address(host)
            return real(host, port, *args, **kwargs)  # a literal: no DNS involved
        except ValueError:
            asked.append(host)
        address = answers[min(len(asked), len(answers)) - 1]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_dns_rebinding_cannot_swap_the_checked_address(strict, monkeypatch):
    """A name that answers public to the check and loopback afterwards is never followed."""
    asked = fake_dns(monkeypatch, ["93.184.216.34", "127.0.0.1"])
    connected: list[tuple] = []

    def create_connection(address, *args, **kwargs):
        connected.append(address)
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(socket, "create_connection", create_connection)
    status, error = webhook_http.post("http://hook.example:8080/x", b"{}", {})

    assert status is None and error.startswith("Connection refused by hook.example:8080")
    assert asked == ["hook.example"], "resolved once"
    assert connected == [("93.184.216.34", 8080)], "connected to the checked address"


def test_the_host_header_keeps_the_name_while_connecting_to_the_address(
    web_store, receiver, product, locations, monkeypatch
):
    fake_dns(monkeypatch, ["127.0.0.1", "10.255.255.1"])
    url = f"http://hooks.shop.test:{receiver.port}/stock-hook"
    Channel.objects.filter(pk=web_store.pk).update(webhook_url=url)
    web_store.refresh_from_db()
    ledger.receive(product=product, location=locations["bin1"], quantity=1, unit_cost="2")

    delivery = webhooks.deliver(web_store)
    assert delivery.status == Status.DELIVERED, delivery.last_error
    headers, _ = receiver.requests[0]
    assert headers["Host"] == f"hooks.shop.test:{receiver.port}"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:8001/hook", "127.0.0.1 is a loopback address"),
        ("http://[::1]/hook", "::1 is a loopback address"),
        ("https://10.0.0.7/hook", "10.0.0.7 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata"),
        ("http://localhost:8001/hook", "localhost (127.0.0.1) is a loopback address"),
    ],
)
def test_the_form_refuses_internal_addresses_with_a_message(
    strict, client, manager, warehouse, url, message
):
    client.force_login(manager)
    before = channel_rows()
    response = client.post(reverse("channel_create"), form_data(webhook_url=url))

    assert response.status_code == 200
    error = field_error(html_of(response), "id_webhook_url")
    assert message in error and "only sent to public addresses" in error
    assert channel_rows() == before
    assert url in html_of(response), "what was typed is kept"


def test_the_form_refuses_metadata_even_in_development(settings, client, manager, warehouse):
    settings.STOCKROOM_WEBHOOK_ALLOW_PRIVATE = True
    client.force_login(manager)
    url = "http://169.254.169.254/latest/meta-data/"
    response = client.post(reverse("channel_create"), form_data(webhook_url=url))
    assert "cloud metadata" in field_error(html_of(response), "id_webhook_url")
    assert not Channel.objects.filter(code="SHOP").exists()


class LongAnswer(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        payload = ("secret-" + "x" * 2000).encode()
        self.send_response(500)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def test_a_receivers_answer_is_kept_truncated_to_500_characters():
    server = ThreadingHTTPServer(("127.0.0.1", 0), LongAnswer)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        status, error = webhook_http.post(f"http://127.0.0.1:{server.server_port}/", b"{}", {})
    finally:
        server.shutdown()
        server.server_close()
    assert status == 500
    body = error.split(": ", 1)[1]
    assert body.startswith("secret-xxx") and len(body) == webhook_http.BODY_SHOWN
    assert body.endswith("…")


def test_only_managers_see_receivers_answers(client, clerk, buyer, manager, web_store):
    WebhookDelivery.objects.create(
        channel=web_store,
        status=Status.FAILED,
        attempts=1,
        response_status=500,
        last_error="hook.example answered 500 Internal Server Error: db password is hunter2",
        last_attempt_at=timezone.now() - timedelta(minutes=1),
    )
    for user in (clerk, buyer):
        client.force_login(user)
        text = text_of(client.get(web_store.get_absolute_url()))
        assert "hunter2" not in text and "Internal Server Error" not in text
        assert "500" in text, "the status code is shown"
    client.force_login(manager)
    assert "db password is hunter2" in text_of(client.get(web_store.get_absolute_url()))
