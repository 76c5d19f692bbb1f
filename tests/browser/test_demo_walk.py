"""Each demo login walks the app as ``make run`` serves it, on a laptop and on a phone.

For every role and width: log in, follow every navigation link, and fail on a 5xx, a
console error or a failed request (a 4xx included: the favicon's 404 was one); save a
full-page screenshot of each page to ``artifacts/screenshots/<width>/<role>-<page>.png``.
The navigation must fit one row at 1366 px and fold behind Menu at 390 px, and on a
phone the stock list's On hand and Available columns must be reachable by scrolling the
table's own box, never the page.

To cover a role's primary actions, add a helper to ``DemoBrowser`` per action (as
``log_in`` is one) and call it from a test.
"""

import re
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


class DemoBrowser:
    """One role in one browser tab of a given width, recording whatever goes wrong."""

    def __init__(self, page: Page, server: DemoServer, role: str, width: int):
        self.page, self.server, self.role, self.width = page, server, role, width
        self.problems: list[str] = []
        self.log_offset = server.log_size()
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
        self.page.locator("details.nav-group > summary", has_text=name).click()

    def screenshot(self, name: str) -> Path:
        path = SCREENSHOTS / str(self.width) / f"{self.role}-{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=True)
        return path

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
def demo_browser(browser, demo_server, request):  # noqa: F811 (the imported fixture)
    role, width = request.param
    context = browser.new_context(viewport={"width": width, "height": 860})
    page = context.new_page()
    yield DemoBrowser(page, demo_server, role, width)
    context.close()


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
