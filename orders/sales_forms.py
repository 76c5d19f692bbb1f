"""Forms of the channel and sales order pages: they parse and look up; services write."""

from django import forms
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _

from inventory.fields import ProductField
from orders.intake import MAX_ADDRESS, MAX_CARRIER, MAX_TRACKING_NUMBER
from orders.models import Channel
from warehouses.models import Warehouse

# Path segments the channel pages use themselves; a channel with such a code could not be opened.
RESERVED_CHANNEL_CODES = {"new"}


def parse_codes(text: str) -> list[str]:
    """Split ``"WH1, WH2 WH3"`` into codes, in the order written."""
    return [code for code in text.replace(",", " ").split() if code]


def webhook_url_field() -> forms.URLField:
    """A channel's webhook URL: http or https only (the model field would take ftp too)."""
    return forms.URLField(
        label=_("Webhook URL"),
        max_length=500,
        required=False,
        assume_scheme="https",
        validators=[URLValidator(schemes=["http", "https"])],
        error_messages={"invalid": _("Enter a web address starting with http:// or https://.")},
        help_text=_("Stock changes are POSTed here, signed; empty sends nothing."),
    )


class ChannelForm(forms.ModelForm):
    """A channel, its warehouses typed as codes in priority order (``WH1, WH2``)."""

    warehouse_codes = forms.CharField(
        label=_("Warehouses (first = highest priority)"),
        max_length=500,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    webhook_url = webhook_url_field()

    class Meta:
        model = Channel
        fields = ["code", "name", "kind", "buffer", "warehouse_codes", "webhook_url", "active"]
        widgets = {"code": forms.TextInput(attrs={"autocomplete": "off", "autofocus": True})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        codes = list(Warehouse.objects.filter(active=True).values_list("code", flat=True))
        self.fields["warehouse_codes"].help_text = _(
            "Codes separated by commas, the first one is used first. Warehouses: %(codes)s."
        ) % {"codes": ", ".join(codes) or _("none yet")}
        self.fields["buffer"].error_messages["invalid"] = _("Enter a whole number of units.")
        if self.instance.pk:
            # The code is the channel's address in every link; it stays as created.
            self.fields["code"].disabled = True
            self.fields["code"].help_text = _("The code cannot change once created.")
            self.fields["name"].widget.attrs["autofocus"] = True
            del self.fields["code"].widget.attrs["autofocus"]
            self.initial.setdefault(
                "warehouse_codes",
                ", ".join(
                    self.instance.channel_warehouses.order_by("priority", "id").values_list(
                        "warehouse__code", flat=True
                    )
                ),
            )

    def clean_code(self):
        code = self.cleaned_data["code"].strip()
        if self.instance.pk:
            return self.instance.code
        if code.lower() in RESERVED_CHANNEL_CODES:
            raise forms.ValidationError(
                _("“%(code)s” is reserved by the channel pages: choose another code."),
                params={"code": code},
            )
        clash = Channel.objects.filter(code__iexact=code).first()
        if clash is not None:
            raise forms.ValidationError(
                _("Channel %(code)s already exists (%(name)s)."),
                params={"code": clash.code, "name": clash.name},
            )
        return code

    def clean_warehouse_codes(self) -> list[Warehouse]:
        """Return the warehouses in the order typed; refuse unknown, inactive, repeated codes."""
        codes = parse_codes(self.cleaned_data["warehouse_codes"])
        found = {w.code.lower(): w for w in Warehouse.objects.filter(code__in=codes)}
        missing = [c for c in codes if c.lower() not in found]
        if missing:
            # Codes are unique as written; look up the rest ignoring case.
            for warehouse in Warehouse.objects.all():
                found.setdefault(warehouse.code.lower(), warehouse)
        errors, chosen, seen = [], [], set()
        for code in codes:
            warehouse = found.get(code.lower())
            if warehouse is None:
                errors.append(
                    forms.ValidationError(
                        _("No warehouse has the code “%(code)s”."), params={"code": code}
                    )
                )
            elif warehouse.pk in seen:
                errors.append(
                    forms.ValidationError(
                        _("%(code)s is listed twice: list each warehouse once, by priority."),
                        params={"code": warehouse.code},
                    )
                )
            elif not warehouse.active and warehouse not in self._current_warehouses():
                errors.append(
                    forms.ValidationError(
                        _("Warehouse %(code)s is inactive: a channel cannot start using it."),
                        params={"code": warehouse.code},
                    )
                )
            else:
                seen.add(warehouse.pk)
                chosen.append(warehouse)
        if errors:
            raise forms.ValidationError(errors)
        return chosen

    def _current_warehouses(self) -> list[Warehouse]:
        if not self.instance.pk:
            return []
        return list(self.instance.warehouses.all())


class TrackingForm(forms.Form):
    """The supplier's shipment of a dropship order: tracking number and carrier."""

    tracking_number = forms.CharField(
        label=_("Tracking number"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"required": _("Enter the tracking number the supplier gave.")},
    )
    carrier = forms.CharField(
        label=_("Carrier"),
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


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
