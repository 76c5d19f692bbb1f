"""Filter forms of the supplier and purchase order lists."""

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from orders.models import PurchaseOrder, Supplier
from warehouses.models import Warehouse


def yes_no_any(any_label, yes_label, no_label) -> forms.Select:
    return forms.Select(choices=[("", any_label), ("true", yes_label), ("false", no_label)])


class SupplierFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"),
        method="filter_q",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Code or name"), "autocomplete": "off"}
        ),
    )
    dropships = django_filters.BooleanFilter(
        label=_("Dropships"),
        widget=yes_no_any(_("Dropship or not"), _("Dropships"), _("Does not dropship")),
    )
    active = django_filters.BooleanFilter(
        label=_("Active"),
        widget=yes_no_any(_("Active and inactive"), _("Active"), _("Inactive")),
    )

    class Meta:
        model = Supplier
        fields = ["q", "dropships", "active"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value))


class PurchaseOrderFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Number"),
        method="filter_q",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("PO number"), "autocomplete": "off"}
        ),
    )
    status = django_filters.ChoiceFilter(
        choices=PurchaseOrder.Status.choices, empty_label=_("Any status")
    )
    supplier = django_filters.ModelChoiceFilter(
        queryset=Supplier.objects.order_by("code"),
        to_field_name="code",
        empty_label=_("All suppliers"),
    )
    warehouse = django_filters.ModelChoiceFilter(
        queryset=Warehouse.objects.order_by("code"),
        to_field_name="code",
        empty_label=_("All warehouses"),
    )

    class Meta:
        model = PurchaseOrder
        fields = ["q", "status", "supplier", "warehouse"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(number__icontains=value)
