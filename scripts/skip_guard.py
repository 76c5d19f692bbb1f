"""Pytest plugin that turns skips of required tests into a failed run (used by CI).

``scripts/test.sh`` loads it with ``-p skip_guard`` and switches it on through the
environment:

- ``STOCKROOM_FORBID_SKIPS=postgres,browser``: a test carrying one of these markers
  that ends up skipped (in setup or in the test) fails the run.
- ``STOCKROOM_EXPECT_DB=postgresql``: the run stops at once unless the default
  database is of that vendor (so a lost DATABASE_URL cannot pass as a green run).
"""

import os

import pytest


def _env_set(name: str) -> set[str]:
    return {part.strip() for part in os.environ.get(name, "").split(",") if part.strip()}


class SkipGuard:
    def __init__(self, markers: set[str]):
        self.markers = markers
        self.skipped: list[tuple[str, str]] = []

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        if report.skipped and not hasattr(report, "wasxfail"):
            names = self.markers & {mark.name for mark in item.iter_markers()}
            if names:
                reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
                self.skipped.append((item.nodeid, reason))
        return report

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session):
        if self.skipped and session.exitstatus in (pytest.ExitCode.OK, 0):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter):
        if not self.skipped:
            return
        markers = ", ".join(sorted(self.markers))
        terminalreporter.section(f"skipped tests marked {markers} (not allowed here)", red=True)
        for nodeid, reason in self.skipped:
            terminalreporter.line(f"SKIPPED {nodeid}: {reason}", red=True)


def pytest_configure(config):
    markers = _env_set("STOCKROOM_FORBID_SKIPS")
    if markers:
        config.pluginmanager.register(SkipGuard(markers), "stockroom-skip-guard")


def pytest_collection_finish(session):
    expected = os.environ.get("STOCKROOM_EXPECT_DB", "").strip()
    if not expected:
        return
    from django.db import connection

    if connection.vendor != expected:
        pytest.exit(
            f"expected the tests to run on {expected}, but the database is {connection.vendor}"
            " (is DATABASE_URL set?)",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )
