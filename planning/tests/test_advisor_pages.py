"""The advisor page: who may see it and apply, what it shows beside the current policy,
filters, the store-wide summary by hand, applying many at once (with history) and its
refusals, links both ways with the product page, and a fixed query count."""

import re
from decimal import Decimal

import pytest
from django.test import override_settings
from django.urls import reverse

from common.testing import html_of, text_of
from inventory.models import Product
from orders.models import Supplier, SupplierProduct
from planning.models import PlanLine, Policy
from planning.tests.factories import plan_line, plan_run

URL = "/planning/advisor/"
APPLY_URL = "/planning/advisor/apply/"


def policies():
    return sorted(Policy.objects.values_list("product__sku", "warehouse__code", "kind"))


def histories():
    return Policy.history.count()


def value_of(line: PlanLine, kind: str) -> str:
    return f"{line.pk}:{kind}"


def test_url_names():
    assert reverse("planning:advisor") == URL
    assert reverse("planning:apply_advice") == APPLY_URL


def test_anonymous_clerk_buyer_manager(client, clerk, buyer, manager, plan):
    mug = plan["lines"]["mug"]
    assert client.get(URL).status_code == 302
    assert client.post(APPLY_URL, {"line": value_of(mug, "jit")}).status_code == 302
    client.force_login(clerk)
    assert client.get(URL).status_code == 403
    assert client.post(APPLY_URL, {"line": value_of(mug, "jit")}).status_code == 403
    assert policies() == []
    for user in (buyer, manager):
        client.force_login(user)
        assert client.get(URL).status_code == 200


def test_advice_beside_the_current_policy_with_reasons(client, buyer, plan):
    client.force_login(buyer)
    page = text_of(client.get(URL))
    # MUG-1: smooth demand, ACME's lead time varies 1.5/7 = 0.21 (≤ 0.25): JIT, now safety stock.
    assert "MUG-1 Mug WH1 Safety stock default Just in time differs" in page
    assert "Demand is steady (smooth) and supplier ACME delivers reliably" in page
    assert "style=" not in html_of(client.get(URL)).split("<main")[1]  # CSP: no inline style
    # LID-1 has no supplier: safety stock, as now.
    assert "LID-1 Lid WH1 Safety stock default Safety stock Demand is steady" in page


def test_a_stored_policy_is_shown_as_the_current_one(client, buyer, plan):
    mug = plan["lines"]["mug"]
    Policy.objects.create(product=mug.product, warehouse=mug.warehouse, kind="min_max")
    client.force_login(buyer)
    page = text_of(client.get(URL))
    assert "MUG-1 Mug WH1 Min / max Just in time" in page


@pytest.mark.parametrize(
    "query, shown, hidden",
    [
        ("advice=jit", ["MUG-1", "PAN-1"], ["LID-1"]),
        ("advice=safety_stock", ["LID-1"], ["MUG-1", "PAN-1"]),
        ("policy=jit", ["PAN-1"], ["MUG-1", "LID-1"]),
        ("differs=true", ["MUG-1", "CUP-1"], ["PAN-1", "LID-1"]),
        ("differs=false", ["PAN-1", "LID-1"], ["MUG-1", "CUP-1"]),
        ("warehouse=WH2", ["JAR-1"], ["MUG-1", "PAN-1"]),
        ("sku=PAN-1", ["PAN-1"], ["MUG-1"]),
    ],
)
def test_filters(client, buyer, plan, query, shown, hidden):
    client.force_login(buyer)
    results = text_of(client.get(f"{URL}?{query}", headers={"HX-Request": "true"}))
    for sku in shown:
        assert f"{sku} " in results
    for sku in hidden:
        assert f"{sku} " not in results


def test_htmx_gets_the_results_only(client, buyer, plan):
    client.force_login(buyer)
    response = client.get(f"{URL}?advice=jit", headers={"HX-Request": "true"})
    assert html_of(response).lstrip().startswith('<div id="results"')
    assert "HX-Request" in response["Vary"]


