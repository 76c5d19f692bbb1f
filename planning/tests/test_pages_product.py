"""A product's planning page: the plan in words, backtest, policy and its history, the cost
curve and its choice, the what-if calculator, and a fixed query count."""

import re
from decimal import Decimal

import pytest
from django.template.defaultfilters import floatformat
from django.test import override_settings
from django.urls import reverse

from common.testing import field_error, html_of, non_field_errors, text_of
from planning import buffers
from planning.models import Policy

URL = "/planning/products/MUG-1/"
POLICY_URL = "/planning/products/MUG-1/policy/"


def test_url_names():
    assert reverse("planning:product", args=["MUG-1"]) == URL
    assert reverse("planning:policy", args=["MUG-1"]) == POLICY_URL


def test_anonymous_clerk_buyer_manager(client, clerk, buyer, manager, plan):
    assert client.get(URL).status_code == 302
    assert client.post(POLICY_URL, {"warehouse": "WH1"}).status_code == 302
    client.force_login(clerk)
    assert client.get(URL).status_code == 403
    assert client.post(POLICY_URL, {"warehouse": "WH1", "pick": "1"}).status_code == 403
    for user in (buyer, manager):
        client.force_login(user)
        assert client.get(URL).status_code == 200


def test_unknown_product_is_404(client, buyer, plan):
    client.force_login(buyer)
    assert client.get("/planning/products/NOPE/").status_code == 404


def test_every_number_with_its_inputs_and_the_backtest(client, buyer, plan):
    client.force_login(buyer)
    page = text_of(client.get(URL))
    assert "d̄ = 4.200/day (ses, smooth pattern, α = 0.20), σd = 1.900 over 90 days" in page
    assert "L̄ = 7.0 d, σL = 1.5 d over 6 receipts" in page
    assert "z(95.0 %) = 1.645 → safety stock SS = z·√(L̄·σd² + d̄²·σL²) = 12" in page
    assert "reorder point ROP = d̄·L̄ + SS = 42; order up to 71" in page
    assert "available + incoming − open demand = 30" in page
    assert "Suggested: 10 from ACME (packs of 1, minimum 1) at 2.50 EUR each" in page
    assert "ses 1.100 -0.100 Naive (same as last period) 1.600 0.300" in page
    assert "The forecast beats the naive baseline." in page
    # WH2 has no line for MUG-1.
    assert "Not in the plan of" in page


def test_cost_curve_table_and_svg_show_the_same_numbers(client, buyer, plan, settings):
    settings.STOCKROOM_HOLDING_COST_RATE = 0.25
    client.force_login(buyer)
    response = client.get(URL)
    html, page = html_of(response), text_of(response)
    line = plan["lines"]["mug"]
    rows = buffers.cost_curve(4.2, 1.9, 7.0, 1.5, 2.5, 0.25, 71 - 42)
    assert len(rows) >= 5
    for row in rows:
        level = f"{row['service_level'] * 100:g}"
        cells = (
            f"{level} %{' (policy)' if level == '95' else ''} {row['safety_stock']} "
            f"{floatformat(row['yearly_holding_cost'], 2)} "
            f"{floatformat(row['expected_shortage_per_cycle'], 3)} "
            f"{floatformat(row['fill_rate'], 4)}"
        )
        assert cells in page
        assert f'aria-label="Use {row["service_level"] * 100:g} % service level"' in html
    assert "<svg" in html and "<polyline" in html
    assert "style=" not in html.split("<main")[1]  # CSP: no inline style
    assert line.pk


def test_picking_a_point_sets_the_policy(client, buyer, plan):
    client.force_login(buyer)
    response = client.post(
        POLICY_URL, {"warehouse": "WH1", "service_level": "99.00", "pick": "1"}, follow=True
    )
    assert response.status_code == 200
    policy = Policy.objects.get(product__sku="MUG-1", warehouse__code="WH1")
    assert (policy.kind, policy.service_level, policy.updated_by) == (
        "safety_stock",
        Decimal("99.00"),
        buyer,
    )
    page = text_of(response)
    assert "Policy of MUG-1 in WH1 saved: the plan line changes at the next plan run." in page
    assert "The policy changed after this plan was computed" in page
    assert "Safety stock at 99.00 %." in page
    assert "99 % (policy)" in page
    (record,) = Policy.history.all()
    assert record.history_user == buyer


def test_a_point_out_of_range_is_refused(client, buyer, plan):
    client.force_login(buyer)
    response = client.post(
        POLICY_URL, {"warehouse": "WH1", "service_level": "100", "pick": "1"}, follow=True
    )
    assert "That service level is not one a policy can take" in text_of(response)
    assert not Policy.objects.exists()


