"""Forms of the planning pages: a policy, a point of the cost curve, the what-if calculator."""

from decimal import Decimal

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from planning.models import Policy


class PolicyForm(forms.ModelForm):
    class Meta:
        model = Policy
        fields = [
            "kind",
            "service_level",
            "review_period_days",
            "history_days",
            "minimum",
            "maximum",
            "manual_buffer",
        ]

    def clean(self):
        data = super().clean()
        kind, low, high = data.get("kind"), data.get("minimum"), data.get("maximum")
        if low is not None and high is not None and low > high:
            self.add_error(
                "minimum",
                f"The minimum ({low}) is above the maximum ({high}): order-up-to must be at "
                "least the reorder level.",
            )
        if kind == Policy.Kind.MIN_MAX:
            for name, value in (("minimum", low), ("maximum", high)):
                if value is None and name not in self.errors:
                    self.add_error(name, f"Min / max needs a {name}.")
        return data


class ServiceLevelForm(forms.Form):
    """A point picked on the cost curve: it becomes the policy's service level."""

    warehouse = forms.CharField(widget=forms.HiddenInput)
    service_level = forms.DecimalField(
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("50")), MaxValueValidator(Decimal("99.99"))],
    )


class WhatIfForm(forms.Form):
    """Inputs of the safety stock what-if, in days and units per day."""

    d_mean = forms.FloatField(label="d̄ (units/day)", min_value=0)
    d_sd = forms.FloatField(label="σd (units/day)", min_value=0)
    lt_mean = forms.FloatField(label="L̄ (days)", min_value=0)
    lt_sd = forms.FloatField(label="σL (days)", min_value=0, required=False, initial=0)
    service_level = forms.FloatField(
        label="Service level (%)", min_value=50, max_value=99.99, required=False
    )
    reorder_point = forms.FloatField(label="or reorder point (units)", min_value=0, required=False)
    order_quantity = forms.FloatField(label="Order quantity (units)", min_value=0, required=False)

    def clean(self):
        data = super().clean()
        level, point = data.get("service_level"), data.get("reorder_point")
        if level is None and point is None and not self.has_error("service_level"):
            if not self.has_error("reorder_point"):
                self.add_error(
                    "service_level", "Give a service level or a reorder point (one of the two)."
                )
        elif level is not None and point is not None:
            self.add_error(
                "reorder_point",
                "Give a service level or a reorder point, not both: "
                "one is computed from the other.",
            )
        if data.get("lt_sd") is None:
            data["lt_sd"] = 0.0
        return data
