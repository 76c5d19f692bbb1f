"""Forms of the purchasing pages: they parse and look things up; the services decide and write."""

from django import forms
from django.utils.translation import gettext_lazy as _

from common.dates import day_in_range
from inventory.fields import ProductField, ProductInput
from inventory.models import Product
from orders.models import Supplier, SupplierProduct
from warehouses.models import Location, Warehouse

# Path segments the supplier pages use themselves; a supplier with such a code could not be opened.
RESERVED_SUPPLIER_CODES = {"new"}

QUANTITY_ERRORS = {
    "required": _("Enter a quantity."),
    "invalid": _("Enter a whole number of units."),
}


def find_location(barcode: str) -> Location:
    """Return the location with ``barcode`` (exact first, then ignoring case) or raise."""
    barcode = barcode.strip()
    locations = Location.objects.select_related("warehouse")
    location = locations.filter(barcode=barcode).first()
    if location is None:
        location = locations.filter(barcode__iexact=barcode).first()
    if location is None:
        raise forms.ValidationError(
            _("No location has the barcode “%(barcode)s”."),
            code="unknown_location",
            params={"barcode": barcode},
        )
    return location


def positive_quantity(quantity: int) -> int:
    if quantity <= 0:
        raise forms.ValidationError(
            _("Enter a quantity of at least one unit (got %(quantity)s)."),
            code="quantity_not_positive",
            params={"quantity": quantity},
        )
    return quantity


