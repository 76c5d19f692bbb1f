"""Admin of suppliers and purchase orders: lists without per-row queries, history on
master data, and the order flow (numbers, statuses, lines, events, receipts) read-only."""

import pytest
from django.contrib.admin import helpers
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.models import (
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    ReceiptLine,
    Supplier,
    SupplierProduct,
)
from orders.purchasing.tests.test_views import build_purchasing

# The session, the user, then the changelist's own queries (filters' choices, the page).
EXPECTED_QUERIES = {
    "orders_supplier": 4,
    "orders_supplierproduct": 5,
    "orders_purchaseorder": 7,
    "orders_purchaseorderline": 4,
    "orders_purchaseorderevent": 4,
    "orders_receiptline": 7,
}
READ_ONLY = {
    "orders_purchaseorderline": PurchaseOrderLine,
    "orders_purchaseorderevent": PurchaseOrderEvent,
    "orders_receiptline": ReceiptLine,
}


@pytest.fixture
def superuser(db, django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-for-tests")


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


def test_every_changelist_renders_with_a_fixed_number_of_queries(
    client, superuser, warehouse, locations
):
    client.force_login(superuser)
    build_purchasing(2, warehouse, locations, superuser)
    few = {
        name: count_queries(client, reverse(f"admin:{name}_changelist"))
        for name in EXPECTED_QUERIES
    }
    build_purchasing(4, warehouse, locations, superuser, start=2)
    many = {
        name: count_queries(client, reverse(f"admin:{name}_changelist"))
        for name in EXPECTED_QUERIES
    }
    assert few == many, "a changelist's query count grows with its rows"
    assert many == EXPECTED_QUERIES


def test_manager_opens_the_changelists(client, manager, warehouse, locations):
    build_purchasing(1, warehouse, locations, manager)
    client.force_login(manager)
    for name in EXPECTED_QUERIES:
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == 200, name
    order = PurchaseOrder.objects.first()
    page = client.get(reverse("admin:orders_purchaseorder_change", args=[order.pk]))
    assert page.status_code == 200
    assert "PP000" in page.text  # the lines inline


def test_changelists_find_by_search(client, superuser, warehouse, locations):
    client.force_login(superuser)
    orders = build_purchasing(2, warehouse, locations, superuser)
    response = client.get(reverse("admin:orders_supplier_changelist"), {"q": "supplier 1"})
    assert "S001" in response.text and "S000" not in response.text
    response = client.get(
        reverse("admin:orders_purchaseorder_changelist"), {"q": orders[4].number}
    )
    assert response.context["cl"].result_count == 1
    response = client.get(reverse("admin:orders_receiptline_changelist"), {"q": "PT001"})
    assert {r.line.product.sku for r in response.context["cl"].result_list} == {"PT001"}
    response = client.get(reverse("admin:orders_supplierproduct_changelist"), {"q": "PP001"})
    assert response.context["cl"].result_count == 1


def test_supplier_changes_are_kept_in_history(client, superuser, supplier):
    client.force_login(superuser)
    url = reverse("admin:orders_supplier_change", args=[supplier.pk])
    response = client.post(
        url,
        {
            "name": "Acme Trading GmbH",
            "email": "orders@acme.example",
            "default_lead_time_days": "9",
            "receipt_tolerance_percent": "2.5",
            "active": "on",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    supplier.refresh_from_db()
    assert (supplier.code, supplier.name, supplier.default_lead_time_days) == (
        "ACME",
        "Acme Trading GmbH",
        9,
    )
    history = client.get(reverse("admin:orders_supplier_history", args=[supplier.pk]))
    assert history.status_code == 200 and "Acme Trading GmbH" in history.text
    assert supplier.history.count() == 2


def test_supplier_product_admin_has_history(client, superuser, supplier_product):
    client.force_login(superuser)
    response = client.get(
        reverse("admin:orders_supplierproduct_history", args=[supplier_product.pk])
    )
    assert response.status_code == 200


def test_order_flow_is_read_only_in_the_admin(client, superuser, sent_order, buyer):
    from orders.purchasing import receiving

    receiving.receive_line(line=sent_order.lines.first(), quantity=1, user=buyer)
    client.force_login(superuser)
    assert client.get(reverse("admin:orders_purchaseorder_add")).status_code == 403
    change = client.get(reverse("admin:orders_purchaseorder_change", args=[sent_order.pk]))
    assert (
        'name="status"' not in change.text and 'name="lines-0-quantity_ordered"' not in change.text
    )
    assert (
        client.get(reverse("admin:orders_purchaseorder_delete", args=[sent_order.pk])).status_code
        == 403
    )
    for name, model in READ_ONLY.items():
        row = model.objects.first()
        assert client.get(reverse(f"admin:{name}_add")).status_code == 403
        assert client.get(reverse(f"admin:{name}_delete", args=[row.pk])).status_code == 403
        view = client.get(reverse(f"admin:{name}_change", args=[row.pk]))
        assert view.status_code == 200 and 'name="_save"' not in view.text
        assert client.post(reverse(f"admin:{name}_change", args=[row.pk]), {}).status_code == 403
        client.post(
            reverse(f"admin:{name}_changelist"),
            {"action": "delete_selected", helpers.ACTION_CHECKBOX_NAME: [row.pk], "post": "yes"},
        )
        assert model.objects.filter(pk=row.pk).exists()


def test_notes_and_dates_of_an_order_can_be_fixed(client, superuser, sent_order):
    client.force_login(superuser)
    response = client.post(
        reverse("admin:orders_purchaseorder_change", args=[sent_order.pk]),
        {
            "expected_on": "2031-05-01",
            "ship_to": "",
            "notes": "Supplier confirmed by phone",
            "lines-TOTAL_FORMS": "0",
            "lines-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    sent_order.refresh_from_db()
    assert (sent_order.status, sent_order.notes) == ("sent", "Supplier confirmed by phone")
    assert sent_order.lines.count() == 2
    assert Supplier.objects.count() == 1 and SupplierProduct.objects.count() == 2
