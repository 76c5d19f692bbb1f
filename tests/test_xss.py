"""Stored and reflected markup is shown as text on every page (issue 15's probe held it).

Names, codes and notes that the pages show are filled with script and attribute-breaking
markup; every page the URL resolver knows (``tests.test_permissions``) and the admin's
pages are opened as a manager, and none may carry the markup as markup.
"""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from inventory import ledger
from inventory.models import Lot, Product
from orders.models import Channel, PurchaseOrder, SalesOrder, Supplier, SupplierProduct
from tests.test_permissions import PAGES, build_url, url_kwargs  # noqa: F401 - a fixture
from warehouses.models import Location, Warehouse

TAG = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(2)>'
HOSTILE = f"{TAG}{ATTRIBUTE}"
RAW = (b"<script>alert(", b"<img src=x onerror")
ESCAPED = b"&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture
def hostile(url_kwargs, locations, product, manager):  # noqa: F811
    """The pages' objects (see url_kwargs) with markup in every free-text field they show."""
    Product.objects.update(name=f"Mug {HOSTILE}")
    Warehouse.objects.update(name=f"Main {HOSTILE}", address=HOSTILE)
    Location.objects.update(name=f"Bin {HOSTILE}")
    Lot.objects.update(code=f"L{TAG}")
    Supplier.objects.update(name=f"Acme {HOSTILE}")
    SupplierProduct.objects.update(supplier_sku=f"S{TAG}")
    Channel.objects.update(name=f"Web {HOSTILE}")
    PurchaseOrder.objects.update(notes=HOSTILE)
    SalesOrder.objects.update(customer_name=f"Ada {HOSTILE}", shipping_address=HOSTILE)
    ledger.adjust(
        product=product, location=locations["bin1"], quantity=1, reason=HOSTILE, user=manager
    )
    return url_kwargs


def assert_escaped(response, url: str) -> None:
    kind = response.get("Content-Type", "")
    if not kind.startswith("text/html"):
        # CSV, PDF and JSON are not read as HTML by a browser: their own rules apply.
        assert not kind.startswith(("text/xml", "image/svg")), url
        return
    for raw in RAW:
        assert raw not in response.content, f"{url} shows {raw!r} as markup"


@pytest.mark.parametrize(("name", "route"), PAGES, ids=[str(n) for n, _ in PAGES])
def test_every_page_escapes_stored_and_reflected_markup(client, manager, hostile, name, route):
    client.force_login(manager)
    url = build_url(name, route, hostile)
    response = client.get(url)
    assert response.status_code == 200, url
    assert_escaped(response, url)
    reflected = client.get(url, {"q": HOSTILE, "search": HOSTILE, "next": HOSTILE})
    assert reflected.status_code in (200, 302, 400), url
    assert_escaped(reflected, url)


def test_the_markup_is_on_the_pages_as_text(client, manager, hostile):
    """The control: the pages above do show the hostile text (escaped), so the test bites."""
    client.force_login(manager)
    for url in (
        reverse("product_detail", kwargs={"sku": hostile["sku"]}),
        reverse("product_list"),
        reverse("supplier_list"),
        reverse("channel_list"),
        reverse("location_detail", kwargs={"barcode": hostile["barcode"]}),
    ):
        assert ESCAPED in client.get(url).content, url


def admin_pages() -> list[tuple[str, type]]:
    return [
        (f"admin:{m._meta.app_label}_{m._meta.model_name}", m)
        for m in apps.get_models()
        if admin.site.is_registered(m)
    ]


def test_the_admin_escapes_it_too(client, manager, hostile):
    manager.is_superuser = True
    manager.save()
    client.force_login(manager)
    shown = 0
    for prefix, model in admin_pages():
        changelist = reverse(f"{prefix}_changelist")
        response = client.get(changelist, {"q": HOSTILE})
        assert response.status_code in (200, 302), changelist
        assert_escaped(response, changelist)
        response = client.get(changelist)
        assert_escaped(response, changelist)
        shown += ESCAPED in response.content
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            change = reverse(f"{prefix}_change", args=[first.pk])
            response = client.get(change)
            assert response.status_code in (200, 302, 403), change
            assert_escaped(response, change)
    assert shown >= 3
