"""The HTTP POST of a webhook delivery: one deadline, no redirects, checked addresses.

The host is resolved once and every address it gives is checked against the address
rules (``orders.channels.addresses``); the connection then goes to that address, with
the name kept for the ``Host`` header, TLS SNI and certificate check. DNS therefore
cannot answer one address to the check and another to the connection.
"""

import contextlib
import http.client
import socket
import ssl
import threading
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from orders.channels.addresses import AddressRefused, checked_addresses

TIMEOUT_SECONDS = 10  # each socket operation
TOTAL_SECONDS = 30  # the whole POST: connect, send, answer (kept under the lease)
BODY_SHOWN = 500  # characters of a refusing receiver's answer kept (shown to managers)


class Deadline:
    """Shuts the request's socket when the whole POST takes longer than ``seconds``.

    Socket timeouts apply to each read or write, so a receiver trickling a byte at a
    time could otherwise keep a delivery (and the channel's lease) forever. A timer
    thread shuts the socket down; the blocked read in the worker then ends at once.
    """

    def __init__(self, seconds: float):
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self):
        self._timer.start()
        return self

    def __exit__(self, *exc_info):
        self._timer.cancel()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    # The plain socket's shutdown, also for TLS sockets: it only ends the
    # connection and leaves the TLS object to the thread that is reading.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _opener(deadline: Deadline, address: str) -> urllib.request.OpenerDirector:
    """HTTP(S) only, to ``address``: no file:, ftp: or data: handlers, no proxies, no redirects."""
    context = ssl.create_default_context()

    def connect_pinned(connection) -> socket.socket:
        sock = socket.create_connection((address, connection.port), connection.timeout)
        deadline.watch(sock)
        return sock

    class HTTPConnection(http.client.HTTPConnection):
        def connect(self):
            self.sock = connect_pinned(self)

    class HTTPSConnection(http.client.HTTPSConnection):
        def connect(self):
            # SNI and the certificate check use the name, not the address.
            self.sock = context.wrap_socket(connect_pinned(self), server_hostname=self.host)

    class HTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(HTTPConnection, req)

    class HTTPSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(HTTPSConnection, req)

    opener = urllib.request.OpenerDirector()
    for handler in (HTTPHandler(), HTTPSHandler(context=context)):
        opener.add_handler(handler)
    return opener


def post(
    url: str, body: bytes, headers: dict[str, str], *, total_seconds: float = TOTAL_SECONDS
) -> tuple[int | None, str]:
    """POST ``body``; return (HTTP status or None, a short error for anything but 2xx).

    Each socket operation may take ``TIMEOUT_SECONDS``; the whole request at most
    ``total_seconds``. A host that is or resolves to a refused address is not contacted.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None, short(f"Not an http(s) URL: {url}")
    where = parts.netloc
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = str(checked_addresses(parts.hostname, port)[0])
    except AddressRefused as exc:
        return None, short(f"Not sent: {exc}")
    except (OSError, ValueError, UnicodeError) as exc:
        return None, _url_error(exc, where)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    too_slow = f"No complete answer from {where} within {total_seconds:g} s."
    with Deadline(total_seconds) as deadline:
        try:
            with _opener(deadline, address).open(request, timeout=TIMEOUT_SECONDS) as response:
                status = response.status
                text = response.read(BODY_SHOWN * 4)
                reason = response.reason
                location = response.headers.get("Location", "")
        except TimeoutError:
            if deadline.expired:
                return None, too_slow
            return None, f"No answer from {where} within {TIMEOUT_SECONDS} s."
        except urllib.error.URLError as exc:
            if deadline.expired:
                return None, too_slow
            return None, _url_error(exc.reason, where)
        except (http.client.HTTPException, OSError) as exc:
            if deadline.expired:
                return None, too_slow
            return None, _url_error(exc, where)
    if deadline.expired:
        # The answer may be cut short; the delivery is sent again, which is harmless.
        return None, too_slow
    if 200 <= status < 300:
        return status, ""
    if 300 <= status < 400:
        return status, short(
            f"{where} answered {status} {reason} (redirect to {location or '?'}); "
            "webhook URLs must answer 2xx themselves."
        )
    snippet = short(text.decode("utf-8", "replace"), BODY_SHOWN)
    return status, short(
        f"{where} answered {status} {reason}" + (f": {snippet}" if snippet else ""),
        BODY_SHOWN + 200,
    )


def _url_error(reason, where: str) -> str:
    if isinstance(reason, TimeoutError | socket.timeout):
        return f"No answer from {where} within {TIMEOUT_SECONDS} s."
    if isinstance(reason, ConnectionRefusedError):
        return f"Connection refused by {where} (is the receiver running?)."
    if isinstance(reason, socket.gaierror):
        return f"Could not resolve the host of {where} ({reason.strerror or reason})."
    if isinstance(reason, ssl.SSLError | ssl.CertificateError):
        return short(f"TLS error talking to {where}: {reason}")
    if isinstance(reason, ConnectionError):
        return short(f"Connection to {where} failed: {reason}")
    return short(f"Could not reach {where}: {reason}")


def short(text: str, limit: int = 300) -> str:
    """``text`` on one line, at most ``limit`` characters (an ellipsis when cut)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
