"""The product form field: one code a person types or scans, read as SKU, GTIN or barcode."""

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from inventory.models import Product, ProductBarcode, normalize_gtin

GTIN_LENGTHS = (8, 12, 13, 14)


def find_product(code: str) -> Product:
    """Return the product whose SKU (any case), GTIN or extra barcode is ``code``, or raise."""
    code = code.strip()
    products = Product.objects.all()
    product = products.filter(sku=code).first() or products.filter(sku__iexact=code).first()
    if product is not None:
        return product
    compact = "".join(code.split())
    if compact.isdigit() and len(compact) in GTIN_LENGTHS:
        try:
            gtin = normalize_gtin(compact)
        except ValidationError:
            raise forms.ValidationError(
                _("“%(code)s” is not a valid GTIN: the check digit is wrong."),
                code="invalid_gtin",
                params={"code": code},
            ) from None
        product = products.filter(gtin=gtin).first()
        compact = gtin
    if product is None:
        barcode = (
            ProductBarcode.objects.select_related("product").filter(code__iexact=compact).first()
        )
        product = barcode.product if barcode else None
    if product is None:
        raise forms.ValidationError(
            _("No product has the SKU, GTIN or barcode “%(code)s”."),
            code="unknown_product",
            params={"code": code},
        )
    return product


class ProductInput(forms.TextInput):
    """A text input that suggests products (by SKU and name) in a datalist filled by htmx."""

    def __init__(self, attrs=None):
        super().__init__({"autocomplete": "off", **(attrs or {})})

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget_attrs = context["widget"]["attrs"]
        list_id = f"{widget_attrs.get('id') or name}-suggestions"
        widget_attrs.update(
            {
                "list": list_id,
                "hx-get": reverse("product_suggestions"),
                "hx-trigger": "input changed delay:200ms",
                "hx-target": f"#{list_id}",
                "hx-swap": "innerHTML",
                "hx-sync": "this:replace",
            }
        )
        return context

    def render(self, name, value, attrs=None, renderer=None):
        html = super().render(name, value, attrs, renderer)
        context = self.get_context(name, value, attrs)
        return format_html(
            '{}<datalist id="{}"></datalist>', html, context["widget"]["attrs"]["list"]
        )


class ProductField(forms.CharField):
    """Ask for a product by SKU (any case), GTIN (check digit verified) or extra barcode."""

    widget = ProductInput

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Product SKU or barcode"))
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault(
            "help_text",
            _("A GTIN or any barcode of the product works too; type a name to search."),
        )
        error_messages = {"required": _("Enter the product's SKU.")}
        error_messages.update(kwargs.pop("error_messages", None) or {})
        super().__init__(error_messages=error_messages, **kwargs)

    def prepare_value(self, value):
        return value.sku if isinstance(value, Product) else value

    def clean(self, value):
        if isinstance(value, Product):
            return value
        value = super().clean(value)
        if value in self.empty_values:
            return None
        return find_product(value)

    def has_changed(self, initial, data):
        return self.prepare_value(initial or "") != (data or "")
