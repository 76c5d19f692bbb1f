"""Every POST without a CSRF token is refused: each page, the login, the admin.

Held by the adversarial probe of issue 15; the page list comes from the URL resolver
(``tests.test_permissions``), so a page added later is covered too.
"""

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client
from django.urls import reverse

# url_kwargs is a fixture: imported so pytest finds it here.
from tests.test_permissions import PAGES, build_url, url_kwargs  # noqa: F401


def refused_for_csrf(response) -> bool:
    return response.status_code == 403 and b"CSRF" in response.content


@pytest.fixture
def manager_client(manager):
    """A manager's browser: every page opens for it, and CSRF is checked as in production."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    return client


@pytest.mark.parametrize(("name", "route"), PAGES, ids=[str(n) for n, _ in PAGES])
def test_a_post_without_a_token_is_refused(manager_client, url_kwargs, name, route):  # noqa: F811
    url = build_url(name, route, url_kwargs)
    assert refused_for_csrf(manager_client.post(url, {})), url


def test_a_post_with_the_token_gets_through(manager_client, product, locations):
    """The control: the refusal above is the missing token, not the form or the role."""
    page = manager_client.get(reverse("adjust_stock"))
    token = page.cookies["csrftoken"].value
    form = {"product": product.sku, "location": locations["bin1"].barcode, "quantity": 3}
    response = manager_client.post(
        reverse("adjust_stock"), {**form, "reason": "found", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    # The same browser without the token in the form: refused.
    form["reason"] = "found again"
    assert refused_for_csrf(manager_client.post(reverse("adjust_stock"), form))


def admin_urls() -> list[str]:
    urls = [reverse("admin:index"), reverse("admin:logout"), reverse("admin:password_change")]
    for model in apps.get_models():
        if admin.site.is_registered(model):
            meta = model._meta
            urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
            urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
    return urls


def test_the_logins_and_every_admin_form_refuse_a_post_without_a_token(db, manager):
    anonymous = Client(enforce_csrf_checks=True)
    login = {"username": manager.username, "password": "pass-for-tests-only"}
    assert refused_for_csrf(anonymous.post(reverse("login"), login))
    assert refused_for_csrf(anonymous.post(reverse("admin:login"), login))
    superuser = Client(enforce_csrf_checks=True)
    manager.is_superuser = True
    manager.save()
    superuser.force_login(manager)
    urls = admin_urls()
    assert len(urls) > 20
    for url in urls:
        response = superuser.post(url, {"action": "delete_selected", "_selected_action": ["1"]})
        assert refused_for_csrf(response), url
    assert refused_for_csrf(superuser.post(reverse("logout")))


def test_a_browser_session_cannot_place_api_orders(manager_client, product):
    """The API takes channel tokens only, so a logged-in browser cannot be made to post."""
    body = {
        "external_ref": "CSRF-1",
        "customer": {"name": "Eve", "email": "", "address": "1 Street"},
        "lines": [{"sku": product.sku, "quantity": 1, "unit_price": "1.00"}],
    }
    response = manager_client.post("/api/v1/orders", body, content_type="application/json")
    assert response.status_code == 401
    assert response.json()["code"]
