"""Template helpers of the stock pages."""

from django import template
from django.template.defaulttags import querystring
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def sort_header(context, field: str, label: str, target: str = "#results"):
    """Render a column heading that sorts by ``field``; a second click reverses the order."""
    current = context.request.GET.get("sort", "")
    if current == field:
        next_sort, arrow, state = f"-{field}", " ▲", "ascending"
    elif current == f"-{field}":
        next_sort, arrow, state = field, " ▼", "descending"
    else:
        next_sort, arrow, state = field, "", "none"
    url = querystring(context, sort=next_sort, page=None)
    return format_html(
        '<a href="{url}" hx-get="{url}" hx-target="{target}" hx-push-url="true" '
        'class="sort sort-{state}">{label}{arrow}</a>',
        url=url,
        target=target,
        state=state,
        label=label,
        arrow=arrow,
    )


@register.filter
def signed(value) -> str:
    """Show a quantity change with its sign: +5, −3."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return value
    return f"+{number}" if number > 0 else f"−{-number}" if number < 0 else "0"
