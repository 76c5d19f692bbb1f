"""Forms of the channel pages: they parse and look up; services write."""

from django import forms
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _

from orders.channels.addresses import validate_webhook_address
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
        validators=[URLValidator(schemes=["http", "https"]), validate_webhook_address],
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
