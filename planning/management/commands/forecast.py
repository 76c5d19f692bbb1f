import json
import math

from django.core.management.base import BaseCommand, CommandError

from inventory.models import Product
from planning import forecasting
from planning.explain import product_forecast_report


def parse_series(text: str) -> list[float]:
    """Return the comma-separated demand series as floats, refusing anything else."""
    parts = [part.strip() for part in text.split(",")]
    if not text.strip() or any(part == "" for part in parts):
        raise CommandError(
            "--series needs demand per period separated by commas, e.g. 0,0,3,0,4 "
            "(no empty entries)."
        )
    values = []
    for position, part in enumerate(parts, start=1):
        try:
            value = float(part)
        except ValueError:
            raise CommandError(f"--series entry {position} ({part!r}) is not a number.") from None
        if not math.isfinite(value) or value < 0:
            raise CommandError(
                f"--series entry {position} ({part}) must be a finite number of units ≥ 0."
            )
        values.append(value)
    return values


def parse_constant(text: str | None, name: str) -> float | None:
    """Return a smoothing constant in (0, 1], or None when not given."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise CommandError(f"--{name} ({text!r}) is not a number.") from None
    if not 0 < value <= 1:
        raise CommandError(f"--{name} must be above 0 and at most 1, got {text}.")
    return value


class Command(BaseCommand):
    help = (
        "Forecast a demand series with SES, Croston, SBA or TSB and print one JSON object "
        "(method, alpha, beta, forecast = the flat per-period forecast). "
        "α smooths the demand size (the level for SES); β smooths the interval "
        "(Croston/SBA) or the demand probability (TSB) and defaults to α."
    )

    def add_arguments(self, parser):
        parser.add_argument("sku", nargs="?", help="A product's SKU (its stored forecast).")
        parser.add_argument("--series", help="Demand per period, oldest first: 0,0,3,0,4")
        parser.add_argument("--method", choices=forecasting.METHODS)
        parser.add_argument("--alpha", default=None, help="Size/level smoothing, in (0, 1].")
        parser.add_argument("--beta", default=None, help="Interval/probability smoothing.")

    def handle(self, *args, sku=None, series=None, method, alpha, beta, **options):
        if (sku is None) == (series is None):
            raise CommandError("Give either a SKU or --series (one of them).")
        if sku is not None:
            self.stdout.write(json.dumps(self.sku_report(sku)))
            return
        values = parse_series(series)
        if method is None or alpha is None:
            raise CommandError(
                "--series needs --method and --alpha, e.g. --method sba --alpha 0.1."
            )
        alpha = parse_constant(alpha, "alpha")
        beta = parse_constant(beta, "beta")
        if method == "ses" and beta is not None:
            raise CommandError("--beta does not apply to ses (it has one smoothing constant).")
        if method != "ses" and beta is None:
            beta = alpha
        value = forecasting.forecast_series(values, method, alpha, beta)
        result = {"method": method, "alpha": alpha, "beta": beta, "forecast": value}
        self.stdout.write(json.dumps(result))

    def sku_report(self, sku: str) -> dict:
        """Return a product's forecast report (``planning.explain``)."""
        try:
            return product_forecast_report(sku)
        except Product.DoesNotExist:
            raise CommandError(f"There is no product with SKU {sku}.") from None