class SupplierForm(forms.ModelForm):
    class Meta:
        model = Supplier
        fields = [
            "code",
            "name",
            "email",
            "default_lead_time_days",
            "receipt_tolerance_percent",
            "dropships",
            "active",
        ]
        widgets = {"code": forms.TextInput(attrs={"autocomplete": "off", "autofocus": True})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # The code is the supplier's address in every link; it stays as created.
            self.fields["code"].disabled = True
            self.fields["code"].help_text = _("The code cannot change once created.")
            self.fields["name"].widget.attrs["autofocus"] = True
            del self.fields["code"].widget.attrs["autofocus"]

    def clean_code(self):
        code = self.cleaned_data["code"].strip()
        if not self.instance.pk and code.lower() in RESERVED_SUPPLIER_CODES:
            raise forms.ValidationError(
                _("“%(code)s” is reserved by the supplier pages: choose another code."),
                params={"code": code},
            )
        clash = Supplier.objects.filter(code__iexact=code).exclude(pk=self.instance.pk).first()
        if clash is not None:
            raise forms.ValidationError(
                _("Supplier %(code)s already exists (%(name)s)."),
                params={"code": clash.code, "name": clash.name},
            )
        return code


class SupplierProductForm(forms.ModelForm):
    """What one supplier sells: the product is typed as a SKU."""

    product = ProductField(widget=ProductInput(attrs={"autofocus": True}))

    class Meta:
        model = SupplierProduct
        fields = [
            "product",
            "supplier_sku",
            "unit_cost",
            "lead_time_days",
            "minimum_order_quantity",
            "pack_size",
            "preferred",
            "active",
        ]
        widgets = {"supplier_sku": forms.TextInput(attrs={"autocomplete": "off"})}

    def __init__(self, *args, supplier: Supplier, **kwargs):
        super().__init__(*args, **kwargs)
        self.supplier = supplier
        self.instance.supplier = supplier
        if self.instance.pk:
            # Another product is another row: the product of a row stays.
            self.fields["product"].disabled = True
            self.initial["product"] = self.instance.product.sku
        for name in ("minimum_order_quantity", "pack_size", "lead_time_days"):
            self.fields[name].error_messages["invalid"] = _("Enter a whole number.")

    def clean_product(self):
        if self.instance.pk:
            return self.instance.product
        product = self.cleaned_data["product"]
        existing = SupplierProduct.objects.filter(supplier=self.supplier, product=product).first()
        if existing is not None:
            raise forms.ValidationError(
                _("%(supplier)s already sells %(sku)s: edit that row instead."),
                params={"supplier": self.supplier.code, "sku": product.sku},
            )
        return product

    def clean_supplier_sku(self):
        supplier_sku = self.cleaned_data["supplier_sku"].strip()
        if supplier_sku:
            clash = (
                SupplierProduct.objects.select_related("product")
                .filter(supplier=self.supplier, supplier_sku=supplier_sku)
                .exclude(pk=self.instance.pk)
                .first()
            )
            if clash is not None:
                raise forms.ValidationError(
                    _("Supplier SKU %(code)s is already used for %(sku)s."),
                    params={"code": supplier_sku, "sku": clash.product.sku},
                )
        return supplier_sku

    def clean(self):
        cleaned = super().clean()
        product = cleaned.get("product")
        if cleaned.get("preferred") and product is not None:
            other = (
                SupplierProduct.objects.select_related("supplier")
                .filter(product=product, preferred=True)
                .exclude(pk=self.instance.pk)
                .first()
            )
            if other is not None:
                self.add_error(
                    "preferred",
                    _(
                        "%(supplier)s is already the preferred supplier of %(sku)s; a product "
                        "has one preferred supplier. Untick “preferred” there first."
                    )
                    % {"supplier": other.supplier.code, "sku": product.sku},
                )
        return cleaned

    def validate_constraints(self):
        # clean() and the clean_* methods above say the same in words a buyer can act on.
        pass


class PurchaseOrderForm(forms.Form):
    supplier = forms.ModelChoiceField(
        label=_("Supplier"),
        queryset=Supplier.objects.filter(active=True).order_by("code"),
        to_field_name="code",
        empty_label=_("Choose a supplier"),
        error_messages={
            "required": _("Choose the supplier to order from."),
            "invalid_choice": _("Choose an active supplier from the list."),
        },
    )
    warehouse = forms.ModelChoiceField(
        label=_("Deliver to warehouse"),
        queryset=Warehouse.objects.filter(active=True).order_by("code"),
        to_field_name="code",
        empty_label=_("Choose a warehouse"),
        error_messages={
            "required": _("Choose the warehouse the goods go to."),
            "invalid_choice": _("Choose an active warehouse from the list."),
        },
    )
    expected_on = forms.DateField(
        label=_("Expected delivery"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[day_in_range],
        help_text=_("Empty: today plus the supplier's lead time."),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class LineForm(forms.Form):
    """A purchase order line: product SKU and quantity; the cost defaults from the supplier."""

    product = ProductField()
    quantity = forms.IntegerField(
        label=_("Quantity"),
        error_messages=QUANTITY_ERRORS,
        widget=forms.NumberInput(attrs={"step": 1, "min": 1}),
    )
    unit_cost = forms.DecimalField(
        label=_("Unit cost"),
        required=False,
        min_value=0,
        max_digits=16,
        decimal_places=6,
        help_text=_("Empty: the supplier's price."),
        error_messages={"min_value": _("A unit cost cannot be negative.")},
    )
    expected_on = forms.DateField(
        label=_("Expected on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[day_in_range],
        help_text=_("Empty: the order's expected date."),
    )

    def __init__(self, *args, line=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.line = line
        if line is not None:
            self.fields["product"].disabled = True
            self.initial.setdefault("product", line.product.sku)

    def clean_product(self):
        if self.line is not None:
            return self.line.product
        return self.cleaned_data["product"]

    def clean_quantity(self):
        return positive_quantity(self.cleaned_data["quantity"])


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=255,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, required: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if required:
            self.fields["reason"].required = True
            self.fields["reason"].error_messages["required"] = _("Say why.")


class ReceiveRowForm(forms.Form):
    """One open line on the receiving page; a row without a quantity is not received."""

    quantity = forms.IntegerField(
        label=_("Quantity"),
        required=False,
        error_messages={"invalid": _("Enter a whole number of units.")},
        widget=forms.NumberInput(attrs={"step": 1, "min": 1, "inputmode": "numeric"}),
    )
    location = forms.CharField(
        label=_("Location barcode"),
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    lot_code = forms.CharField(
        label=_("Lot code"),
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    expires_on = forms.DateField(
        label=_("Expires on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[day_in_range],
    )

    def __init__(self, *args, line, **kwargs):
        super().__init__(*args, **kwargs)
        self.line = line

    @property
    def product(self) -> Product:
        return self.line.product

    def clean_quantity(self):
        quantity = self.cleaned_data["quantity"]
        return None if quantity is None else positive_quantity(quantity)

    def clean_location(self):
        barcode = self.cleaned_data["location"].strip()
        if not barcode or self.cleaned_data.get("quantity") is None:
            return None
        return find_location(barcode)

    def clean_lot_code(self):
        return self.cleaned_data["lot_code"].strip() or None

    def as_receipt(self) -> dict | None:
        """Return the row as ``receiving.receive_order`` takes it, or None when it is empty."""
        cleaned = self.cleaned_data
        if cleaned.get("quantity") is None:
            return None
        return {
            "line": self.line,
            "quantity": cleaned["quantity"],
            "location": cleaned.get("location"),
            "lot_code": cleaned.get("lot_code"),
            "expires_on": cleaned.get("expires_on"),
        }


class ReceiveForm(forms.Form):
    confirm_expired = forms.BooleanField(
        label=_("Receive it anyway: I have checked the expiry date."), required=False
    )
    allow_quarantine = forms.BooleanField(
        label=_("Yes, receive into quarantine: these units are not for sale yet."),
        required=False,
    )


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