def test_summary_by_hand(client, buyer, warehouse, settings):
    settings.STOCKROOM_HOLDING_COST_RATE = 0.25
    run = plan_run()
    a = Product.objects.create(sku="A-1", name="A", sell_price=Decimal("10"))
    b = Product.objects.create(sku="B-1", name="B", sell_price=Decimal("10"))
    # A: SS 10 at 2.00, z(95 %) = 1.645, d̄ 4, σd 2, L̄ 4, σL 0 → σ_DL = √(4·4) = 4;
    # Q = 54 − 26 = 28 → 365·4/28 = 52.14 cycles a year.
    plan_line(
        run,
        a,
        warehouse,
        None,
        safety_stock=10,
        unit_cost=Decimal("2.00"),
        z=1.645,
        forecast_daily=4,
        sd_daily_demand=2,
        lead_time_days=4,
        sd_lead_time_days=0,
        reorder_point=26,
        order_up_to=54,
    )
    # B: a manual buffer of 5 at 3.00, no service level: value only.
    plan_line(
        run,
        b,
        warehouse,
        None,
        policy="manual",
        safety_stock=5,
        unit_cost=Decimal("3.00"),
        z=None,
        service_level=None,
    )
    client.force_login(buyer)
    page = text_of(client.get(URL))
    # Value 10 × 2 + 5 × 3 = 35.00; a year at 25 %: 8.75.
    assert "safety stock (Σ SS × unit cost) 35.00 EUR" in page
    assert "(at 25 % a year) 8.75 EUR" in page
    # Cycles: 52.14 × (Φ(1.645) − ½) = 52.14 × 0.45 = 23.5; units: 52.14 × 4 × (G(0) − G(1.645))
    # = 208.57 × (0.39894 − 0.02089) = 78.9.
    assert "23.5 replenishment cycles, 79 units short" in page
    assert "Plan lines per recommended strategy (2 in all)" in page


