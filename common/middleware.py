"""Refuse an address no stored object can have, before a view looks it up."""

from django.http import Http404

from common.columns import unstorable

# The channel API checks its own paths (token first, then a JSON 404 naming the field).
API_PREFIX = "/api/"


class UnstorablePathMiddleware:
    """Answer 404 for a page path holding a NUL character (``/products/MUG%00/``).

    No SKU, code or number can hold one (``common.columns``), so nothing is there;
    without this, PostgreSQL raised on the lookup (a 500) while SQLite answered 404.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if unstorable(request.path) and not request.path.startswith(API_PREFIX):
            raise Http404("No such page.")
        return self.get_response(request)
