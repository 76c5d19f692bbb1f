"""The dashboard as ``make run`` serves it (DEBUG off, strict CSP, the demo's data): the
manager sees its charts drawn with the expected series, every card's link lands on a page
with the same figure, and the product page loads its demand-vs-stock chart with htmx.
Screenshots at 1366 and 390 px go to artifacts/screenshots/<width>/dashboard-*.png."""

import csv
import io
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.browser.demo_server import ROOT, demo_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.timeout(900)  # the first test also waits for the server to start

SCREENSHOTS = ROOT / "artifacts" / "screenshots"
SERIES = {"value": 2, "movers": 1, "channels": 1, "abc": 1, "demand": 5}
# Cards whose page shows the same figure. The purchase order and sales order lists the
# incoming and backorder cards open show no total: those links are only followed.
SAME_FIGURE = {"value", "units", "low_stock", "stockouts", "overstock", "expiring", "counts"}


def numbers_in(text: str) -> set[str]:
    """Every number written in ``text``, without thousands separators."""
    return {token.replace(",", "") for token in re.findall(r"\d[\d,]*(?:\.\d+)?", text)}


def csv_value_total(page, href: str) -> Decimal:
    """The sum of the Value column of a report's CSV export (every row, not one page)."""
    text = page.request.get(f"{href}{'&' if '?' in href else '?'}format=csv").text()
    rows = list(csv.reader(io.StringIO(text)))
    column = rows[0].index("Value")
    return sum((Decimal(row[column] or 0) for row in rows[1:]), Decimal(0))


def shoot(page, name: str) -> None:
    for width in (1366, 390):
        folder = SCREENSHOTS / str(width)
        folder.mkdir(parents=True, exist_ok=True)
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(folder / f"dashboard-{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


@pytest.fixture
def manager_page(page, demo_server):  # noqa: F811 (fixture)
    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{demo_server.url}/login/")
    page.fill("input[name=username]", "manager")
    page.fill("input[name=password]", "manager-demo")
    page.click("button[type=submit]")
    expect(page.locator(".site-header .who")).to_have_text("manager")
    yield page
    assert problems == []  # a CSP violation is a console error


def test_charts_render_with_their_series(manager_page, demo_server):  # noqa: F811
    page = manager_page
    page.goto(f"{demo_server.url}/")
    for name, count in SERIES.items():
        svg = page.locator(f"#chart-{name} svg")
        expect(svg).to_be_visible()
        assert svg.locator("g.series").count() == count, name
        assert int(svg.get_attribute("data-series")) == count
    polylines = page.locator("#chart-value svg g.series polyline")
    assert polylines.count() >= 2
    assert len(polylines.first.get_attribute("points").split()) >= 60  # 90 days backfilled
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        box = page.locator("#chart-value svg").bounding_box()
        assert box["width"] <= width and box["width"] >= min(340, width - 60)
    shoot(page, "charts")


def test_every_card_link_lands_on_the_same_figure(manager_page, demo_server):  # noqa: F811
    page = manager_page
    page.goto(f"{demo_server.url}/")
    cards = page.locator("li.headline-card").evaluate_all(
        "cards => cards.map(c => [c.dataset.key, c.querySelector('.card-number').textContent,"
        " c.querySelector('a') ? c.querySelector('a').href : null])"
    )
    keys = [key for key, _, _ in cards]
    assert keys[:2] == ["value", "units"] and "backorders" in keys
    checked = []
    for key, number, href in cards:
        if href is None:
            continue
        response = page.goto(href)
        assert response.status == 200, href
        if key not in SAME_FIGURE:
            continue
        if key == "expiring":  # the report has no total: its rows' values add up to the card
            assert csv_value_total(page, href) == Decimal(number.replace(",", "")), number
        else:
            shown = numbers_in(page.locator("main").inner_text())
            assert number.replace(",", "") in shown, (key, number)
        checked.append(key)
    assert set(checked) == SAME_FIGURE


def test_product_page_loads_demand_vs_stock(manager_page, demo_server):  # noqa: F811
    page = manager_page
    page.goto(f"{demo_server.url}/")
    sku = page.locator("#chart-demand figcaption a").inner_text()
    page.goto(f"{demo_server.url}/products/{sku}/")
    chart = page.locator("#demand-vs-stock svg")
    expect(chart).to_be_visible()
    assert chart.locator("g.series").count() == 5
    shoot(page, "product")
