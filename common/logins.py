"""Login throttling with django-axes (README "Login throttling").

Failed logins are counted per username and, separately, per address; either reaching
``AXES_FAILURE_LIMIT`` locks further attempts out for ``AXES_COOLOFF_TIME``, the right
password included. This covers every login form that authenticates with the request:
the staff login page and the admin's. A manager unlocks early in the admin
(Axes › Access attempts: delete the rows). The channel API's tokens do not log in and
are not counted.
"""

import math

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_client_ip_address, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Max, Q
from django.shortcuts import render
from django.utils import timezone


class LoginThrottleBackend(AxesStandaloneBackend):
    """Axes' lockout check for logins with a request; calls without one pass through.

    ``authenticate()`` without a request comes from code, not a login form (a shell,
    a command, a test), and has no address to count.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def minutes_left(request, username: str | None) -> int:
    """Whole minutes until the lockout of this username or address ends (at least 1)."""
    cool_off = get_cool_off(request)
    if cool_off is None:
        return 1
    where = Q(ip_address=get_client_ip_address(request))
    if username:
        where |= Q(username=username)
    latest = AccessAttempt.objects.filter(where).aggregate(at=Max("attempt_time"))["at"]
    if latest is None:
        return math.ceil(cool_off.total_seconds() / 60)
    seconds = (latest + cool_off - timezone.now()).total_seconds()
    return max(1, math.ceil(seconds / 60))


def locked_out(request, original_response=None, credentials=None):
    """The login page again, with what happened and when to try again (status 429)."""
    username = (credentials or {}).get(settings.AXES_USERNAME_FORM_FIELD) or request.POST.get(
        "username"
    )
    minutes = minutes_left(request, username)
    message = (
        f"Too many failed attempts; try again in {minutes} minute{'s' if minutes != 1 else ''} "
        "or ask a manager."
    )
    form = AuthenticationForm(request, initial={"username": username or ""})
    context = {"form": form, "lockout_message": message, "next": request.POST.get("next", "")}
    return render(request, "registration/login.html", context, status=429)
