"""What every list page does: filter, paginate, and answer htmx with the results only."""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from common.pagination import uncounted_page

PAGE_SIZE = 50


def render_list(request, template: str, context: dict):
    """Render the whole page, or only its ``#results`` partial for an htmx request."""
    if request.htmx and not request.htmx.history_restore_request:
        template = f"{template}#results"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def filtered_rows(filterset):
    """Return the rows a list shows: filtered when the form was sent, none when it is invalid."""
    if not filterset.is_bound:
        return filterset.queryset
    return filterset.qs if filterset.is_valid() else filterset.queryset.none()


def paginate(request, queryset):
    """Return the page of ``queryset`` that the request's ``page`` parameter asks for."""
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def paginate_uncounted(request, queryset):
    """Like ``paginate`` without counting the rows: Previous/Next and "Page N" only."""
    return uncounted_page(queryset, request.GET.get("page"), PAGE_SIZE)
