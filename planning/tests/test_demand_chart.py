"""Demand vs stock of one product: series built by hand, the page and its htmx fragment."""

import re
from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory import ledger
from planning import demand_chart
from planning.models import ImportedDemand

pytestmark = pytest.mark.django_db


def at(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(12)))


@pytest.fixture
def history(plan, locations, catalogue):
    """MUG-1: 20 in 10 days ago, 5 out 3 days ago; demand 2 and 5 units on those days."""
    mug = catalogue["products"]["MUG-1"]
    today = timezone.localdate()
    ledger.receive(
        product=mug,
        location=locations["bin1"],
        quantity=20,
        unit_cost="2.50",
        at=at(today - timedelta(days=10)),
    )
    ledger.adjust(
        product=mug,
        location=locations["bin1"],
        quantity=-5,
        reason="Sold at the counter",
        at=at(today - timedelta(days=3)),
    )
    for days, units in ((10, 2), (3, 5)):
        ImportedDemand.objects.create(
            product=mug,
            warehouse=locations["bin1"].warehouse,
            day=today - timedelta(days=days),
            quantity=units,
        )
    return mug


def test_series_by_hand(history, plan):
    today = timezone.localdate()
    found = demand_chart.chart(history, plan["run"], today)
    rows = {row["day"]: row for row in found["rows"]}
    assert len(found["rows"]) == demand_chart.PAST_DAYS + demand_chart.FUTURE_DAYS
    assert rows[today - timedelta(days=11)]["on_hand"] == 0
    assert rows[today - timedelta(days=10)]["on_hand"] == 20
    assert rows[today - timedelta(days=4)]["on_hand"] == 20
    assert rows[today - timedelta(days=3)]["on_hand"] == 15
    assert rows[today - timedelta(days=1)]["on_hand"] == 15
    assert rows[today - timedelta(days=10)]["demand"] == 2
    assert rows[today - timedelta(days=3)]["demand"] == 5
    assert rows[today - timedelta(days=5)]["demand"] == 0
    assert rows[today]["demand"] is None and rows[today]["forecast"] == 4.2
    assert rows[today - timedelta(days=1)]["forecast"] is None
    assert {row["reorder_point"] for row in found["rows"]} == {42}  # MUG-1 in WH1 only
    assert [s["key"] for s in found["chart"]["series"]] == list(demand_chart.SERIES)


def test_page_fragment_and_product_page_link(client, buyer, clerk, history):
    url = reverse("planning:demand_chart", args=["MUG-1"])
    assert client.get(url).status_code == 302
    client.force_login(clerk)
    assert client.get(url).status_code == 403
    product_page = client.get(history.get_absolute_url()).content.decode()
    assert url not in product_page  # a clerk may not read the plan
    client.force_login(buyer)
    page = client.get(url).content.decode()
    assert "<html" in page and len(re.findall(r'<g class="series', page)) == 5
    fragment = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in fragment and len(re.findall(r'<g class="series', fragment)) == 5
    product_page = client.get(history.get_absolute_url()).content.decode()
    assert f'hx-get="{url}"' in product_page and f'<a href="{url}">' in product_page
    assert client.get(reverse("planning:demand_chart", args=["NOPE"])).status_code == 404


def test_query_count_is_fixed(client, buyer, history, django_assert_max_num_queries):
    client.force_login(buyer)
    url = reverse("planning:demand_chart", args=["MUG-1"])
    with django_assert_max_num_queries(14) as pinned:
        client.get(url)
    for days in range(20, 60):
        ImportedDemand.objects.create(
            product=history,
            warehouse=history.cost_layers.first().move.to_location.warehouse,
            day=timezone.localdate() - timedelta(days=days),
            quantity=1,
        )
    with django_assert_max_num_queries(len(pinned.captured_queries)):
        client.get(url)
