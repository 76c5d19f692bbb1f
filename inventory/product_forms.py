"""The product form of the back office, with its extra barcodes."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from inventory import catalog
from inventory.models import Product, ProductBarcode, normalize_gtin


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = ["sku", "name", "gtin", "sell_price", "tracking", "fulfilment", "active"]
        widgets = {
            "sku": forms.TextInput(attrs={"autocomplete": "off"}),
            "gtin": forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
            "sell_price": forms.NumberInput(attrs={"min": 0, "step": "0.01"}),
        }
        error_messages = {
            "sku": {"required": _("Enter the product's SKU.")},
            "name": {"required": _("Enter the product's name.")},
            "sell_price": {
                "required": _("Enter a sell price (0 if it is not sold)."),
                "invalid": _("Enter a price such as 9.90."),
                "min_value": _("A sell price cannot be negative."),
            },
        }

    def clean_sku(self):
        sku = self.cleaned_data["sku"].strip()
        if sku.lower() in catalog.RESERVED_SKUS:
            raise ValidationError(
                _("“%(sku)s” is a word the product pages use: choose another SKU."),
                params={"sku": sku},
            )
        clash = Product.objects.filter(sku__iexact=sku).exclude(pk=self.instance.pk).first()
        if clash is not None:
            raise ValidationError(
                _("The SKU %(sku)s is already taken by %(other)s (SKUs ignore case)."),
                code="duplicate_sku",
                params={"sku": sku, "other": clash},
            )
        return sku

    def clean_gtin(self):
        value = (self.cleaned_data.get("gtin") or "").strip()
        if not value:
            return None
        # Stored as 14 digits: an EAN-13 and its GTIN-14 form are the same code.
        gtin = normalize_gtin(value)
        clash = Product.objects.filter(gtin=gtin).exclude(pk=self.instance.pk).first()
        if clash is not None:
            raise ValidationError(
                _("The GTIN %(gtin)s already belongs to %(other)s."),
                params={"gtin": value, "other": clash},
            )
        barcode = (
            ProductBarcode.objects.select_related("product")
            .filter(code=gtin)
            .exclude(product_id=self.instance.pk)
            .first()
        )
        if barcode is not None:
            raise ValidationError(
                _("The GTIN %(gtin)s is already a barcode of %(other)s."),
                params={"gtin": value, "other": barcode.product},
            )
        return gtin

    def clean(self):
        cleaned = super().clean()
        tracking, fulfilment = cleaned.get("tracking"), cleaned.get("fulfilment")
        if self.instance.pk and tracking and fulfilment:
            stored = Product.objects.get(pk=self.instance.pk)
            problems = catalog.change_problems(stored, tracking=tracking, fulfilment=fulfilment)
            for field, message in problems.items():
                self.add_error(field, message)
        return cleaned


class BarcodeForm(forms.ModelForm):
    class Meta:
        model = ProductBarcode
        fields = ["code", "units"]
        widgets = {"code": forms.TextInput(attrs={"autocomplete": "off"})}
        labels = {"code": _("Extra barcode")}
        error_messages = {"units": {"min_value": _("A scan stands for at least one unit.")}}

    def clean_code(self):
        code = "".join((self.cleaned_data.get("code") or "").split())
        if code.isdigit() and len(code) in (8, 12, 13, 14):
            code = normalize_gtin(code)
        clash = (
            ProductBarcode.objects.select_related("product")
            .filter(code=code)
            .exclude(pk=self.instance.pk)
            .first()
        )
        if clash is not None:
            raise ValidationError(
                _("The barcode %(code)s already belongs to %(other)s."),
                params={"code": code, "other": clash.product},
            )
        owner = Product.objects.filter(gtin=code).first()
        if owner is not None and owner.pk != self.instance.product_id:
            raise ValidationError(
                _("%(code)s is the GTIN of %(other)s."), params={"code": code, "other": owner}
            )
        return code


BarcodeFormSet = forms.inlineformset_factory(
    Product, ProductBarcode, form=BarcodeForm, extra=2, can_delete=True
)
