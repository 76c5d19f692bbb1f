"""The page shell: grouped navigation that keeps every link, the favicon, the CSS it needs."""

import re
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.templatetags.static import static
from django.urls import reverse

# Reports (planning/reports): buyers see units; values and margins are managers'.
BUYER_REPORTS = ["reports:low_stock", "reports:stockouts", "reports:supplier_performance"]
MANAGER_REPORTS = [
    "reports:overstock",
    "reports:slow_movers",
    "reports:expiring",
    "reports:abc_xyz",
    "reports:turnover",
    "reports:channel_sales",
]
# Every link of the navigation, by the role that sees it.
MANAGER_LINKS = [
    "dashboard",
    "product_list",
    "product_create",
    "stock_list",
    "warehouse_list",
    "adjust_stock",
    "transfer_stock",
    "scan_index",
    "supplier_list",
    "purchase_order_list",
    "sales_order_list",
    "sales_order_create",
    "channel_list",
    "valuation_report",
    "planning:replenishment",
    *BUYER_REPORTS,
    *MANAGER_REPORTS,
    "admin:index",
]
BUYER_LINKS = [
    "dashboard",
    "product_list",
    "product_create",
    "stock_list",
    "warehouse_list",
    "supplier_list",
    "purchase_order_list",
    "sales_order_list",
    "channel_list",
    "planning:replenishment",
    *BUYER_REPORTS,
]
CLERK_LINKS = [
    "dashboard",
    "product_list",
    "stock_list",
    "warehouse_list",
    "transfer_stock",
    "scan_index",
    "supplier_list",
    "purchase_order_list",
    "sales_order_list",
    "channel_list",
]


class NavParser(HTMLParser):
    """Collect the main navigation's links, each with the <details> group it sits in."""

    def __init__(self):
        super().__init__()
        self.depth = 0  # inside <nav class="site-nav"> when > 0
        self.group = None
        self.in_summary = False
        self.links: list[tuple[str | None, str]] = []
        self.groups: list[str] = []
        self.icons: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link" and attrs.get("rel") == "icon":
            self.icons.append(attrs["href"])
        if tag == "nav" and "site-nav" in attrs.get("class", ""):
            self.depth = 1
        elif self.depth and tag == "summary":
            self.in_summary = True
        elif self.depth and tag == "a":
            self.links.append((self.group, attrs["href"]))

    def handle_endtag(self, tag):
        if tag == "nav":
            self.depth = 0
        elif tag == "summary":
            self.in_summary = False
        elif tag == "details":
            self.group = None

    def handle_data(self, data):
        if self.in_summary and data.strip():
            self.group = data.strip()
            self.groups.append(self.group)


def parse(response) -> NavParser:
    parser = NavParser()
    parser.feed(response.content.decode())
    return parser


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "expected", "groups"),
    [
        ("manager", MANAGER_LINKS, ["Stock", "Buying", "Selling", "Reports"]),
        ("buyer", BUYER_LINKS, ["Stock", "Buying", "Selling", "Reports"]),
        ("clerk", CLERK_LINKS, ["Stock", "Buying", "Selling"]),
    ],
)
def test_navigation_groups_every_link_the_role_may_open(client, request, role, expected, groups):
    client.force_login(request.getfixturevalue(role))
    nav = parse(client.get(reverse("dashboard")))
    hrefs = [href for _, href in nav.links]
    assert sorted(hrefs) == sorted(reverse(name) for name in expected)
    assert nav.groups == groups
    # Only the dashboard and the admin stay outside the groups: one row at 1366 px.
    top_level = [href for group, href in nav.links if group is None]
    outside = [name for name in ("dashboard", "admin:index") if name in expected]
    assert top_level == [reverse(name) for name in outside]


@pytest.mark.django_db
def test_navigation_marks_the_current_page_and_has_a_phone_toggle(client, manager):
    client.force_login(manager)
    html = client.get(reverse("stock_list")).content.decode()
    assert re.search(r'<a href="/stock/"\s+aria-current="page">Stock</a>', html)
    assert html.count('aria-current="page"') == 1
    assert '<details class="menu-toggle">' in html
    # The logout form lives in the navigation, so the phone menu has it too.
    nav = html[html.index('<nav class="site-nav"') : html.index("</nav>")]
    assert f'action="{reverse("logout")}"' in nav


def test_favicon_is_served_without_login(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] in {"image/x-icon", "image/vnd.microsoft.icon"}
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO header
    assert "max-age=86400" in response["Cache-Control"]


@pytest.mark.django_db
def test_pages_link_an_icon_that_exists(client, manager):
    for page in (client.get(reverse("login")), _logged_in(client, manager)):
        icons = parse(page).icons
        assert icons == [static("favicon.svg")]
    svg = (settings.BASE_DIR / "static" / "favicon.svg").read_text()
    assert svg.startswith("<svg") and "viewBox" in svg


def _logged_in(client, user):
    client.force_login(user)
    return client.get(reverse("dashboard"))


def test_stylesheet_keeps_document_numbers_whole_and_tables_in_their_box():
    css = (settings.BASE_DIR / "static" / "css" / "stockroom.css").read_text()
    assert re.search(r"\.doc-number\s*{\s*white-space:\s*nowrap;", css)
    phone = css[css.index("@media (max-width: 60rem)") :]
    assert re.search(r"table\.data\s*{[^}]*overflow-x:\s*auto", phone)
    assert re.search(r"\.data td:first-child\s*{[^}]*position:\s*sticky", phone)