def test_policy_form_saves_and_keeps_history(client, buyer, manager, plan):
    client.force_login(buyer)
    data = {
        "warehouse": "WH1",
        "p-WH1-kind": "min_max",
        "p-WH1-service_level": "95",
        "p-WH1-review_period_days": "7",
        "p-WH1-history_days": "90",
        "p-WH1-minimum": "5",
        "p-WH1-maximum": "20",
        "p-WH1-manual_buffer": "0",
    }
    assert client.post(POLICY_URL, data).status_code == 302
    client.force_login(manager)
    client.post(POLICY_URL, {**data, "p-WH1-maximum": "30"})
    policy = Policy.objects.get()
    assert (policy.kind, policy.minimum, policy.maximum) == ("min_max", 5, 30)
    page = text_of(client.get(URL))
    assert re.search(r"manager1 Min / max, review 7 d, history 90 d, min 5, max 30", page)
    assert re.search(r"buyer1 Min / max, review 7 d, history 90 d, min 5, max 20", page)
    assert page.index("max 30") < page.index("max 20")  # newest first


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"p-WH1-minimum": "30", "p-WH1-maximum": "20"}, "minimum", "is above the maximum"),
        ({"p-WH1-kind": "min_max", "p-WH1-maximum": ""}, "maximum", "Min / max needs a maximum"),
        ({"p-WH1-service_level": "100"}, "service_level", "less than or equal to 99.99"),
        ({"p-WH1-history_days": "3"}, "history_days", "greater than or equal to 14"),
        ({"p-WH1-kind": "always"}, "kind", "Select a valid choice"),
    ],
)
def test_bad_policy_is_refused_nothing_saved_and_input_kept(
    client, buyer, plan, changes, field, message
):
    client.force_login(buyer)
    data = {
        "warehouse": "WH1",
        "p-WH1-kind": "safety_stock",
        "p-WH1-service_level": "97.5",
        "p-WH1-review_period_days": "9",
        "p-WH1-history_days": "120",
        "p-WH1-minimum": "",
        "p-WH1-maximum": "40",
        "p-WH1-manual_buffer": "0",
        **changes,
    }
    response = client.post(POLICY_URL, data)
    assert response.status_code == 400
    html = html_of(response)
    assert message in field_error(html, f"id_p-WH1-{field}")
    assert 'value="9"' in html  # what was typed is still there
    assert not Policy.objects.exists()
    assert not Policy.history.exists()


def test_what_if_matches_buffers_evaluate_and_a_hand_computed_case(client, buyer, plan):
    client.force_login(buyer)
    query = "w-d_mean=10&w-d_sd=3&w-lt_mean=4&w-lt_sd=0&w-service_level=95&w-order_quantity=100"
    page = text_of(client.get(f"{URL}?{query}"))
    expected = buffers.evaluate(10, 3, 4, 0, service_level=0.95, order_quantity=100)
    # By hand: σ_DL = 3·√4 = 6, z(95 %) = 1.6449 → SS = 9.87, ROP = 40 + 9.87 = 49.87;
    # ESC = 6·G(1.6449) = 6 × 0.02089 = 0.125; fill rate = 1 − 0.125/100 = 99.87 %.
    assert f"Safety stock (SS) {expected['safety_stock']:.2f}" in page
    assert "Safety stock (SS) 9.87 Reorder point (ROP) 49.87" in page
    assert "Cycle service level 95.00 %" in page
    assert "Expected units short per cycle 0.125" in page
    assert "Fill rate 99.87 %" in page


def test_what_if_with_a_reorder_point(client, buyer, plan):
    client.force_login(buyer)
    page = text_of(client.get(f"{URL}?w-d_mean=10&w-d_sd=3&w-lt_mean=4&w-reorder_point=40"))
    # ROP = mean demand over the lead time: no buffer, half the cycles run short.
    assert "Safety stock (SS) 0.00 Reorder point (ROP) 40.00 Cycle service level 50.00 %" in page
    assert "— (give an order quantity)" in page


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("w-d_mean=x&w-d_sd=1&w-lt_mean=4&w-service_level=95", "d_mean", "Enter a number"),
        ("w-d_mean=1&w-d_sd=-1&w-lt_mean=4&w-service_level=95", "d_sd", "greater than or"),
        ("w-d_mean=1&w-d_sd=1&w-lt_mean=4", "service_level", "Give a service level or a"),
        (
            "w-d_mean=1&w-d_sd=1&w-lt_mean=4&w-service_level=95&w-reorder_point=9",
            "reorder_point",
            "not both",
        ),
    ],
)
def test_what_if_bad_input_shows_field_errors_and_keeps_input(
    client, buyer, plan, query, field, message
):
    client.force_login(buyer)
    html = html_of(client.get(f"{URL}?{query}"))
    assert message in field_error(html, f"id_w-{field}")
    assert 'name="w-lt_mean" value="4"' in html
    assert 'id="what-if-result"' not in html


def test_what_if_without_spread_says_why(client, buyer, plan):
    client.force_login(buyer)
    html = html_of(client.get(f"{URL}?w-d_mean=1&w-d_sd=0&w-lt_mean=4&w-service_level=95"))
    assert "does not vary" in non_field_errors(html)


@pytest.mark.parametrize("history", [1, 20])
def test_query_count_is_fixed(client, buyer, plan, history, django_assert_max_num_queries):
    client.force_login(buyer)
    for level in range(history):
        client.post(
            POLICY_URL, {"warehouse": "WH1", "service_level": f"{90 + level / 10:.2f}", "pick": 1}
        )
    client.get(URL)
    with django_assert_max_num_queries(12):
        assert (
            client.get(f"{URL}?w-d_mean=1&w-d_sd=1&w-lt_mean=2&w-service_level=90").status_code
            == 200
        )


@pytest.mark.django_db(transaction=True)
def test_make_run_settings_pick_a_level_and_open_the_page(client, buyer, plan):
    client.raise_request_exception = False
    client.force_login(buyer)
    with override_settings(DEBUG=False):
        picked = client.post(POLICY_URL, {"warehouse": "WH1", "service_level": "97.50", "pick": 1})
        assert picked.status_code == 302
        page = client.get(URL)
        assert page.status_code == 200
        bad = client.post(POLICY_URL, {"warehouse": "WH1", "p-WH1-kind": "x"})
        assert bad.status_code == 400
    assert Policy.objects.get().service_level == Decimal("97.50")
