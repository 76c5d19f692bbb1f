"""Forms of the sales order pages: they parse and look up; services write."""

from django import forms
from django.utils.translation import gettext_lazy as _

from inventory.fields import ProductField
from orders.models import Channel
from orders.sales.intake import MAX_ADDRESS, MAX_CARRIER, MAX_TRACKING_NUMBER


class ShipForm(forms.Form):
    """The warehouse shipment: carrier and tracking number, both optional."""

    carrier = forms.CharField(
        label=_("Carrier"),
        max_length=MAX_CARRIER,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
        help_text=_("E.g. DHL, UPS, the post; empty if the customer collects."),
    )
    tracking_number = forms.CharField(
        label=_("Tracking number"),
        max_length=MAX_TRACKING_NUMBER,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


# --- a sales order entered by hand ---------------------------------------------------

MANUAL_LINES = 5
MANUAL_REFERENCE_LENGTH = 12


class SalesOrderForm(forms.Form):
    """The order of a phone or counter sale; ``orders.sales.create_order`` checks the rest."""

    channel = forms.ModelChoiceField(
        label=_("Channel"),
        queryset=Channel.objects.filter(active=True).order_by("code"),
        to_field_name="code",
        empty_label=None,
        error_messages={"invalid_choice": _("Choose an active channel.")},
    )
    customer_name = forms.CharField(
        label=_("Customer name"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"required": _("Enter the customer's name.")},
    )
    customer_email = forms.CharField(
        label=_("Customer email"),
        max_length=254,
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    shipping_address = forms.CharField(
        label=_("Shipping address"),
        max_length=MAX_ADDRESS,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Enter the address to ship to.")},
    )
    # Made when the page opens: the order's external reference is MANUAL-<this>, so a
    # second submit of the same page finds the order the first one entered.
    reference = forms.CharField(widget=forms.HiddenInput, max_length=MANUAL_REFERENCE_LENGTH)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].label_from_instance = lambda channel: (
            f"{channel.code} · {channel.name}"
        )


class SalesLineForm(forms.Form):
    """One line: product, quantity, unit price (empty: the product's sell price).

    A row left empty is no line. The product is asked for like everywhere else: a
    SKU, a GTIN or a barcode, with suggestions by SKU and name.
    """

    product = ProductField(required=False)
    quantity = forms.IntegerField(
        label=_("Quantity"),
        required=False,
        widget=forms.NumberInput(attrs={"step": 1, "min": 1, "inputmode": "numeric"}),
        error_messages={"invalid": _("Enter a whole number of units.")},
    )
    unit_price = forms.DecimalField(
        label=_("Unit price"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        error_messages={"invalid": _("Enter an amount like 9.90.")},
    )

    def clean(self):
        data = super().clean()
        product = data.get("product")
        if "product" not in self.errors and product is None:
            if data.get("quantity") is not None or data.get("unit_price") is not None:
                self.add_error("product", _("Enter the product's SKU."))
            return data
        if "quantity" not in self.errors and data.get("quantity") is None:
            self.add_error("quantity", _("Enter a quantity."))
        if product is not None and data.get("unit_price") is None:
            data["unit_price"] = product.sell_price
        return data


SalesLineFormSet = forms.formset_factory(
    SalesLineForm, extra=MANUAL_LINES, max_num=MANUAL_LINES, absolute_max=MANUAL_LINES
)
