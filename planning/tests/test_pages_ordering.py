"""One action from the plan to draft purchase orders: create_drafts and its page."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from common.testing import refused_unchanged, text_of
from orders.models import PurchaseOrder, PurchaseOrderLine
from planning import errors
from planning.models import PlanLine
from planning.ordering import create_drafts
from planning.tests.factories import plan_line, plan_run

ORDER_URL = "/planning/replenishment/order/"


def snapshot():
    return (
        list(PurchaseOrder.objects.values_list("number", "status")),
        list(PurchaseOrderLine.objects.values_list("product__sku", "quantity_ordered")),
        list(PlanLine.objects.order_by("pk").values_list("pk", "incoming", "suggested_qty")),
    )


def test_one_draft_per_supplier_and_warehouse(plan, buyer):
    lines = plan["lines"]
    picked = [lines[name].pk for name in ("mug", "cup", "jar2", "pan")]
    orders = create_drafts(lines=picked, user=buyer)
    today = timezone.localdate()
    got = {
        (o.supplier.code, o.warehouse.code): (
            o.status,
            o.expected_on,
            sorted(o.lines.values_list("product__sku", "quantity_ordered", "unit_cost")),
        )
        for o in orders
    }
    assert got == {
        ("ACME", "WH1"): (
            "draft",
            today + timedelta(days=7),
            [("CUP-1", 12, Decimal("1.200000")), ("MUG-1", 10, Decimal("2.500000"))],
        ),
        ("ACME", "WH2"): ("draft", today + timedelta(days=10), [("JAR-1", 5, Decimal("3"))]),
        ("BOLT", "WH1"): ("draft", today + timedelta(days=14), [("PAN-1", 2, Decimal("15"))]),
    }
    assert all(o.created_by == buyer for o in orders)
    # Never suggested twice: the plan now counts them as incoming, with nothing to order.
    for name, qty in (("mug", 10), ("cup", 12), ("jar2", 5), ("pan", 2)):
        lines[name].refresh_from_db()
        assert (lines[name].incoming, lines[name].suggested_qty) == (qty, 0)


def test_purchasing_rounds_to_the_pack_again(plan, buyer):
    # A plan computed before the pack size changed: purchasing rounds 12 up to packs of 10.
    cup = plan["lines"]["cup"]
    cup.supplier_product.pack_size = 10
    cup.supplier_product.save()
    (order,) = create_drafts(lines=[cup.pk], user=buyer)
    line = order.lines.get()
    assert line.quantity_ordered == 20
    assert line.note == "Rounded up from 12 to 20: packs of 10"
    cup.refresh_from_db()
    assert (cup.incoming, cup.suggested_qty) == (20, 0)


def test_ordering_the_same_line_twice_is_refused(plan, buyer):
    mug = plan["lines"]["mug"]
    create_drafts(lines=[mug.pk], user=buyer)
    with refused_unchanged(snapshot, errors.StaleSelection, "stale_selection", "MUG-1 in WH1"):
        create_drafts(lines=[mug.pk], user=buyer)


def test_a_line_of_an_older_plan_is_refused(plan, buyer, catalogue, warehouse):
    newer = plan_run()
    plan_line(newer, catalogue["products"]["MUG-1"], warehouse, catalogue["offers"]["MUG-1"])
    old = plan["lines"]["mug"]
    with refused_unchanged(snapshot, errors.StaleSelection, "stale_selection", "older plan"):
        create_drafts(lines=[old.pk], user=buyer)


@pytest.mark.parametrize(
    ("change", "code", "fragment"),
    [
        ("dropship", "not_orderable", "MUG-1 in WH1 is now a dropship product"),
        ("inactive", "not_orderable", "MUG-1 in WH1 is inactive"),
        ("offer", "not_orderable", "ACME no longer sells MUG-1"),
    ],
)
def test_what_cannot_be_ordered_now_is_refused_and_nothing_created(
    plan, buyer, change, code, fragment
):
    mug, cup = plan["lines"]["mug"], plan["lines"]["cup"]
    if change == "dropship":
        mug.product.fulfilment = "dropship"
        mug.product.save()
    elif change == "inactive":
        mug.product.active = False
        mug.product.save()
    else:
        mug.supplier_product.active = False
        mug.supplier_product.save()
    # The good line beside it is not ordered either: all or nothing.
    with refused_unchanged(snapshot, errors.NotOrderable, code, fragment, "Nothing was ordered"):
        create_drafts(lines=[cup.pk, mug.pk], user=buyer)


def test_no_supplier_nothing_selected_and_junk_are_refused(plan, buyer):
    lid = plan["lines"]["lid"]
    with refused_unchanged(snapshot, errors.NotOrderable, "not_orderable", "no preferred"):
        create_drafts(lines=[lid.pk], user=buyer)
    with refused_unchanged(snapshot, errors.NothingSelected, "nothing_selected", "Select"):
        create_drafts(lines=[], user=buyer)
    with refused_unchanged(snapshot, errors.StaleSelection, "stale_selection", "reload"):
        create_drafts(lines=["x1"], user=buyer)
    with refused_unchanged(snapshot, errors.StaleSelection, "stale_selection", "reload"):
        create_drafts(lines=[999999], user=buyer)


# --- the page ---------------------------------------------------------------------------


def test_anonymous_and_clerk_cannot_order(client, clerk, plan):
    mug = plan["lines"]["mug"]
    response = client.post(ORDER_URL, {"line": [mug.pk]})
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    client.force_login(clerk)
    assert client.post(ORDER_URL, {"line": [mug.pk]}).status_code == 403
    assert not PurchaseOrder.objects.exists()


def test_get_shows_the_page_and_orders_nothing(client, buyer, plan):
    client.force_login(buyer)
    response = client.get(ORDER_URL, {"line": [plan["lines"]["mug"].pk]})
    assert response.status_code == 200
    assert "Create draft purchase orders" in text_of(response)
    assert not PurchaseOrder.objects.exists()


@pytest.mark.parametrize("role", ["buyer", "manager"])
def test_ticked_lines_become_drafts_and_the_result_links_them(client, request, role, plan):
    client.force_login(request.getfixturevalue(role))
    lines = plan["lines"]
    response = client.post(ORDER_URL, {"line": [lines["mug"].pk, lines["pan"].pk]}, follow=True)
    assert response.status_code == 200
    numbers = list(PurchaseOrder.objects.order_by("pk").values_list("number", flat=True))
    assert len(numbers) == 2
    page = text_of(response)
    assert f"Created 2 draft purchase orders ({', '.join(numbers)})" in page
    for number in numbers:
        assert f'href="/purchase-orders/{number}/"' in response.content.decode()
    # Back on the plan, the ordered lines are gone; the others stay.
    plan_page = text_of(client.get("/planning/replenishment/"))
    assert "MUG-1 Mug" not in plan_page and "PAN-1 " not in plan_page
    assert "CUP-1 Cup" in plan_page


def test_the_supplier_button_orders_all_its_lines_within_the_filters(client, buyer, plan):
    client.force_login(buyer)
    response = client.post(ORDER_URL, {"all_of": "ACME", "query": "warehouse=WH1"})
    assert response.status_code == 302
    (order,) = PurchaseOrder.objects.all()
    assert (order.supplier.code, order.warehouse.code) == ("ACME", "WH1")
    assert sorted(order.lines.values_list("product__sku", flat=True)) == ["CUP-1", "MUG-1"]


def test_a_refusal_shows_the_page_again_with_the_boxes_still_ticked(client, buyer, plan):
    lines = plan["lines"]
    create_drafts(lines=[lines["mug"].pk], user=buyer)
    client.force_login(buyer)
    before = snapshot()
    response = client.post(
        ORDER_URL, {"line": [lines["mug"].pk, lines["cup"].pk], "query": "supplier=ACME"}
    )
    assert response.status_code == 400
    page = text_of(response)
    assert (
        "MUG-1 in WH1 has nothing left to order (ordered already?). Nothing was ordered." in page
    )
    assert f'value="{lines["cup"].pk}" id="pick-{lines["cup"].pk}" ' in response.content.decode()
    assert "checked" in response.content.decode().split(f'id="pick-{lines["cup"].pk}"')[1][:120]
    assert "PAN-1 " not in page  # the filters were kept
    assert snapshot() == before


@pytest.mark.django_db(transaction=True)
def test_make_run_settings_create_drafts_end_to_end(client, buyer, plan):
    client.raise_request_exception = False  # answer a failure with the 500 page, as gunicorn
    client.force_login(buyer)
    lines = plan["lines"]
    with override_settings(DEBUG=False):
        response = client.post(ORDER_URL, {"line": [lines["mug"].pk, lines["cup"].pk]})
        assert response.status_code == 302
        result = client.get(response.url)
        assert result.status_code == 200
        refused = client.post(ORDER_URL, {"line": [lines["mug"].pk]})
        assert refused.status_code == 400
    (order,) = PurchaseOrder.objects.all()
    assert order.number in text_of(result)
    assert order.lines.count() == 2
