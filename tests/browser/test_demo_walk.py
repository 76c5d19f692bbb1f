"""Each demo login walks the app as ``make run`` serves it, on a laptop and on a phone.

For every role and width: log in, follow every navigation link, and fail on a 5xx, a
console error or a failed request (a 4xx included: the favicon's 404 was one); save a
full-page screenshot of each page to ``artifacts/screenshots/<width>/<role>-<page>.png``.
The navigation must fit one row at 1366 px and fold behind Menu at 390 px, and on a
phone the stock list's On hand and Available columns must be reachable by scrolling the
table's own box, never the page.

Then each role's primary actions, done through the pages as a person would (navigation
links, buttons, forms filled by label), on both widths, with a screenshot after each
step: the buyer creates a product, lists it with a supplier, orders it and sends the
order; the clerk receives an order into the receiving dock and puts it away; the
manager enters an order that waits for stock, adjusts stock in, allocates, picks and
ships it with a carrier and tracking number. Each test makes the records it needs
(SKUs unique per test), so none depends on another or on the order they run in.
"""

import re
import secrets
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.browser.demo_server import ROOT, DemoServer, demo_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.timeout(900)  # the first test also waits for the server to start

PASSWORDS = {"admin": "admin-demo", "manager": "manager-demo", "buyer": "buyer-demo"}
PASSWORDS["clerk"] = "clerk-demo"
LAPTOP, PHONE = 1366, 390
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
# The demo data's places (inventory/demo.py): a supplier that emails, the main warehouse,
# its receiving dock and a storage bin, and a channel that sells from it.
SUPPLIER, WAREHOUSE, DOCK, BIN, CHANNEL = "ACME", "MAIN", "MAIN-RCV", "MAIN-A-01-01", "POS"
# How long the db_worker may take to email a purchase order or re-allocate an order.
WORKER_SECONDS = 30


