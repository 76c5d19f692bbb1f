"""Helpers the test suites of every app share (imported by tests only)."""

import contextlib
import html as html_lib
import re
import threading
from collections.abc import Callable

import pytest
from django.db import connection


def run_threads(count: int, work: Callable[[int], object]) -> list[BaseException]:
    """Run ``work(index)`` in ``count`` threads started together; return what they raised.

    Each thread closes its own database connection when done, and a thread that is
    still running after four minutes fails the test as hung.
    """
    barrier = threading.Barrier(count)
    failures: list[BaseException] = []

    def body(index):
        try:
            barrier.wait(timeout=30)
            work(index)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return failures


@contextlib.contextmanager
def refused_unchanged(snapshot: Callable[[], object], error_class, code: str, *fragments: str):
    """Expect exactly ``error_class`` with ``code`` and a message naming each of ``fragments``,
    and ``snapshot()`` the same before and after: a refusal writes nothing."""
    before = snapshot()
    with pytest.raises(error_class) as caught:
        yield caught
    error = caught.value
    assert type(error) is error_class, f"{type(error).__name__}: {error}"
    assert error.code == code
    assert error.message == str(error)
    for fragment in fragments:
        assert fragment in error.message, f"{fragment!r} not in {error.message!r}"
    assert snapshot() == before, "a refused operation changed the data"


# --- reading a page as a person does -------------------------------------------------


def html_of(response) -> str:
    """Return the response body as text."""
    return response.content.decode()


def text_of(response) -> str:
    """Return the page as a reader sees it: no tags, entities decoded, spaces collapsed."""
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", html_of(response)))
    return " ".join(text.split())


def field_error(html: str, field_id: str) -> str:
    """Return the text of the error list under the field with ``field_id``."""
    match = re.search(rf'<ul class="errorlist" id="{field_id}_error">(.*?)</ul>', html, re.S)
    assert match, f"no error under {field_id}"
    return html_lib.unescape(re.sub(r"<[^>]+>", "", match.group(1)).strip())


def non_field_errors(html: str) -> str:
    """Return the text of the form's errors that belong to no one field."""
    match = re.search(r'<div class="form-errors" role="alert">(.*?)</div>', html, re.S)
    assert match, "no form errors shown"
    return html_lib.unescape(re.sub(r"<[^>]+>", "", match.group(1)).strip())
