import re
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from common.dates import out_of_range
from inventory import valuation
from warehouses.models import Warehouse

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_day(value: str) -> date:
    if not ISO_DATE.match(value or ""):
        raise CommandError(f"--as-of must be a date written YYYY-MM-DD, not “{value}”.")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--as-of “{value}” is not a date in the calendar.") from None
    problem = out_of_range(day, what="--as-of")
    if problem:
        raise CommandError(problem)
    return day


class Command(BaseCommand):
    help = (
        "Print the inventory value as of the end of a day as CSV sku,quantity,value "
        "with a TOTAL row (FIFO or moving-average cost)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="YYYY-MM-DD (default: today)")
        parser.add_argument("--method", default=valuation.FIFO, help="fifo or average")
        parser.add_argument("--warehouse", help="warehouse code (default: all warehouses)")

    def handle(self, *args, as_of=None, method=None, warehouse=None, **options):
        day = parse_day(as_of) if as_of is not None else timezone.localdate()
        method = (method or "").strip().lower()
        if method not in valuation.METHODS:
            raise CommandError(f"--method must be fifo or average, not “{method}”.")
        place = None
        if warehouse is not None:
            place = Warehouse.objects.filter(code__iexact=warehouse.strip()).first()
            if place is None:
                known = ", ".join(Warehouse.objects.values_list("code", flat=True)) or "none"
                raise CommandError(f"No warehouse has the code “{warehouse}” (known: {known}).")
        result = valuation.inventory_value(as_of=day, warehouse=place)
        valuation.write_csv(result, method, self.stdout)
