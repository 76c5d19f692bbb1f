"""Which addresses a webhook may be sent to (README "Webhook address rules").

A manager types a channel's webhook URL, and the worker POSTs to it from inside the
network, so a URL naming an internal address would let the app reach what outsiders
cannot (SSRF). Only public unicast addresses are allowed; cloud metadata endpoints
never are. ``STOCKROOM_WEBHOOK_ALLOW_PRIVATE`` allows loopback and private networks
for local development (a receiver on the same machine).

The rule is applied to the address actually connected to: the name is resolved once,
every address it resolves to is checked, and the connection goes to that address
(``orders.channels.webhook_http``), so a DNS answer cannot change between the check and
the connection.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Instance metadata of AWS, GCP, Azure, OpenStack (IPv4) and AWS (IPv6): never allowed.
METADATA = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)


class AddressRefused(Exception):
    """The URL's host is, or resolves to, an address webhooks may not be sent to."""


def allow_private() -> bool:
    return bool(getattr(settings, "STOCKROOM_WEBHOOK_ALLOW_PRIVATE", False))


def why_refused(address: Address) -> str | None:
    """The kind of address that makes it refused ("loopback", …), or None when allowed."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address in METADATA:
        return "a cloud metadata address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "an unspecified address"
    if allow_private():
        return None
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "a reserved address"
    return None


def resolve(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to (raises ``socket.gaierror``), in resolver order."""
    found: list[Address] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


def checked_addresses(host: str, port: int) -> list[Address]:
    """Resolve ``host`` and refuse it when any address it resolves to is refused."""
    addresses = resolve(host, port)
    for address in addresses:
        reason = why_refused(address)
        if reason:
            shown = host if host == str(address) else f"{host} ({address})"
            raise AddressRefused(
                f"{shown} is {reason}; webhooks are only sent to public addresses."
            )
    return addresses


def validate_webhook_address(url: str) -> None:
    """Form check: refuse a URL whose host is, or now resolves to, a refused address.

    A name that does not resolve now is accepted (the receiver may not exist yet); the
    send-time check still applies to whatever it resolves to then.
    """
    if not url:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return  # the URL validator reports a bad port
    if not host:
        return
    try:
        checked_addresses(host, port)
    except AddressRefused as exc:
        raise ValidationError(
            f"{exc} Use the receiver's public address.", code="address_refused"
        ) from exc
    except (OSError, UnicodeError):
        return
