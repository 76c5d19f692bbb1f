"""Filter forms of the product and stock lists."""

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.dates import day_in_range
from inventory.models import Product, ProductBarcode
from inventory.selectors import EXPIRY_WARNING_DAYS, LOT_EXPIRED, LOT_EXPIRING, lot_expiry_q
from warehouses.models import Location, Warehouse, in_subtree

GTIN_LENGTHS = (8, 12, 13, 14)


def search_products(queryset, value: str, prefix: str = ""):
    """Match ``value`` against SKU, name, GTIN (any length form) and extra barcodes."""
    value = value.strip()
    if not value:
        return queryset
    condition = (
        Q(**{f"{prefix}sku__icontains": value})
        | Q(**{f"{prefix}name__icontains": value})
        | Q(**{f"{prefix}gtin__icontains": value})
    )
    digits = "".join(value.split())
    if digits.isdigit() and len(digits) in GTIN_LENGTHS:
        # GTINs are stored as 14 digits; an EAN-13 or UPC-A typed or scanned is the same code.
        gtin = digits.zfill(14)
        barcodes = ProductBarcode.objects.filter(
            product=OuterRef(f"{prefix}pk" if prefix else "pk"), code=gtin
        )
        condition |= Q(**{f"{prefix}gtin": gtin}) | Exists(barcodes)
    return queryset.filter(condition)


class SortFilter(django_filters.OrderingFilter):
    """Order by the chosen column, then by SKU so pages never overlap."""

    def filter(self, qs, value):
        qs = super().filter(qs, value)
        ordering = list(qs.query.order_by)
        if not ordering:
            return qs
        return qs.order_by(*ordering, "sku", "pk")


class ProductFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"),
        method="filter_q",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("SKU, name or GTIN"), "autocomplete": "off"}
        ),
    )
    tracking = django_filters.ChoiceFilter(
        choices=Product.Tracking.choices, empty_label=_("Any tracking")
    )
    fulfilment = django_filters.ChoiceFilter(
        choices=Product.Fulfilment.choices, empty_label=_("Any fulfilment")
    )
    active = django_filters.BooleanFilter(
        widget=forms.Select(
            choices=[
                ("", _("Active and inactive")),
                ("true", _("Active")),
                ("false", _("Inactive")),
            ]
        )
    )
    sort = SortFilter(
        fields=(
            ("sku", "sku"),
            ("name", "name"),
            ("sell_price", "price"),
            ("on_hand", "on_hand"),
        ),
        field_labels={"sell_price": _("Price"), "on_hand": _("On hand")},
        widget=forms.HiddenInput,
    )

    class Meta:
        model = Product
        fields = ["q", "tracking", "fulfilment", "active"]

    def filter_q(self, queryset, name, value):
        return search_products(queryset, value)


class StockFilterForm(forms.Form):
    def clean_location(self):
        barcode = (self.cleaned_data.get("location") or "").strip()
        if not barcode:
            return None
        location = Location.objects.filter(barcode__iexact=barcode).first()
        if location is None:
            raise forms.ValidationError(
                _("No location has the barcode “%(barcode)s”."), params={"barcode": barcode}
            )
        return location


class StockFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Product"),
        method="filter_q",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("SKU, name or GTIN"), "autocomplete": "off"}
        ),
    )
    warehouse = django_filters.ModelChoiceFilter(
        field_name="location__warehouse",
        queryset=Warehouse.objects.order_by("code"),
        to_field_name="code",
        empty_label=_("All warehouses"),
    )
    location = django_filters.CharFilter(
        label=_("Location (and below)"),
        method="filter_location",
        widget=forms.TextInput(
            attrs={"placeholder": _("Location barcode"), "autocomplete": "off"}
        ),
    )
    expires_before = django_filters.DateFilter(
        label=_("Expiring before"),
        field_name="lot__expires_on",
        lookup_expr="lt",
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[day_in_range],
    )

    lot_expiry = django_filters.ChoiceFilter(
        label=_("Lot expiry"),
        method="filter_lot_expiry",
        choices=[
            (LOT_EXPIRED, _("Expired")),
            (LOT_EXPIRING, _("Expiring within %(days)s days") % {"days": EXPIRY_WARNING_DAYS}),
        ],
        empty_label=_("Any expiry"),
    )

    class Meta:
        form = StockFilterForm
        fields = ["q", "warehouse", "location", "expires_before", "lot_expiry"]

    def filter_q(self, queryset, name, value):
        return search_products(queryset, value, prefix="product__")

    def filter_lot_expiry(self, queryset, name, value):
        return queryset.filter(lot_expiry_q(value, timezone.localdate()))

    def filter_location(self, queryset, name, value):
        # clean_location has turned the barcode into a Location.
        if not value:
            return queryset
        return queryset.filter(in_subtree(value, prefix="location__"))
