"""Refuse an address no stored object can have, before a view looks it up."""

from django.http import Http404, JsonResponse

from common.columns import unstorable


class UnstorablePathMiddleware:
    """Answer 404 for a path holding a NUL character (``/products/MUG%00/``).

    No SKU, code or number can hold one (``common.columns``), so nothing is there;
    without this, PostgreSQL raised on the lookup (a 500) while SQLite answered 404.
    The API gets its JSON error shape.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if unstorable(request.path):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"code": "not_found", "message": "Not found.", "field": None}, status=404
                )
            raise Http404("No such page.")
        return self.get_response(request)
