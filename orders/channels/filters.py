"""Filter form of the channel list."""

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from orders.models import Channel
from orders.purchasing.filters import yes_no_any


class ChannelFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"),
        method="filter_q",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Code or name"), "autocomplete": "off"}
        ),
    )
    kind = django_filters.ChoiceFilter(choices=Channel.Kind.choices, empty_label=_("Any kind"))
    active = django_filters.BooleanFilter(
        label=_("Active"),
        widget=yes_no_any(_("Active and inactive"), _("Active"), _("Inactive")),
    )

    class Meta:
        model = Channel
        fields = ["q", "kind", "active"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value))