def test_applying_many_sets_the_policies_with_history(client, buyer, plan):
    mug, cup = plan["lines"]["mug"], plan["lines"]["cup"]
    client.force_login(buyer)
    response = client.post(
        APPLY_URL, {"line": [value_of(mug, "jit"), value_of(cup, "jit")], "query": "differs=true"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?differs=true"
    assert policies() == [("CUP-1", "WH1", "jit"), ("MUG-1", "WH1", "jit")]
    for policy in Policy.objects.all():
        assert policy.updated_by == buyer
        assert policy.history.get().history_user == buyer
    page = text_of(client.get(URL))
    assert "Applied the advice to 2 policies" in page


def test_stale_advice_is_refused_and_nothing_changes(client, buyer, plan):
    mug, lid = plan["lines"]["mug"], plan["lines"]["lid"]
    client.force_login(buyer)
    # LID-1's advice is safety stock, not JIT: the page it came from was out of date.
    response = client.post(APPLY_URL, {"line": [value_of(mug, "jit"), value_of(lid, "jit")]})
    assert response.status_code == 400
    page = text_of(response)
    assert "The advice for LID-1 in WH1 changed since this page was shown" in page
    assert "Nothing was changed." in page
    assert policies() == [] and histories() == 0
    # The boxes stay ticked.
    assert f'value="{value_of(mug, "jit")}" id="apply-{mug.pk}" aria-label' in html_of(response)
    assert "checked" in html_of(response).split(f'id="apply-{mug.pk}"')[1].split(">")[0]


def test_a_line_of_an_older_plan_is_refused(client, buyer, plan):
    mug = plan["lines"]["mug"]
    newer = plan_run()
    plan_line(newer, mug.product, mug.warehouse, None)
    client.force_login(buyer)
    response = client.post(APPLY_URL, {"line": value_of(mug, "jit")})
    assert response.status_code == 400
    assert "The plan changed since this page was shown" in text_of(response)
    assert policies() == []


def test_nothing_ticked_is_refused(client, buyer, plan):
    client.force_login(buyer)
    response = client.post(APPLY_URL, {"query": "advice=jit"})
    assert response.status_code == 400
    assert "Tick at least one product" in text_of(response)
    assert policies() == []


@pytest.mark.parametrize("junk", ["junk", "1:nonsense", ":jit", "-3:jit"])
def test_a_malformed_value_is_refused_with_the_rest(client, buyer, plan, junk):
    mug = plan["lines"]["mug"]
    client.force_login(buyer)
    response = client.post(APPLY_URL, {"line": [value_of(mug, "jit"), junk]})
    assert response.status_code == 400
    assert f"“{junk}” is not a row of this page" in text_of(response)
    assert "Nothing was changed." in text_of(response)
    assert policies() == [] and histories() == 0


def test_apply_under_debug_off(client, buyer, plan):
    mug = plan["lines"]["mug"]
    client.force_login(buyer)
    with override_settings(DEBUG=False):
        response = client.post(APPLY_URL, {"line": value_of(mug, "jit")})
        assert response.status_code == 302
        bad = client.post(APPLY_URL, {"line": value_of(mug, "dropship")})
        assert bad.status_code == 400
    assert policies() == [("MUG-1", "WH1", "jit")]


def test_links_between_the_advice_and_the_product_page(client, buyer, plan):
    client.force_login(buyer)
    product_page = html_of(client.get("/planning/products/MUG-1/"))
    assert f'href="{URL}?sku=MUG-1" id="advice-link"' in product_page
    advice_page = html_of(client.get(f"{URL}?sku=MUG-1"))
    assert 'href="/planning/products/MUG-1/"' in advice_page
    assert f'href="{URL}"' in advice_page  # the nav link under Buying


def _many_lines(run, supplier, warehouse, count):
    dropshipper = Supplier.objects.create(code="DRP", name="Dropshipper", dropships=True)
    for index in range(count):
        product = Product.objects.create(
            sku=f"BULK-{index:03d}",
            name=f"Bulk {index}",
            sell_price=Decimal("10"),
            tracking="lot_expiry" if index % 2 else "none",
        )
        offer = SupplierProduct.objects.create(supplier=supplier, product=product, unit_cost=1)
        if index % 4 == 0:
            SupplierProduct.objects.create(supplier=dropshipper, product=product, unit_cost=2)
        plan_line(run, product, warehouse, offer, pattern="lumpy" if index % 3 else "smooth")


@pytest.mark.parametrize("count", [5, 50])
def test_query_count_does_not_grow_with_rows(
    client, buyer, suppliers, warehouse, count, django_assert_num_queries
):
    run = plan_run()
    _many_lines(run, suppliers["ACME"], warehouse, count)
    client.force_login(buyer)
    client.get(URL)  # warm the session and permission caches
    with django_assert_num_queries(14):
        response = client.get(URL)
    assert response.status_code == 200
    assert len(re.findall(r'id="apply-\d+"', html_of(response))) == count


def test_current_policy_filters_read_the_stored_policy(client, buyer, plan):
    mug = plan["lines"]["mug"]
    client.force_login(buyer)
    assert "MUG-1 " in text_of(client.get(f"{URL}?differs=true", headers={"HX-Request": "true"}))
    client.post(APPLY_URL, {"line": value_of(mug, "jit")})
    # Applied today: no longer differs, and counts as JIT, before the next plan run.
    differs = text_of(client.get(f"{URL}?differs=true", headers={"HX-Request": "true"}))
    assert "MUG-1 " not in differs and "CUP-1 " in differs
    same = text_of(client.get(f"{URL}?differs=false", headers={"HX-Request": "true"}))
    assert "MUG-1 Mug WH1 Just in time Just in time" in same
    assert "MUG-1 " in text_of(client.get(f"{URL}?policy=jit", headers={"HX-Request": "true"}))


def test_without_a_plan_the_page_says_so_and_apply_refuses(client, buyer, catalogue):
    client.force_login(buyer)
    response = client.get(URL)
    assert response.status_code == 200
    assert "manage.py plan" in text_of(response)
    refused = client.post(APPLY_URL, {"line": "1:jit"})
    assert refused.status_code == 400
    assert "There is no finished plan" in text_of(refused)
    assert policies() == []
