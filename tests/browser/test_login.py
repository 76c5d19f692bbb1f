"""Smoke test in a real browser: the login page works and a clerk reaches the dashboard."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


@pytest.fixture
def csp_violations(page):
    """Collect the Content-Security-Policy violations the browser reports on the console."""
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text)
            if "Content Security Policy" in message.text
            or "Content-Security-Policy" in message.text
            else None
        ),
    )
    return violations


def test_login_page_renders_with_htmx_and_no_csp_violation(live_server, page, csp_violations):
    page.goto(f"{live_server.url}/login/")

    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.locator("input[name=username]")).to_be_visible()
    expect(page.locator("input[name=password]")).to_be_visible()
    page.wait_for_function("() => typeof window.htmx === 'object'")
    assert page.evaluate("() => htmx.config.includeIndicatorStyles") is False
    assert csp_violations == []


def test_clerk_logs_in_and_lands_on_the_dashboard(live_server, login, clerk, csp_violations):
    page = login(clerk)

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    expect(page.get_by_text(clerk.username)).to_be_visible()
    assert csp_violations == []


def test_wrong_password_stays_on_the_login_page(live_server, login, clerk):
    page = login(clerk, password="not-the-password")

    expect(page.get_by_role("alert")).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/login/")
    expect(page.locator("input[name=username]")).to_have_value(clerk.username)
