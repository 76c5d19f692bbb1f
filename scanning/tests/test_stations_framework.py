"""The station framework: permissions, state kept on the server, one answer per scan_id."""

import pytest
from django.db import IntegrityError
from django.urls import reverse

from inventory import ledger
from inventory.models import StockMove
from scanning.models import ScanRecord, StationSession
from scanning.stations import STATIONS
from scanning.stations.base import read_entry, session_for, submit


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("scan_station", args=["lookup"]))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_user_without_permission_is_refused(client, django_user_model, db):
    user = django_user_model.objects.create_user(username="nobody", password="x")
    client.force_login(user)
    assert client.get(reverse("scan_station", args=["putaway"])).status_code == 403
    assert client.post(reverse("scan_station", args=["lookup"]), {"code": "x"}).status_code == 403
    assert client.get(reverse("scan_index")).status_code == 403
    assert not ScanRecord.objects.exists()


def test_buyer_may_look_up_but_not_move(client, buyer):
    client.force_login(buyer)
    assert client.get(reverse("scan_station", args=["lookup"])).status_code == 200
    assert client.get(reverse("scan_station", args=["putaway"])).status_code == 403


def test_unknown_station_is_404(client, clerk):
    client.force_login(clerk)
    assert client.get(reverse("scan_station", args=["dance"])).status_code == 404


def test_page_has_one_scan_input_outside_the_swap_target(client, clerk):
    client.force_login(clerk)
    html = client.get(reverse("scan_station", args=["putaway"])).content.decode()
    assert html.count('name="code"') == 1
    assert 'id="scan-code"' in html and "autofocus" in html and 'autocomplete="off"' in html
    assert 'hx-sync="this:queue all"' in html
    form_end = html.index("</form>", html.index('id="scan-form"'))
    assert html.index('name="code"') < form_end < html.index('id="scan-answer"')
    assert "js/scan.js" in html and "<script>" not in html
    assert "before a product are its quantity" in html


def test_index_lists_the_stations_a_clerk_may_use(client, clerk):
    client.force_login(clerk)
    html = client.get(reverse("scan_index")).content.decode()
    assert reverse("scan_station", args=["putaway"]) in html
    assert reverse("scan_station", args=["lookup"]) in html
    assert 'href="/scan/"' in client.get(reverse("dashboard")).content.decode()


def test_htmx_answer_is_the_panel_with_a_tone_event(client, clerk, scan, locations):
    client.force_login(clerk)
    response = scan("putaway", "WH1-A-01")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and 'aria-live="assertive"' in html
    assert "scan-ok" in html and "From WH1-A-01." in html
    assert response["HX-Trigger-After-Settle"] == '{"scan-ok": {}}'
    response = scan("putaway", "NOPE-123")
    assert response["HX-Trigger-After-Settle"] == '{"scan-error": {}}'
    assert "scan-error" in response.content.decode()


def test_plain_post_renders_the_whole_page(client, clerk, scan, locations):
    client.force_login(clerk)
    response = scan("putaway", "WH1-A-01", htmx=False)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html
    assert 'name="code"' in html and "From WH1-A-01." in html


def test_state_survives_a_reload(client, clerk, scan, locations):
    client.force_login(clerk)
    scan("putaway", "WH1-A-01")
    html = client.get(reverse("scan_station", args=["putaway"])).content.decode()
    assert "WH1-A-01" in html and "Scan the item." in html
    assert StationSession.objects.get(user=clerk, station="putaway").state["source"]["label"] == (
        "WH1-A-01"
    )


def test_same_scan_id_twice_posts_once(client, clerk, scan, locations, product):
    ledger.receive(product=product, location=locations["bin1"], quantity=5, unit_cost=1)
    client.force_login(clerk)
    scan("putaway", "WH1-A-01")
    scan("putaway", "MUG-001")
    first = scan("putaway", "WH1-A-02", scan_id="same-id")
    again = scan("putaway", "WH1-A-02", scan_id="same-id")
    assert StockMove.objects.filter(kind=StockMove.Kind.TRANSFER).count() == 1
    assert "Moved 1 × MUG-001" in first.content.decode()
    # The stored answer again, without a second row for the log (the page has it).
    assert "Moved 1 × MUG-001" in again.content.decode()
    assert "scan-log-new" in first.content.decode()
    assert "scan-log-new" not in again.content.decode()
    assert ScanRecord.objects.filter(scan_id="same-id").count() == 1


def test_an_htmx_answer_carries_its_one_log_row_and_the_page_the_log(
    client, clerk, scan, locations, django_assert_num_queries
):
    client.force_login(clerk)
    for number in range(12):
        scan("lookup", f"NOPE-{number}")
    html = scan("lookup", "WH1-A-01").content.decode()
    assert html.count("scan-log-ok") + html.count("scan-log-error") == 1
    assert '<template class="scan-log-new"><li class="scan-log-ok"><code>WH1-A-01</code>' in html
    assert "NOPE-11" not in html
    page = client.get(reverse("scan_station", args=["lookup"])).content.decode()
    assert page.count("scan-log-error") == 9 and page.count("scan-log-ok") == 1
    assert "NOPE-2<" not in page and "NOPE-3<" in page and "scan-log-new" not in page
    assert 'id="scan-log" data-length="10"' in page
    plain = scan("lookup", "WH1-A-02", htmx=False).content.decode()
    assert "scan-log-new" not in plain and plain.count("scan-log-ok") == 2


def test_an_integrity_error_not_about_the_scan_id_is_not_swallowed(clerk, product, monkeypatch):
    station = STATIONS["lookup"]

    def broken(state, entry, user):
        raise IntegrityError("another constraint")

    monkeypatch.setattr(station, "handle", broken)
    session = session_for(clerk, station)
    with pytest.raises(IntegrityError, match="another constraint"):
        submit(session=session, station=station, code="MUG-001", scan_id="s-1", user=clerk)
    assert not ScanRecord.objects.exists()


def test_escape_cancels_the_current_step_only(client, clerk, scan, locations, product):
    client.force_login(clerk)
    scan("putaway", "WH1-A-01")
    scan("putaway", "MUG-001")
    scan("putaway", action="cancel")
    state = StationSession.objects.get(user=clerk, station="putaway").state
    assert "item" not in state and state["source"]["label"] == "WH1-A-01"


@pytest.mark.parametrize(
    ("code", "number", "done"),
    [("12", 12, False), ("0007", 7, False), ("done", None, True), ("DONE", None, True)],
)
def test_numbers_and_done_are_not_looked_up(code, number, done, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        entry = read_entry(code)
    assert entry.number == number and entry.done is done and entry.scan is None
