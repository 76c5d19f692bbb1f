"""Real-browser tests: Playwright drives Debian's Chromium against ``live_server``.

Every test in this folder is marked ``browser``; the default run excludes them and
``make test`` runs them separately (``pytest -m browser tests/browser``).
"""

import os
import shutil

import pytest

CHROMIUM = os.environ.get("STOCKROOM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def login(live_server, page):
    """Log ``user`` in through the real login form; returns the page."""

    def do_login(user, password: str = "pass-for-tests-only"):
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        return page

    return do_login
