"""A deactivated account loses every page at once, even with a session still open.

The fifth column of issue 15's URL × role matrix (anonymous, no role, clerk, buyer and
manager are in ``tests.test_permissions``).
"""

from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

# url_kwargs is a fixture: imported so pytest finds it here.
from tests.test_permissions import PAGES, build_url, url_kwargs  # noqa: F401


@pytest.fixture
def deactivated_client(manager):
    """A manager's browser, logged in, whose account was then deactivated."""
    client = Client()
    client.force_login(manager)
    assert client.get(reverse("dashboard")).status_code == 200
    manager.is_active = False
    manager.save()
    return client


@pytest.mark.parametrize(("name", "route"), PAGES, ids=[str(n) for n, _ in PAGES])
def test_a_deactivated_manager_is_sent_to_login(deactivated_client, url_kwargs, name, route):  # noqa: F811
    url = build_url(name, route, url_kwargs)
    for response in (deactivated_client.get(url), deactivated_client.post(url, {})):
        assert response.status_code == 302, url
        assert urlsplit(response.url).path == reverse(settings.LOGIN_URL), url


def test_a_deactivated_account_cannot_log_in_or_open_the_admin(db, manager):
    manager.is_active = False
    manager.is_superuser = True
    manager.save()
    client = Client()
    response = client.post(
        reverse("login"), {"username": manager.username, "password": "pass-for-tests-only"}
    )
    assert response.status_code == 200  # the form again, with its error
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("admin:index")).status_code == 302
