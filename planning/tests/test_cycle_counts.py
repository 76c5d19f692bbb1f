"""Cycle counts: cadence by ABC class, due and overdue locations, accuracy by hand, the page."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from inventory import ledger
from planning import cycle_counts, snapshots
from planning.models import CountSchedule
from warehouses.models import Location

pytestmark = pytest.mark.django_db
URL = "/planning/cycle-counts/"


def days_ago(days: int) -> datetime:
    return timezone.make_aware(datetime.combine(timezone.localdate(), time(12))) - timedelta(
        days=days
    )


@pytest.fixture
def counted(plan, catalogue, locations):
    """Consumption values (4.2/day × 365 × cost): PAN 15.00 → A (61 %), JAR 2 × 3.00 → B
    (85 %), MUG 2.50 → C (95.1 %), CUP and LID (no cost) → C.

    PAN in bin1, counted 40 days ago (+2 found at 15.00): A every 30 → overdue.
    JAR in bin2, counted 60 days ago (−3 lost at 3.00): B every 90 → due in 30 days.
    MUG at receiving, never counted: due today. Zone, shipping, quarantine: empty, C.
    """
    p = catalogue["products"]
    ago = {"at": days_ago(70)}
    ledger.receive(
        product=p["PAN-1"], location=locations["bin1"], quantity=5, unit_cost="15", **ago
    )
    ledger.receive(
        product=p["JAR-1"], location=locations["bin2"], quantity=8, unit_cost="3", **ago
    )
    ledger.receive(
        product=p["MUG-1"], location=locations["receiving"], quantity=4, unit_cost="2.5"
    )
    ledger.count(
        product=p["PAN-1"], location=locations["bin1"], counted=7, unit_cost="15", at=days_ago(40)
    )
    ledger.count(product=p["JAR-1"], location=locations["bin2"], counted=5, at=days_ago(60))
    cycle_counts.refresh(plan["run"])
    snapshots.write_snapshot(run=plan["run"])
    return {row.location.barcode: row for row in CountSchedule.objects.select_related("location")}


def test_classes_cadence_and_due_days(counted):
    today = timezone.localdate()
    found = {code: (row.abc_class, row.cadence_days, row.due_on) for code, row in counted.items()}
    assert found == {
        "WH1-A-01": ("A", 30, today - timedelta(days=10)),
        "WH1-A-02": ("B", 90, today + timedelta(days=30)),
        "WH1-RCV": ("C", 365, today),
        "WH1-A": ("C", 365, today),
        "WH1-SHP": ("C", 365, today),
        "WH1-QUA": ("C", 365, today),
    }
    states = {code: cycle_counts.status(row.due_on, today) for code, row in counted.items()}
    assert states["WH1-A-01"] == "overdue"
    assert states["WH1-A-02"] == "scheduled"
    assert states["WH1-RCV"] == "due"


def test_cadence_is_a_setting(plan, counted):
    with override_settings(STOCKROOM_COUNT_CADENCE_DAYS={"A": 60, "B": 30, "C": 365}):
        cycle_counts.refresh(plan["run"])
    today = timezone.localdate()
    rows = {r.location.barcode: r for r in CountSchedule.objects.select_related("location")}
    assert rows["WH1-A-01"].due_on == today + timedelta(days=20)
    assert rows["WH1-A-02"].due_on == today - timedelta(days=30)


def test_accuracy_by_hand(counted):
    months = cycle_counts.accuracy(timezone.localdate())
    assert sum(row["differences"] for row in months) == 2
    assert sum(row["units_found"] for row in months) == 2
    assert sum(row["units_lost"] for row in months) == 3
    assert sum(row["value_found"] for row in months) == Decimal("30")
    assert sum(row["value_lost"] for row in months) == Decimal("9")
    assert sum(row["net_value"] for row in months) == Decimal("21")


def test_page_permissions_and_filters(client, clerk, buyer, manager, counted):
    assert reverse("planning:cycle_counts") == URL
    assert client.get(URL).status_code == 302
    for user in (clerk, buyer):
        client.force_login(user)
        assert client.get(URL).status_code == 403
    client.force_login(manager)
    response = client.get(URL)
    assert response.status_code == 200
    shown = [row.location.barcode for row in response.context["page_obj"]]
    assert shown[0] == "WH1-A-01" and "WH1-A-02" not in shown  # overdue first, then due
    overdue = client.get(URL, {"state": "overdue"}).context["page_obj"]
    assert [row.location.barcode for row in overdue] == ["WH1-A-01"]
    everything = client.get(URL, {"state": ""}).context["page_obj"]
    assert len(everything) == 6
    bad = client.get(URL, {"state": "soon", "warehouse": "NOPE"})
    assert bad.status_code == 200 and "No warehouse “NOPE”" in bad.content.decode()
    assert bad.context["state"] == "due_or_overdue"
    assert response.context["summary"]["overdue"] == 1
    months = response.context["accuracy"]  # stored with the nightly snapshot
    assert sum(month["differences"] for month in months) == 2
    assert sum(Decimal(month["net_value"]) for month in months) == Decimal("21")


def test_a_count_today_moves_the_due_day_at_once(client, manager, counted, catalogue, locations):
    ledger.count(product=catalogue["products"]["PAN-1"], location=locations["bin1"], counted=6)
    client.force_login(manager)
    rows = client.get(URL, {"state": "overdue"}).context["page_obj"]
    (row,) = rows  # the stored schedule still says overdue until the night…
    assert row.status == "scheduled"  # …but the page re-reads the last count
    assert row.due_live == timezone.localdate() + timedelta(days=30)


def test_query_count_does_not_grow(
    client, manager, counted, warehouse, django_assert_max_num_queries
):
    client.force_login(manager)
    with django_assert_max_num_queries(14) as pinned:
        client.get(URL, {"state": ""})
    for index in range(30):
        Location.objects.create(warehouse=warehouse, code=f"X{index}", barcode=f"WH1-X{index}")
    cycle_counts.refresh(None)
    with django_assert_max_num_queries(len(pinned.captured_queries)):
        response = client.get(URL, {"state": ""})
    assert len(response.context["page_obj"]) > 6


def test_dashboard_card_lands_on_the_overdue_locations(client, manager, counted):
    client.force_login(manager)
    html = client.get(reverse("dashboard")).content.decode()
    href = f"{URL}?state=overdue"
    card = f'data-key="counts"><a href="{href.replace("&", "&amp;")}"><span class="card-number">1<'
    assert card in html
    assert client.get(href).context["page_obj"].paginator.count == 1


def test_accuracy_counts_the_counts_without_a_difference(counted, catalogue, locations):
    """This month: MUG counted as expected (4), PAN +1 found at 15.00, JAR −2 lost at 3.00
    (FIFO): 3 items counted, 1 without a difference (33.3 %), net 15.00 − 6.00 = 9.00."""
    p, today = catalogue["products"], timezone.localdate()
    ledger.count(product=p["MUG-1"], location=locations["receiving"], counted=4)
    ledger.count(product=p["PAN-1"], location=locations["bin1"], counted=8, unit_cost="15")
    ledger.count(product=p["JAR-1"], location=locations["bin2"], counted=3)
    month = cycle_counts.accuracy(today)[0]
    assert timezone.localdate(month["month"]) == today.replace(day=1)
    assert (month["counts"], month["exact"], month["differences"]) == (3, 1, 2)
    assert month["exact_share"] == 33.3
    assert (month["units_found"], month["units_lost"]) == (1, 2)
    assert (month["value_found"], month["value_lost"]) == (Decimal("15"), Decimal("6"))
    assert month["net_value"] == Decimal("9")


def test_a_count_without_a_difference_counts_as_counted(counted, catalogue, locations, plan):
    """MUG at receiving was never counted (due today); a count that matches moves it on."""
    ledger.count(
        product=catalogue["products"]["MUG-1"], location=locations["receiving"], counted=4
    )
    cycle_counts.refresh(plan["run"])
    row = CountSchedule.objects.get(location=locations["receiving"])
    assert row.last_counted is not None
    assert row.due_on == timezone.localdate() + timedelta(days=365)


def test_page_shows_accuracy_in_a_table_and_a_chart(
    client, manager, counted, catalogue, locations
):
    ledger.count(
        product=catalogue["products"]["MUG-1"], location=locations["receiving"], counted=4
    )
    client.force_login(manager)
    response = client.get(URL)
    html = response.content.decode()
    months = response.context["accuracy"]
    # This month's count, then the two of 40 and 60 days ago (one month or two).
    assert sum(row["counts"] for row in months) == 3 and months[0]["counts"] == 1
    assert months[0]["exact_share"] == 100.0
    assert [row["exact_share"] for row in months[1:]] in ([0.0], [0.0, 0.0])
    chart = html.split('id="chart-accuracy"')[1].split("</figure>")[0]
    assert chart.count('<g class="series') == 1 and 'data-series="1"' in chart
    assert "100.00 at the end" in chart  # the last month's share, readable without the line
    assert "1 (100.0 %)" in html


def test_accuracy_query_count_does_not_grow_with_counts(
    client, manager, counted, catalogue, locations, django_assert_max_num_queries
):
    client.force_login(manager)
    with django_assert_max_num_queries(14) as pinned:
        client.get(URL)
    for counted_units in range(20):
        ledger.count(
            product=catalogue["products"]["MUG-1"],
            location=locations["receiving"],
            counted=4 + counted_units % 2,
        )
    with django_assert_max_num_queries(len(pinned.captured_queries)):
        response = client.get(URL)
    assert response.context["accuracy"][0]["counts"] == 20