class DemoBrowser:
    """One role in one browser tab of a given width, recording whatever goes wrong."""

    def __init__(self, page: Page, server: DemoServer, role: str, width: int, name: str = ""):
        self.page, self.server, self.role, self.width = page, server, role, width
        self.name = name or role  # screenshots are <width>/<name>-<page>.png
        self.problems: list[str] = []
        self.log_offset = server.log_size()
        page.set_default_timeout(15_000)  # a slow step fails in seconds, not in half a minute
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("requestfailed", self._request_failed)
        page.on("response", self._response)

    # --- what counts as a problem ------------------------------------------------

    def _console(self, message) -> None:
        if message.type == "error":
            self.problems.append(f"console error on {self.page.url}: {message.text}")

    def _request_failed(self, request) -> None:
        self.problems.append(f"request failed: {request.url} ({request.failure})")

    def _response(self, response) -> None:
        if response.status >= 400:
            self.problems.append(f"{response.status} for {response.url}")

    def assert_no_problems(self) -> None:
        problems = self.problems + self.server.failed_requests_since(self.log_offset)
        assert not problems, "\n".join(problems)

    # --- actions -----------------------------------------------------------------

    def log_in(self) -> None:
        page = self.page
        page.goto(f"{self.server.url}/login/")
        page.fill("input[name=username]", self.role)
        page.fill("input[name=password]", PASSWORDS[self.role])
        page.click("button[type=submit]")
        expect(page.locator(".site-header .who")).to_have_text(self.role)

    def nav_links(self) -> list[tuple[str, str]]:
        """Return (label, absolute URL) of every link in the main navigation, open or not."""
        return self.page.locator("nav.site-nav a").evaluate_all(
            "links => links.map(a => [a.textContent.trim(), a.href])"
        )

    def visit(self, url: str) -> None:
        response = self.page.goto(url)
        assert response is not None and response.status < 500, f"{url}: {response.status}"
        self.page.wait_for_load_state("networkidle")

    def open_menu(self) -> None:
        """Open the phone menu (a no-op on a laptop, where the navigation is always shown)."""
        toggle = self.page.locator("details.menu-toggle")
        if toggle.is_visible() and toggle.get_attribute("open") is None:
            toggle.locator("summary").click()

    def open_group(self, name: str) -> None:
        group = self.page.locator(
            "details.nav-group", has=self.page.locator("summary", has_text=name)
        )
        if group.get_attribute("open") is None:
            group.locator("summary").click()

    def go(self, group: str | None, link: str) -> None:
        """Follow a navigation link as a person would: Menu on a phone, then its group."""
        self.open_menu()
        if group:
            self.open_group(group)
        nav = self.page.get_by_role("navigation", name="Main")
        nav.get_by_role("link", name=link, exact=True).click()
        self.page.wait_for_load_state("networkidle")

    def message(self):
        return self.page.locator("ul.messages .message")

    def fact(self, term: str):
        """The value of a ``<dl class="facts">`` entry, e.g. "Expected delivery"."""
        return self.page.locator(
            "dl.facts > div", has=self.page.locator("dt", has_text=term)
        ).locator("dd")

    def reload_until(self, locator, pattern: str, seconds: float = WORKER_SECONDS) -> None:
        """Reload the page until ``locator`` reads ``pattern``: a db_worker task is behind it."""
        deadline = time.monotonic() + seconds
        while not re.search(pattern, locator.inner_text()):
            assert time.monotonic() < deadline, (
                f"{self.page.url}: still {locator.inner_text()!r} after {seconds} s, "
                f"not {pattern!r}"
            )
            self.page.wait_for_timeout(500)
            self.page.reload()

    def fill_product(self, label: str, sku: str):
        """Type a SKU into a product field and let its htmx suggestions answer.

        Submitting while the suggestions are on their way would abort that request (a
        failed request for ``assert_no_problems``), so wait for the answer first.
        """
        field = self.page.get_by_label(label, exact=True)
        with self.page.expect_response(lambda response: "/product-suggestions/" in response.url):
            field.fill(sku)
        return field

    def filter_to_one_row(self, label: str, value: str):
        """Type into a list page's filter and return the one row htmx leaves in the results."""
        self.page.get_by_label(label).fill(value)
        rows = self.page.locator("#results tbody tr")
        expect(rows).to_have_count(1)
        expect(rows).to_contain_text(value)
        return rows

    def screenshot(self, name: str) -> Path:
        path = SCREENSHOTS / str(self.width) / f"{self.name}-{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=True)
        return path

    # --- the buyer's actions -----------------------------------------------------

    def create_product(self, sku: str, name: str, price: str) -> None:
        """Stock → New product; the product's page then opens."""
        page = self.page
        self.go("Stock", "New product")
        page.get_by_label("SKU").fill(sku)
        page.get_by_label("Name").fill(name)
        page.get_by_label("Sell price").fill(price)
        self.screenshot("new-product-form")
        page.get_by_role("button", name="Create product").click()
        expect(self.message()).to_contain_text(f"Created {sku}")
        expect(page.locator("h1")).to_contain_text(sku)
        expect(page.locator("main")).to_contain_text(name)
        self.screenshot("product-created")

    def add_supplier_product(self, supplier: str, sku: str, unit_cost: str) -> None:
        """Buying → Suppliers → the supplier → Add a product: the supplier now sells it."""
        page = self.page
        self.go("Buying", "Suppliers")
        page.locator("#results").get_by_role("link", name=supplier, exact=True).click()
        page.get_by_role("link", name="Add a product").click()
        self.fill_product("Product SKU or barcode:", sku)
        page.get_by_label("Supplier SKU").fill(f"{supplier}-{sku}")
        page.get_by_label("Unit cost").fill(unit_cost)
        page.get_by_role("button", name="Save").click()
        expect(self.message()).to_be_visible()
        expect(page.locator("main")).to_contain_text(f"{supplier}-{sku}")
        self.screenshot("supplier-sells-product")

    def create_purchase_order(self, supplier: str, warehouse: str, sku: str, quantity: int) -> str:
        """Buying → Purchase orders → New: a draft with one line; returns its number.

        The SKU is typed the way a person starts typing it: its first part, then the
        suggestion htmx puts in the field's datalist, then the whole SKU.
        """
        page = self.page
        self.go("Buying", "Purchase orders")
        page.get_by_role("link", name="New purchase order").click()
        page.get_by_label("Supplier").select_option(supplier)
        page.get_by_label("Deliver to warehouse").select_option(warehouse)
        # Expected delivery left empty: today plus the supplier's lead time.
        page.get_by_role("button", name="Create draft").click()
        expect(page.locator("#order-status")).to_have_text("Draft")
        number = page.locator("h1").inner_text().split()[0]
        assert number.startswith("PO-"), number

        product = page.get_by_label("Product SKU or barcode")
        product.fill(sku[:-2])
        suggestions = page.locator(f"#{product.get_attribute('list')} option")
        expect(suggestions.filter(has_text=sku)).to_have_count(1)
        self.fill_product("Product SKU or barcode:", sku)
        page.get_by_label("Quantity").fill(str(quantity))
        page.get_by_role("button", name="Add line").click()
        expect(self.message()).to_contain_text(f"Ordered {quantity} × {sku}")
        expect(page.locator(".order-lines")).to_contain_text(sku)
        self.screenshot("purchase-order-draft")
        return number

    def send_purchase_order(self, number: str) -> None:
        """Send to supplier from the order page; the db_worker emails it (to files)."""
        page = self.page
        expect(page.locator("h1")).to_contain_text(number)
        page.get_by_role("link", name="Send to supplier").click()
        self.screenshot("purchase-order-send")
        page.get_by_role("button", name="Send the order").click()
        expect(page.locator("#order-status")).to_have_text("Sent")
        # Queued or already sent, depending on how fast the worker is.
        expect(self.message()).to_contain_text(re.compile(rf"{number} (is )?sent"))
        self.screenshot("purchase-order-sent")
        self.reload_until(page.locator("#email-delivery"), r"^Sent to \S+@\S+ at ")
        expect(self.fact("Expected delivery")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d$"))
        self.screenshot("purchase-order-emailed")

    # --- the clerk's actions -----------------------------------------------------

    def open_purchase_order(self, number: str) -> None:
        self.go("Buying", "Purchase orders")
        row = self.filter_to_one_row("Number", number)
        row.get_by_role("link", name=number).click()
        expect(self.page.locator("h1")).to_contain_text(number)

    def receive_purchase_order(self, number: str, sku: str, quantity: int) -> None:
        """Receive the whole line into the warehouse's receiving dock (the form's default)."""
        page = self.page
        self.open_purchase_order(number)
        expect(page.locator("#order-status")).to_have_text("Sent")
        page.get_by_role("link", name="Receive", exact=True).click()
        expect(page.get_by_label(f"Location barcode ({sku})")).to_have_value(DOCK)
        page.get_by_label(f"Quantity ({sku})", exact=True).fill(str(quantity))
        self.screenshot("receive-form")
        page.get_by_role("button", name="Receive", exact=True).click()
        expect(self.message()).to_contain_text(f"Received {quantity} × {sku}")
        expect(page.locator("#order-status")).to_have_text("Received")
        receipts = page.locator("section[aria-labelledby=receipts] tbody")
        expect(receipts).to_contain_text(DOCK)
        self.screenshot("purchase-order-received")

    def put_away(self, sku: str, quantity: int, to_location: str) -> None:
        """Stock → Stock, find the SKU in the dock, Put away: the move form comes filled in."""
        page = self.page
        self.go("Stock", "Stock")
        row = self.filter_to_one_row("Product", sku)
        expect(row).to_contain_text(DOCK)
        row.get_by_role("link", name="Put away").click()
        expect(page.get_by_label("Product SKU or barcode")).to_have_value(sku)
        expect(page.get_by_label("From location barcode")).to_have_value(DOCK)
        expect(page.get_by_label("Quantity")).to_have_value(str(quantity))
        page.get_by_label("To location barcode").fill(to_location)
        self.screenshot("put-away-form")
        page.get_by_role("button", name="Move stock").click()
        expect(self.message()).to_contain_text(f"Moved {quantity} × {sku} from {DOCK}")
        expect(page.locator("h1")).to_contain_text(sku)
        expect(page.locator("main")).to_contain_text(to_location)
        self.screenshot("put-away-done")

    # --- the manager's actions ---------------------------------------------------

    def enter_sales_order(self, channel: str, sku: str, quantity: int) -> str:
        """Selling → New sales order with one line; returns the number of the order."""
        page = self.page
        self.go("Selling", "New sales order")
        page.get_by_label("Channel").select_option(channel)
        page.get_by_label("Customer name").fill("Walk Test Customer")
        page.get_by_label("Shipping address").fill("1 Test Street\nLeeds LS1 1AA")
        self.fill_product("Product SKU or barcode (line 1)", sku)
        page.get_by_label("Quantity (line 1)").fill(str(quantity))
        self.screenshot("new-sales-order-form")
        page.get_by_role("button", name="Enter the order").click()
        expect(page.locator("#order-status")).to_be_visible()
        number = page.locator("h1 .doc-number").inner_text()
        assert number.startswith("SO-"), number
        expect(self.message()).to_contain_text(f"{number} entered and")
        self.screenshot("sales-order-entered")
        return number

    def adjust_stock(self, sku: str, location: str, quantity: int, reason: str) -> None:
        """Stock → Adjust with a reason; the product page shows the new movement."""
        page = self.page
        self.go("Stock", "Adjust")
        self.fill_product("Product SKU or barcode:", sku)
        page.get_by_label("Location barcode").fill(location)
        page.get_by_label("Quantity").fill(str(quantity))
        page.get_by_label("Reason").fill(reason)
        self.screenshot("adjust-form")
        page.get_by_role("button", name="Post adjustment").click()
        expect(self.message()).to_have_text(f"Adjusted {sku} in {location} by {quantity:+d}.")
        expect(page.locator("main")).to_contain_text(reason)
        self.screenshot("adjusted")

    def open_sales_order(self, number: str) -> None:
        self.go("Selling", "Sales orders")
        row = self.filter_to_one_row("Search", number)
        row.get_by_role("link", name=number).click()
        expect(self.page.locator("h1")).to_contain_text(number)

    def allocate(self, number: str) -> str:
        """Press Allocate on the order's page; return the status the order then shows."""
        page = self.page
        self.open_sales_order(number)
        page.get_by_role("button", name="Allocate").click()
        expect(self.message()).to_contain_text(f"{number} is ")
        self.screenshot("sales-order-allocate-pressed")
        return page.locator("#order-status").inner_text()

    def wait_for_allocation(self, number: str) -> None:
        """Open the order and reload it until it reads Allocated.

        Stock coming in wakes the db_worker, which allocates waiting orders by itself.
        """
        self.open_sales_order(number)
        self.reload_until(self.page.locator("#order-status"), r"^Allocated$")
        expect(self.page.get_by_role("button", name="Allocate")).to_have_count(0)
        self.screenshot("sales-order-allocated")

    def pick(self, number: str, sku: str, location: str) -> None:
        """Open the pick list (it lists the bin), go back and start picking."""
        page = self.page
        page.get_by_role("link", name="Pick list").click()
        expect(page.locator("#pick-rows tbody tr", has_text=sku)).to_contain_text(location)
        self.screenshot("pick-list")
        page.go_back()
        page.get_by_role("button", name="Start picking").click()
        expect(self.message()).to_have_text(f"{number} is being picked.")
        expect(page.locator("#order-status")).to_have_text("Picking")
        self.screenshot("sales-order-picking")

    def ship(self, number: str, carrier: str, tracking: str) -> None:
        """Ship… with a carrier and tracking number; the order page then shows both."""
        page = self.page
        page.get_by_role("link", name="Ship…").click()
        page.get_by_label("Carrier").fill(carrier)
        page.get_by_label("Tracking number").fill(tracking)
        self.screenshot("ship-form")
        page.get_by_role("button", name="Ship", exact=True).click()
        expect(self.message()).to_contain_text(f"{number} shipped: ")
        expect(self.message()).to_contain_text(f"via {carrier}, tracking {tracking}.")
        expect(page.locator("#order-status")).to_have_text("Shipped")
        expect(self.fact("Carrier")).to_have_text(carrier)
        expect(self.fact("Tracking number")).to_have_text(tracking)
        self.screenshot("sales-order-shipped")

    # --- layout checks -----------------------------------------------------------

    def assert_page_does_not_scroll_sideways(self) -> None:
        overflow = self.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{self.page.url} is {overflow}px wider than the screen"

    def header_height(self) -> float:
        return self.page.locator(".site-header").bounding_box()["height"]

    def column_reachable(self, heading: str) -> dict:
        """Scroll the column ``heading`` into view and say where it is and what scrolled."""
        return self.page.evaluate(
            """heading => {
                const th = [...document.querySelectorAll("#results table.data thead th")]
                    .find(cell => cell.textContent.trim() === heading);
                if (!th) return {found: false};
                const table = th.closest("table");
                th.scrollIntoView({block: "nearest", inline: "nearest"});
                const box = th.getBoundingClientRect();
                return {
                    found: true,
                    inViewport: box.left >= 0 && box.right <= window.innerWidth,
                    pageScrolledX: window.scrollX,
                    tableScrolledX: table.scrollLeft,
                };
            }""",
            heading,
        )


def page_name(label: str, url: str) -> str:
    path = urlsplit(url).path.strip("/")
    return re.sub(r"[^a-z0-9]+", "-", (label if path != "admin" else "admin").lower()).strip("-")


@pytest.fixture
def open_demo_browser(browser, demo_server):  # noqa: F811 (the imported fixture)
    """Return a function that opens a ``DemoBrowser`` (a browser context of its own)."""
    contexts = []

    def open_browser(role: str, width: int, name: str = "") -> DemoBrowser:
        context = browser.new_context(viewport={"width": width, "height": 860})
        contexts.append(context)
        return DemoBrowser(context.new_page(), demo_server, role, width, name)

    yield open_browser
    for context in contexts:
        context.close()


@pytest.fixture
def demo_browser(open_demo_browser, request):
    role, width = request.param
    return open_demo_browser(role, width)


CASES = [(role, width) for width in (LAPTOP, PHONE) for role in PASSWORDS]


@pytest.mark.parametrize(
    "demo_browser", CASES, ids=[f"{role}-{width}" for role, width in CASES], indirect=True
)
def test_every_navigation_link_answers_cleanly(demo_browser):
    demo_browser.log_in()
    links = demo_browser.nav_links()
    assert links, "the navigation has no links"
    if demo_browser.width == LAPTOP:
        # One row: the header is no taller than a single line of tap targets.
        assert demo_browser.header_height() < 60
        demo_browser.open_group("Stock")
        demo_browser.screenshot("menu-stock-open")
    else:
        assert demo_browser.header_height() < 60
        expect(demo_browser.page.locator("nav.site-nav")).to_be_hidden()
        demo_browser.open_menu()
        expect(demo_browser.page.locator("nav.site-nav")).to_be_visible()
        demo_browser.open_group("Stock")
        demo_browser.screenshot("menu-open")
    for label, url in links:
        demo_browser.visit(url)
        demo_browser.screenshot(page_name(label, url))
        if demo_browser.width == PHONE and not urlsplit(url).path.startswith("/admin/"):
            demo_browser.assert_page_does_not_scroll_sideways()
    demo_browser.assert_no_problems()


@pytest.mark.parametrize(
    "demo_browser",
    [(role, PHONE) for role in PASSWORDS],
    ids=[f"{role}-{PHONE}" for role in PASSWORDS],
    indirect=True,
)
def test_stock_list_key_columns_reachable_on_a_phone(demo_browser):
    demo_browser.log_in()
    demo_browser.visit(f"{demo_browser.server.url}/stock/")
    for heading in ("On hand", "Available"):
        where = demo_browser.column_reachable(heading)
        assert where["found"], heading
        assert where["inViewport"], (heading, where)
        assert where["pageScrolledX"] == 0, f"the page scrolled sideways to show {heading}"
    demo_browser.screenshot("stock-scrolled-to-available")
    demo_browser.assert_page_does_not_scroll_sideways()
    demo_browser.assert_no_problems()


def new_sku(role: str, width: int) -> str:
    """A SKU no other test (or earlier run on the same server) uses."""
    return f"WALK-{role[0].upper()}{width}-{secrets.token_hex(2).upper()}"


WIDTHS = pytest.mark.parametrize("width", [LAPTOP, PHONE], ids=["1366", "390"])


@WIDTHS
def test_buyer_creates_a_product_orders_it_and_sends_the_order(open_demo_browser, width):
    buyer = open_demo_browser("buyer", width)
    buyer.log_in()
    sku = new_sku("buyer", width)
    buyer.create_product(sku, f"Walk test mug {width}", "12.50")
    buyer.add_supplier_product(SUPPLIER, sku, "4.20")
    number = buyer.create_purchase_order(SUPPLIER, WAREHOUSE, sku, 12)
    buyer.send_purchase_order(number)
    # A buyer sends; receiving is the clerk's.
    expect(buyer.page.get_by_role("link", name="Receive", exact=True)).to_have_count(0)
    buyer.assert_no_problems()


@WIDTHS
def test_clerk_receives_a_sent_order_and_puts_it_away(open_demo_browser, width):
    # The demo has no order waiting for goods: a buyer sends one first (on the same width).
    buyer = open_demo_browser("buyer", width, name="clerk-setup-buyer")
    buyer.log_in()
    sku = new_sku("clerk", width)
    buyer.create_product(sku, f"Walk test teapot {width}", "30.00")
    buyer.add_supplier_product(SUPPLIER, sku, "11.00")
    number = buyer.create_purchase_order(SUPPLIER, WAREHOUSE, sku, 6)
    buyer.send_purchase_order(number)
    buyer.assert_no_problems()

    clerk = open_demo_browser("clerk", width)
    clerk.log_in()
    clerk.receive_purchase_order(number, sku, 6)
    clerk.put_away(sku, 6, BIN)
    clerk.assert_no_problems()


@WIDTHS
def test_manager_allocates_picks_ships_and_adjusts(open_demo_browser, width):
    manager = open_demo_browser("manager", width)
    manager.log_in()
    # A product of its own, with no stock yet: its order waits for the adjustment.
    sku = new_sku("manager", width)
    manager.create_product(sku, f"Walk test vase {width}", "25.00")
    number = manager.enter_sales_order(CHANNEL, sku, 3)
    expect(manager.page.locator("#order-status")).to_have_text("Backordered")
    expect(manager.message()).to_contain_text("3 units wait for stock")

    # Allocate while nothing is in stock: the order still waits, and the page says why.
    assert manager.allocate(number) == "Backordered"
    expect(manager.message()).to_contain_text("0 units allocated, 3 units wait for stock")

    # Stock comes in; the worker allocates the waiting order from the bin.
    manager.adjust_stock(sku, BIN, 5, "Found in a returned carton")
    manager.wait_for_allocation(number)
    manager.pick(number, sku, BIN)
    manager.ship(number, "DHL", f"JD0146{width}{secrets.token_hex(3).upper()}")
    manager.assert_no_problems()


def test_buyer_orders_from_the_demo_plan_in_one_action(open_demo_browser):
    """The demo's first plan: a buyer reads why, picks a service level on the cost curve of a
    product, and turns one supplier's suggestions into a draft purchase order and sends it.

    Once, on a laptop: ordering changes the shared demo's plan for any later run (the pages'
    own browser test covers 390 px on its own data)."""
    buyer = open_demo_browser("buyer", LAPTOP)
    buyer.log_in()
    buyer.go("Buying", "Replenishment")
    page = buyer.page
    groups = page.locator("section.supplier-group", has=page.locator("h2 a"))
    expect(groups.first).to_be_visible()
    assert page.locator("td.inputs").count() > 0  # every line says why, in words
    buyer.screenshot("replenishment")

    # A product with a cost curve: pick 99 % and see it become the policy.
    skus = groups.first.locator("tbody tr td:nth-child(2) a").all_inner_texts()
    for sku in skus[:8]:
        buyer.visit(f"{buyer.server.url}/planning/products/{sku}/")
        if page.locator(".curve-picks").count():
            break
    else:
        raise AssertionError(f"none of {skus[:8]} has a cost curve")
    expect(page.locator("svg.cost-curve-chart").first).to_be_visible()
    page.locator(".curve-picks").first.get_by_role("button", name="Use 99 % service level").click()
    page.wait_for_load_state("networkidle")
    expect(buyer.message()).to_contain_text(f"Policy of {sku}")
    expect(page.locator("table.cost-table tr.current").first).to_contain_text("99 % (policy)")
    buyer.screenshot("product-planning")

    # Back to the plan: order all of the first supplier's lines in one action.
    buyer.go("Buying", "Replenishment")
    supplier = page.locator("section.supplier-group h2 a").first.inner_text()
    order_all = re.compile(rf"^Order all \d+ of {re.escape(supplier)}$")
    page.get_by_role("button", name=order_all).click()
    page.wait_for_load_state("networkidle")
    expect(buyer.message()).to_contain_text("draft purchase order")
    link = page.locator("#drafts tbody tr td a").first
    number = link.inner_text()
    link.click()
    buyer.send_purchase_order(number)
    buyer.go("Buying", "Replenishment")
    expect(page.get_by_role("button", name=order_all)).to_have_count(0)
    buyer.assert_no_problems()
