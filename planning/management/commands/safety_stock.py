import json
import math

from django.core.management.base import BaseCommand, CommandError

from planning import buffers


def parse_number(text: str, option: str) -> float:
    """Return a finite number given on the command line, or refuse in words."""
    try:
        value = float(text)
    except ValueError:
        raise CommandError(f"{option} ({text!r}) is not a number.") from None
    if not math.isfinite(value):
        raise CommandError(f"{option} must be a finite number, got {text}.")
    return value


def parse_service_level(text: str) -> float:
    """Return a service level as a fraction: below 1 is a fraction, 1 or more a percent.

    "0.95", "95" and "95%" all mean 95 %; a trailing % always means percent ("0.5%" is
    0.005). A fraction of 1 or more is impossible, so the rule has no ambiguous case.
    """
    stripped = text.strip()
    percent = stripped.endswith("%")
    value = parse_number(stripped.removesuffix("%"), "--service-level")
    if percent or value >= 1:
        value /= 100
    if not 0 < value < 1:
        raise CommandError(
            f"--service-level must be between 0 and 100 % (e.g. 0.95 or 95), got {text}."
        )
    return value


class Command(BaseCommand):
    help = (
        "Size a safety stock or evaluate a reorder point and print one JSON object "
        "(safety_stock, reorder_point, cycle_service_level, expected_shortage_per_cycle, "
        "fill_rate). Give every number in the same time unit (e.g. demand per day and "
        "lead time in days). The service level is a fraction below 1 (0.95) or a percent "
        "from 1 up (95 or 95%)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--demand-mean", required=True, help="Mean demand per period.")
        parser.add_argument("--demand-sd", required=True, help="Its standard deviation.")
        parser.add_argument("--lead-time", required=True, help="Mean lead time in periods.")
        parser.add_argument("--lead-time-sd", default="0", help="Its standard deviation.")
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--service-level", help="Cycle service level: 0.95, 95 or 95%%.")
        target.add_argument("--reorder-point", help="A reorder point in units, to evaluate.")
        parser.add_argument("--order-quantity", help="Order quantity in units (for fill rate).")

    def handle(self, *args, **options):
        numbers = {
            "d_mean": parse_number(options["demand_mean"], "--demand-mean"),
            "d_sd": parse_number(options["demand_sd"], "--demand-sd"),
            "lt_mean": parse_number(options["lead_time"], "--lead-time"),
            "lt_sd": parse_number(options["lead_time_sd"], "--lead-time-sd"),
        }
        if options["service_level"] is not None:
            numbers["service_level"] = parse_service_level(options["service_level"])
        else:
            numbers["reorder_point"] = parse_number(options["reorder_point"], "--reorder-point")
        if options["order_quantity"] is not None:
            numbers["order_quantity"] = parse_number(options["order_quantity"], "--order-quantity")
        try:
            result = buffers.evaluate(**numbers)
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(json.dumps(result))
