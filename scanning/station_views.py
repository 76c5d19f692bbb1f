"""Scan station pages: one input, one answer panel, the station's log.

htmx posts answer with the panel alone (and a tone through HX-Trigger-After-Settle);
a plain POST re-renders the whole page, so the station also works without script.
"""

import uuid

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_http_methods
from django_htmx.http import trigger_client_event

from scanning.stations import STATIONS
from scanning.stations.base import LOG_LENGTH, recent_scans, session_for, submit
from scanning.stations.count import locations_by_last_count


def station_for(request, kind: str):
    station = STATIONS.get(kind)
    if station is None:
        raise Http404("No such station.")
    if not request.user.has_perm(station.permission):
        raise PermissionDenied
    return station


@login_required
def station_index(request):
    allowed = [s for s in STATIONS.values() if request.user.has_perm(s.permission)]
    if not allowed:
        raise PermissionDenied
    return render(request, "scanning/index.html", {"stations": allowed})


@login_required
@require_http_methods(["GET", "POST"])
def station_page(request, kind: str):
    station = station_for(request, kind)
    session = session_for(request.user, station)
    record = None
    if request.method == "POST":
        record = submit(
            session=session,
            station=station,
            code=request.POST.get("code", ""),
            scan_id=request.POST.get("scan_id") or uuid.uuid4().hex,
            user=request.user,
            action=request.POST.get("action", ""),
        )
    context = {
        "station": station,
        "state": session.state,
        "prompt": station.prompt(session.state),
        "step": station.view(session.state),
        "record": record,
        "scan_id": uuid.uuid4().hex,
    }
    if request.htmx and record is not None:
        # The answer adds its one new row to the log on the page (a replayed answer's row
        # is there already): the log is not read again.
        context["log_row"] = not getattr(record, "replayed", False)
        response = render(request, "scanning/includes/answer.html", context)
        event = "scan-ok" if record.ok else "scan-error"
        return trigger_client_event(response, event, after="settle")
    context.update(log=recent_scans(session), log_length=LOG_LENGTH)
    return render(request, "scanning/station.html", context)


@login_required
def count_list(request):
    if not request.user.has_perm(STATIONS["count"].permission):
        raise PermissionDenied
    return render(request, "scanning/count_list.html", {"rows": locations_by_last_count()})
