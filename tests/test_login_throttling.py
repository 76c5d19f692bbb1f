"""Login throttling: per username and per address, a clear message, a manager's unlock.

The probe's case: 60 wrong passwords for a manager, then the right one, was logged in.
"""

import pytest
from axes.models import AccessAttempt
from django.test import Client

from common.testing import text_of

PASSWORD = "pass-for-tests-only"
LOCKED = "Too many failed attempts; try again in 15 minutes or ask a manager."
OFFICE = "203.0.113.7"
HOME = "198.51.100.20"


def log_in(client: Client, username: str, password: str, address: str = OFFICE, path="/login/"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


def logged_in_as(client: Client) -> str | None:
    response = client.get("/", REMOTE_ADDR=HOME)
    return response.context["user"].username if response.status_code == 200 else None


@pytest.fixture
def hammered(manager):
    """60 wrong passwords for ``manager1`` from the office address."""
    client = Client()
    for attempt in range(60):
        response = log_in(client, "manager1", f"wrong-{attempt}")
        assert response.status_code in (200, 429)
    return client


def test_sixty_wrong_passwords_then_the_right_one_is_refused(hammered):
    response = log_in(hammered, "manager1", PASSWORD)

    assert response.status_code == 429
    assert LOCKED in text_of(response)
    assert 'name="username"' in response.content.decode(), "the login form is still there"
    assert logged_in_as(hammered) is None


def test_the_username_is_locked_from_another_address_too(hammered):
    response = log_in(Client(), "manager1", PASSWORD, address=HOME)
    assert response.status_code == 429 and LOCKED in text_of(response)


def test_the_address_is_locked_for_other_usernames_too(db, clerk, buyer):
    client = Client()
    for attempt in range(10):
        log_in(client, f"nobody{attempt}", "guess")
    assert log_in(client, "clerk1", PASSWORD).status_code == 429
    # Elsewhere, the same users log in normally.
    elsewhere = Client()
    assert log_in(elsewhere, "clerk1", PASSWORD, address=HOME).status_code == 302
    assert logged_in_as(elsewhere) == "clerk1"


def test_other_users_elsewhere_are_unaffected(hammered, clerk):
    client = Client()
    assert log_in(client, "clerk1", PASSWORD, address=HOME).status_code == 302
    assert logged_in_as(client) == "clerk1"


def test_a_few_mistakes_do_not_lock_and_success_resets_the_count(db, clerk):
    client = Client()
    for _ in range(9):
        assert log_in(client, "clerk1", "typo").status_code == 200
    assert log_in(client, "clerk1", PASSWORD).status_code == 302
    client.post("/logout/", REMOTE_ADDR=OFFICE)
    for _ in range(9):
        assert log_in(client, "clerk1", "typo").status_code == 200
    assert log_in(client, "clerk1", PASSWORD).status_code == 302


def test_the_admin_login_is_throttled_too(manager):
    client = Client()
    for attempt in range(10):
        log_in(client, "manager1", f"wrong-{attempt}", path="/admin/login/")
    response = log_in(client, "manager1", PASSWORD, path="/admin/login/")
    assert response.status_code == 429 and LOCKED in text_of(response)
    assert client.get("/admin/", REMOTE_ADDR=OFFICE).status_code == 302, "not logged in"


def test_a_manager_unlocks_in_the_admin_and_the_user_logs_in(hammered, django_user_model):
    from django.contrib.auth.models import Group

    other = django_user_model.objects.create_user(
        username="manager2", password=PASSWORD, is_staff=True
    )
    other.groups.add(Group.objects.get(name="manager"))
    admin = Client()
    assert log_in(admin, "manager2", PASSWORD, address=HOME).status_code == 302
    changelist = "/admin/axes/accessattempt/"
    page = admin.get(changelist, REMOTE_ADDR=HOME)
    assert page.status_code == 200 and "manager1" in text_of(page)

    ids = [str(pk) for pk in AccessAttempt.objects.values_list("pk", flat=True)]
    response = admin.post(
        changelist,
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
        REMOTE_ADDR=HOME,
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()

    assert log_in(hammered, "manager1", PASSWORD).status_code == 302
    assert logged_in_as(hammered) == "manager1"


def test_clerks_cannot_unlock(db, clerk):
    client = Client()
    client.force_login(clerk)
    assert client.get("/admin/axes/accessattempt/").status_code == 302  # to the admin login


def test_the_channel_api_is_not_throttled_by_failed_logins(hammered, web_store_token):
    response = hammered.get(
        "/api/v1/inventory",
        headers={"Authorization": f"Bearer {web_store_token}"},
        REMOTE_ADDR=OFFICE,
    )
    assert response.status_code == 200


@pytest.fixture
def web_store_token(db):
    from orders.channels import tokens
    from orders.models import Channel

    return tokens.rotate_token(Channel.objects.create(code="WEB", name="Web store"))


def test_authenticate_without_a_request_still_works(manager):
    from django.contrib.auth import authenticate

    assert authenticate(username="manager1", password=PASSWORD) == manager
