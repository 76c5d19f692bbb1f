"""Filter form of the sales order list."""

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from common.dates import day_in_range
from orders.models import Channel, SalesOrder


class SalesOrderFilterForm(forms.Form):
    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("created_from"), cleaned.get("created_to")
        if start and end and start > end:
            raise forms.ValidationError(
                _("“Created from” (%(start)s) is after “Created to” (%(end)s): swap them."),
                params={"start": start.isoformat(), "end": end.isoformat()},
            )
        return cleaned


class SalesOrderFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"),
        method="filter_q",
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": _("Number, reference or customer"),
                "autocomplete": "off",
            }
        ),
    )
    channel = django_filters.ModelChoiceFilter(
        queryset=Channel.objects.order_by("code"),
        to_field_name="code",
        empty_label=_("All channels"),
    )
    status = django_filters.ChoiceFilter(
        choices=SalesOrder.Status.choices, empty_label=_("Any status")
    )
    created_from = django_filters.DateFilter(
        label=_("Created from"),
        field_name="created_at",
        lookup_expr="date__gte",
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[day_in_range],
    )
    created_to = django_filters.DateFilter(
        label=_("Created to"),
        field_name="created_at",
        lookup_expr="date__lte",
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[day_in_range],
    )

    class Meta:
        model = SalesOrder
        form = SalesOrderFilterForm
        fields = ["q", "channel", "status", "created_from", "created_to"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(number__icontains=value)
            | Q(external_ref__icontains=value)
            | Q(customer_name__icontains=value)
            | Q(customer_email__icontains=value)
        )
