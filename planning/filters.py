"""The replenishment page's filters: warehouse, supplier, policy."""

import django_filters
from django.utils.translation import gettext_lazy as _

from orders.models import Supplier
from planning.models import PlanLine, Policy
from warehouses.models import Warehouse


class PlanLineFilter(django_filters.FilterSet):
    warehouse = django_filters.ModelChoiceFilter(
        queryset=Warehouse.objects.order_by("code"),
        to_field_name="code",
        empty_label=_("All warehouses"),
    )
    supplier = django_filters.ModelChoiceFilter(
        queryset=Supplier.objects.order_by("code"),
        to_field_name="code",
        empty_label=_("All suppliers"),
    )
    policy = django_filters.ChoiceFilter(choices=Policy.Kind.choices, empty_label=_("Any policy"))

    class Meta:
        model = PlanLine
        fields = ["warehouse", "supplier", "policy"]
