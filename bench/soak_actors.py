"""The soak's people and parts: clerks and managers in browsers, a failing webhook receiver.

Plain HTTP with ``http.client`` and no models, so the threads share nothing with Django
but what they send over the wire.
"""

import hmac
import http.client
import json
import random
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from hashlib import sha256
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
# The first error a form page shows: a field's error list or the errors above the form.
ERROR_TEXT = re.compile(rb'class="(?:errorlist|form-errors)"[^>]*>\s*<(?:li|p)>([^<]{1,200})')
TIMEOUT = 120


@dataclass
class Tally:
    """What every actor saw, by kind of request: latencies, statuses, refusals, errors."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))
    refused: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # The first reason the page gave for a refusal, by kind.
    reasons: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, ms: float, status: int) -> None:
        with self.lock:
            self.latencies[kind].append(ms)
            counts = self.statuses[kind]
            counts[status] = counts.get(status, 0) + 1

    def refuse(self, kind: str, reason: str) -> None:
        with self.lock:
            self.refused[kind] += 1
            self.reasons.setdefault(kind, reason)

    def error(self, text: str) -> None:
        with self.lock:
            if len(self.errors) < 50:
                self.errors.append(text)


class Browser:
    """One person's keep-alive connection with its cookies, as a browser keeps them."""

    def __init__(self, port: int, tally: Tally):
        self.port, self.tally = port, tally
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)

    def request(self, kind: str, method: str, url: str, form: dict | None = None):
        """Send one request; record it under ``kind``; return ``(status, body)``.

        A connection error is an error of the run and answers ``(0, b"")``.
        """
        headers = {"Host": "127.0.0.1"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        try:
            self.conn.request(method, url, body=body, headers=headers)
            response = self.conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.tally.error(f"{kind}: {exc!r}")
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
            return 0, b""
        self.tally.record(kind, (time.perf_counter() - started) * 1000, response.status)
        for header in response.msg.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        if response.status >= 400 and response.status not in (404,):
            self.tally.error(f"{kind} {method} {url}: {response.status} {payload[:160]!r}")
        return response.status, payload

    def form_token(self, kind: str, url: str) -> str | None:
        """GET a form page and return its CSRF token (None if the page did not show one)."""
        status, body = self.request(kind, "GET", url)
        match = CSRF_FIELD.search(body) if status == 200 else None
        if match is None:
            if status == 200:
                self.tally.error(f"{kind}: no CSRF token on {url}")
            return None
        return match.group(1).decode()

    def post_form(self, kind: str, url: str, token: str, form: dict) -> bool:
        """POST a form; True when it was taken (a redirect), False when it was refused."""
        status, body = self.request(kind, "POST", url, {"csrfmiddlewaretoken": token, **form})
        if status in (301, 302, 303):
            return True
        if status == 200:
            match = ERROR_TEXT.search(body)
            self.tally.refuse(kind, match.group(1).decode().strip() if match else "")
        return False

    def log_in(self, username: str, password: str) -> bool:
        """Sign in through the login form, as a person does."""
        token = self.form_token("login form", "/login/")
        if token is None:
            return False
        form = {"username": username, "password": password, "next": "/"}
        if not self.post_form("login", "/login/", token, form):
            self.tally.error(f"login refused for {username}")
            return False
        return True

    def close(self) -> None:
        self.conn.close()


@dataclass
class Receipt:
    """A clerk's sent purchase order: its receive page and the fields of each line."""

    url: str
    lines: list[int]
    location: str


@dataclass
class Transfer:
    """One unit of a product that a clerk may move between two locations.

    A put-away (dock to bin) goes one way; a move between two bins goes either way.
    """

    sku: str
    source: str
    target: str
    both_ways: bool = True


@dataclass
class Floor:
    """What the people do until ``deadline``: their logins and the work they can take."""

    port: int
    tally: Tally
    deadline: float
    password: str
    clerks: list[str]
    managers: list[str]
    receipts: list[Receipt]
    transfers: list[Transfer]
    pages: list[str]


def receive(browser: Browser, rng: random.Random, receipt: Receipt) -> None:
    """Receive a few units of one line of the clerk's purchase order into the dock."""
    token = browser.form_token("receive form", receipt.url)
    if token is None:
        return
    line = rng.choice(receipt.lines)
    form = {
        f"line-{line}-quantity": str(rng.randint(1, 12)),
        f"line-{line}-location": receipt.location,
        f"line-{line}-lot_code": "",
        f"line-{line}-expires_on": "",
    }
    browser.post_form("receive post", receipt.url, token, form)


def transfer(browser: Browser, rng: random.Random, move: Transfer) -> None:
    """Move one unit as ``move`` says (refused when no free unit is there)."""
    token = browser.form_token("transfer form", "/stock/transfer/")
    if token is None:
        return
    source, target = move.source, move.target
    if move.both_ways and rng.random() < 0.5:
        source, target = target, source
    form = {"product": move.sku, "location": source, "to_location": target, "lot": ""}
    browser.post_form("transfer post", "/stock/transfer/", token, {**form, "quantity": "1"})


def clerk(floor: Floor, n: int) -> None:
    """Be clerk ``n``: log in, then receive and move stock through the forms in turn."""
    rng = random.Random(f"clerk-{n}")
    browser = Browser(floor.port, floor.tally)
    if browser.log_in(floor.clerks[n], floor.password):
        i = 0
        while time.perf_counter() < floor.deadline:
            if i % 2 == 0 and floor.receipts:
                receive(browser, rng, floor.receipts[n % len(floor.receipts)])
            elif floor.transfers:
                transfer(browser, rng, rng.choice(floor.transfers))
            i += 1
    browser.close()


def manager(floor: Floor, n: int) -> None:
    """Be manager ``n``: log in, then read the dashboard and the lists round-robin."""
    browser = Browser(floor.port, floor.tally)
    if browser.log_in(floor.managers[n], floor.password):
        i = n
        while time.perf_counter() < floor.deadline:
            url = floor.pages[i % len(floor.pages)]
            browser.request(f"page {url}", "GET", url)
            i += 1
    browser.close()


class Receiver:
    """A channel's webhook endpoint that checks signatures and fails some deliveries.

    Keeps, per channel and SKU, the value with the highest sequence it accepted.
    """

    def __init__(self, secrets: dict[str, str], fail_rate: float, seed: str = "soak"):
        self.secrets, self.fail_rate = secrets, fail_rate
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.latest: dict[tuple[str, str], tuple[int, int]] = {}
        self.counts = dict.fromkeys(("posts", "accepted", "failed", "bad_signature", "items"), 0)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _ReceiverHandler)
        self.server.receiver = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/stock"

    def take(self, body: bytes, signature: str) -> int:
        """Judge one POST; return the status to answer."""
        try:
            payload = json.loads(body)
            secret = self.secrets[payload["channel"]]
        except (ValueError, KeyError):
            payload, secret = None, None
        expected = ""
        if secret:
            expected = "sha256=" + hmac.new(secret.encode(), body, sha256).hexdigest()
        with self.lock:
            self.counts["posts"] += 1
            if not secret or not hmac.compare_digest(expected, signature):
                self.counts["bad_signature"] += 1
                return 401
            if self.rng.random() < self.fail_rate:
                self.counts["failed"] += 1
                return 500
            self.counts["accepted"] += 1
            for item in payload["items"]:
                key = (payload["channel"], item["sku"])
                self.counts["items"] += 1
                if key not in self.latest or self.latest[key][0] < item["sequence"]:
                    self.latest[key] = (item["sequence"], item["available"])
        return 204

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class _ReceiverHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status = self.server.receiver.take(body, self.headers.get("X-Stockroom-Signature", ""))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass
