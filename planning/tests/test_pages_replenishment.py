"""The replenishment page: who may open it, what it shows, filters, totals, query count."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from common.testing import html_of, text_of
from planning.models import PlanRun
from planning.tests.factories import plan_line, plan_run

URL = "/planning/replenishment/"


def test_url_name():
    assert reverse("planning:replenishment") == URL


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_clerk_is_refused(client, clerk, plan):
    client.force_login(clerk)
    assert client.get(URL).status_code == 403


@pytest.mark.parametrize("role", ["buyer", "manager"])
def test_buyer_and_manager_see_the_plan(client, role, request, plan):
    client.force_login(request.getfixturevalue(role))
    response = client.get(URL)
    assert response.status_code == 200
    assert "MUG-1" in text_of(response)


def test_no_plan_yet_says_how_to_make_one(client, buyer):
    client.force_login(buyer)
    page = text_of(client.get(URL))
    assert "No plan yet. Run manage.py plan" in page


def test_groups_by_supplier_with_totals_lead_time_and_arrival(client, buyer, plan):
    client.force_login(buyer)
    page = text_of(client.get(URL))
    today = timezone.localdate()
    # ACME: 10 × 2.50 + 12 × 1.20 + 5 × 3.00 = 54.40; the longest lead time (JAR-1) is 10 d.
    acme_arrival = today + timedelta(days=10)
    assert f"3 lines · total 54.40 EUR · lead time 10 d · expected arrival {acme_arrival}" in page
    bolt_arrival = today + timedelta(days=14)
    assert f"1 line · total 30.00 EUR · lead time 14 d · expected arrival {bolt_arrival}" in page
    # Suppliers by name, the line without a supplier last and flagged.
    assert page.index("ACME Acme Ltd") < page.index("BOLT Bolt & Co") < page.index("No supplier")
    assert "No supplier not orderable" in page
    # Nothing to order: not shown.
    assert page.count("JAR-1") == 1


def test_lines_show_their_numbers_and_inputs(client, buyer, plan):
    client.force_login(buyer)
    page = text_of(client.get(URL))
    assert "MUG-1 Mug WH1 Safety stock default smooth 30 0 0 42 / 12 10 25.00" in page
    assert "d̄ 4.20/day (ses), σd 1.90, L̄ 7.0 d, σL 1.5 d, z(95.0%) 1.645 → SS 12, ROP 42" in page
    assert "min/max 3 / 8" in page
    assert "Just in time" in page


def test_line_without_supplier_has_no_checkbox(client, buyer, plan):
    client.force_login(buyer)
    html = html_of(client.get(URL))
    lines = plan["lines"]
    assert f'value="{lines["mug"].pk}" id="pick-{lines["mug"].pk}"' in html
    assert f'id="pick-{lines["lid"].pk}"' not in html


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("warehouse=WH2", ["JAR-1"], ["MUG-1", "PAN-1", "LID-1"]),
        ("supplier=BOLT", ["PAN-1"], ["MUG-1", "JAR-1", "LID-1"]),
        ("policy=min_max", ["JAR-1"], ["MUG-1", "PAN-1"]),
        ("policy=jit&warehouse=WH1", ["PAN-1"], ["MUG-1", "JAR-1"]),
    ],
)
def test_filters(client, buyer, plan, query, shown, hidden):
    client.force_login(buyer)
    page = text_of(client.get(f"{URL}?{query}"))
    for sku in shown:
        assert f"{sku} " in page
    for sku in hidden:
        assert f"{sku} " not in page


def test_an_unknown_filter_value_says_so_and_shows_nothing(client, buyer, plan):
    client.force_login(buyer)
    page = text_of(client.get(f"{URL}?supplier=NOPE"))
    assert "Select a valid choice" in page
    assert "MUG-1 " not in page


def test_htmx_gets_the_results_only(client, buyer, plan):
    client.force_login(buyer)
    response = client.get(f"{URL}?supplier=ACME", headers={"HX-Request": "true"})
    html = html_of(response)
    assert html.lstrip().startswith('<div id="results"')
    assert "MUG-1" in html
    assert "HX-Request" in response["Vary"]


def test_only_the_latest_finished_plan_is_shown_and_a_running_one_is_reported(
    client, buyer, plan, catalogue, warehouse
):
    old = plan_run(as_of=timezone.localdate() - timedelta(days=3))
    PlanRun.objects.filter(pk=old.pk).update(id=0)  # older than the fixture's plan
    plan_run(
        status=PlanRun.Status.RUNNING,
        finished_at=None,
        stage="forecasting",
        done_count=120,
        total_count=400,
    )
    client.force_login(buyer)
    page = text_of(client.get(URL))
    assert "A plan is being computed: forecasting (120 of 400)" in page
    assert f"Plan of {plan['run'].as_of:%Y-%m-%d}" in page


def _many_lines(run, catalogue, warehouse, count):
    from inventory.models import Product
    from orders.models import SupplierProduct

    supplier = catalogue["offers"]["MUG-1"].supplier
    for index in range(count):
        product = Product.objects.create(sku=f"BULK-{index:03d}", name=f"Bulk {index}")
        offer = SupplierProduct.objects.create(supplier=supplier, product=product, unit_cost=1)
        plan_line(run, product, warehouse, offer, suggested_qty=3)


@pytest.mark.parametrize("count", [5, 50])
def test_query_count_does_not_grow_with_lines(
    client, buyer, catalogue, warehouse, count, django_assert_max_num_queries
):
    run = plan_run()
    _many_lines(run, catalogue, warehouse, count)
    plan_line(run, catalogue["products"]["LID-1"], warehouse, None, suggested_qty=1)
    client.force_login(buyer)
    client.get(URL)  # warm the session and permission caches
    with django_assert_max_num_queries(13):
        response = client.get(URL)
    assert response.status_code == 200


def test_pages_of_fifty(client, buyer, catalogue, warehouse):
    run = plan_run()
    _many_lines(run, catalogue, warehouse, 55)
    client.force_login(buyer)
    first = text_of(client.get(URL))
    assert "Page 1 of 2 · 55 rows" in first
    # The group's totals cover every page, not only the one shown.
    assert "55 lines · total 165.00 EUR" in first
    second = text_of(client.get(f"{URL}?page=2"))
    assert "BULK-054" in second and "BULK-000" not in second


def test_nav_and_product_page_link(client, buyer, clerk, plan):
    client.force_login(buyer)
    html = html_of(client.get(reverse("product_detail", args=["MUG-1"])))
    assert 'href="/planning/replenishment/"' in html
    assert 'href="/planning/products/MUG-1/"' in html
    client.force_login(clerk)
    html = html_of(client.get(reverse("product_detail", args=["MUG-1"])))
    assert "/planning/" not in html
