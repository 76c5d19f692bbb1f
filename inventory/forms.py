"""Forms of the stock pages: they parse and look things up; the ledger decides and writes."""

from django import forms
from django.utils.translation import gettext_lazy as _

from inventory.fields import ProductField, ProductInput
from inventory.models import Lot
from warehouses.models import Location


class StockMoveForm(forms.Form):
    """Fields shared by the adjustment and transfer forms: product, location, lot, quantity."""

    product = ProductField(widget=ProductInput(attrs={"autofocus": True}))
    location = forms.CharField(
        label=_("Location barcode"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"required": _("Enter the location's barcode.")},
    )
    lot = forms.CharField(
        label=_("Lot code"),
        max_length=64,
        required=False,
        help_text=_("Only for products tracked by lot."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    quantity = forms.IntegerField(
        label=_("Quantity"),
        error_messages={
            "required": _("Enter a quantity."),
            "invalid": _("Enter a whole number of units."),
        },
        widget=forms.NumberInput(attrs={"step": 1}),
    )

    def clean_location(self):
        return self._location("location")

    def _location(self, name: str) -> Location:
        barcode = self.cleaned_data[name].strip()
        location = Location.objects.select_related("warehouse").filter(barcode=barcode).first()
        if location is None:
            location = (
                Location.objects.select_related("warehouse")
                .filter(barcode__iexact=barcode)
                .first()
            )
        if location is None:
            raise forms.ValidationError(
                _("No location has the barcode “%(barcode)s”."),
                code="unknown_location",
                params={"barcode": barcode},
            )
        return location

    def clean(self):
        cleaned = super().clean()
        product = cleaned.get("product")
        code = (cleaned.get("lot") or "").strip()
        if product is None:
            return cleaned
        if not product.is_lot_tracked:
            if code:
                self.add_error(
                    "lot",
                    _("%(sku)s is not tracked by lot: leave the lot empty.")
                    % {"sku": product.sku},
                )
            cleaned["lot"] = None
            return cleaned
        if not code:
            self.add_error(
                "lot", _("%(sku)s is tracked by lot: enter the lot code.") % {"sku": product.sku}
            )
            return cleaned
        lot = Lot.objects.filter(product=product, code=code).first()
        if lot is None:
            other = Lot.objects.select_related("product").filter(code=code).first()
            if other is not None:
                message = _(
                    "Lot %(code)s belongs to %(other)s, not to %(sku)s: check the lot code."
                ) % {"code": code, "other": other.product.sku, "sku": product.sku}
            else:
                message = _("%(sku)s has no lot “%(code)s”.") % {"sku": product.sku, "code": code}
            self.add_error("lot", message)
            return cleaned
        cleaned["lot"] = lot
        return cleaned


class AdjustmentForm(StockMoveForm):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=255,
        error_messages={"required": _("Say why the stock is adjusted.")},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    field_order = ["product", "location", "lot", "quantity", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["quantity"].help_text = _(
            "Positive to add found units, negative to remove lost or damaged ones."
        )

    def clean_quantity(self):
        quantity = self.cleaned_data["quantity"]
        if quantity == 0:
            raise forms.ValidationError(
                _("An adjustment of zero changes nothing: enter the units to add or remove."),
                code="zero_quantity",
            )
        return quantity


class TransferForm(StockMoveForm):
    to_location = forms.CharField(
        label=_("To location barcode"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"required": _("Enter the barcode of the location to move to.")},
    )

    field_order = ["product", "location", "lot", "quantity", "to_location"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].label = _("From location barcode")

    def clean_quantity(self):
        quantity = self.cleaned_data["quantity"]
        if quantity <= 0:
            raise forms.ValidationError(
                _("Move at least one unit (got %(quantity)s)."),
                code="quantity_not_positive",
                params={"quantity": quantity},
            )
        return quantity

    def clean_to_location(self):
        return self._location("to_location")
