import csv

from django.core.management.base import BaseCommand, CommandError

from planning.management.commands.plan import parse_day
from planning.models import PlanLine, PlanRun
from planning.plan import run_plan
from warehouses.models import Warehouse

HEADER = (
    "sku,warehouse,policy,pattern,forecast_daily,sd_daily_demand,lead_time_days,"
    "sd_lead_time_days,service_level,safety_stock,reorder_point,available,incoming,"
    "open_demand,suggested_qty,supplier"
).split(",")


def _number(value, digits: int = 4) -> str:
    return "" if value is None else f"{round(float(value), digits):g}"


def rows(run: PlanRun, warehouse: Warehouse | None = None):
    """The CSV rows of ``run`` (SKU, then warehouse code order), streamed."""
    lines = PlanLine.objects.filter(run=run).order_by("product__sku", "warehouse__code")
    if warehouse is not None:
        lines = lines.filter(warehouse=warehouse)
    for line in lines.values_list(
        "product__sku", "warehouse__code", "policy", "pattern", "forecast_daily",
        "sd_daily_demand", "lead_time_days", "sd_lead_time_days", "service_level",
        "safety_stock", "reorder_point", "available", "incoming", "open_demand",
        "suggested_qty", "supplier_product__supplier__code",
    ).iterator(chunk_size=5_000):  # fmt: skip
        sku, code, policy, pattern, *numbers, supplier = line
        floats = [_number(value) for value in numbers[:5]]
        yield [sku, code, policy, pattern, *floats, *numbers[5:], supplier or ""]


class Command(BaseCommand):
    help = "Print the latest plan as CSV (with --as-of: compute a plan as of that day first)."

    def add_arguments(self, parser):
        parser.add_argument("--warehouse", help="Only this warehouse (its code).")
        parser.add_argument("--as-of", help="Compute a plan as of this day first (YYYY-MM-DD).")

    def handle(self, *args, warehouse=None, as_of=None, **options):
        place = None
        if warehouse is not None:
            place = Warehouse.objects.filter(code=warehouse).first()
            if place is None:
                raise CommandError(f"There is no warehouse with code {warehouse}.")
        day = parse_day(as_of)
        if day is not None:
            run = run_plan(as_of=day)
            if run.status != PlanRun.Status.DONE:
                raise CommandError(f"Plan {run.pk} failed: {run.message}")
        else:
            run = PlanRun.objects.filter(status=PlanRun.Status.DONE).order_by("-id").first()
            if run is None:
                raise CommandError("There is no plan yet: run manage.py plan first.")
        writer = csv.writer(self.stdout, lineterminator="\n")
        writer.writerow(HEADER)
        for row in rows(run, place):
            writer.writerow(row)
