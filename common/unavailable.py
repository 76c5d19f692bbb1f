"""When the database cannot be written or reached: a 503 that says so, never a 500.

A read-only or full disk, a lock held past the busy timeout, a server that refuses
connections or is shutting down, a read-only PostgreSQL: pages answer a plain "try
again shortly" page (templates/503.html), the API a JSON 503 with the code
``database_unavailable``. Nothing is cached, so the first request after the database
is back is served normally.
"""

import logging
import sys

from django.db import DatabaseError, InterfaceError
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.utils.cache import add_never_cache_headers
from django.views import defaults

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
# SQLite reports these as OperationalError messages (no error codes through Django).
SQLITE_MESSAGES = (
    "readonly database",
    "read-only",
    "disk is full",
    "disk i/o error",
    "database is locked",
    "unable to open database",
)
# PostgreSQL SQLSTATEs: connection exceptions (08), read-only transaction, insufficient
# resources (disk full, out of memory, too many connections), shutting down or starting
# up, lock not available.
PG_PREFIXES = ("08", "53", "57P")
PG_CODES = frozenset({"25006", "55P03"})
API_PREFIX = "/api/"


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database cannot take the request now (not a bug)."""
    if not isinstance(exc, DatabaseError):
        return False
    if isinstance(exc, InterfaceError):
        return True  # the connection is gone
    seen = 0
    cause: BaseException | None = exc
    while cause is not None and seen < 5:
        sqlstate = getattr(cause, "sqlstate", None)
        if sqlstate and (sqlstate in PG_CODES or sqlstate.startswith(PG_PREFIXES)):
            return True
        message = str(cause).lower()
        if any(text in message for text in SQLITE_MESSAGES):
            return True
        if "connection" in message and sqlstate is None and "psycopg" in type(cause).__module__:
            return True  # refused, reset, or closed before any SQL state was sent
        cause, seen = cause.__cause__, seen + 1
    return False


def unavailable_response(request) -> HttpResponse:
    """The 503 for a page or an API call; renders nothing that needs the database."""
    message = "The database cannot take changes right now. Try again shortly."
    if request.path.startswith(API_PREFIX):
        response = JsonResponse({"code": "database_unavailable", "message": message}, status=503)
    else:
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    return response


class DatabaseUnavailableMiddleware:
    """Turn a view's "database unavailable" error into the 503 (last in MIDDLEWARE)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_unavailable(exception):
            return None
        logger.warning(
            "Database unavailable for %s %s: %s", request.method, request.path, exception
        )
        return unavailable_response(request)


def server_error(request):
    """``handler500``: the same 503 for such an error raised outside a view (a middleware)."""
    exc = sys.exc_info()[1]
    if exc is not None and is_unavailable(exc):
        return unavailable_response(request)
    return defaults.server_error(request)
