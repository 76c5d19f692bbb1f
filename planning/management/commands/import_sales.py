from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from planning.imports import UCI_MAP, ImportFailed, import_sales, parse_map
from warehouses.models import Warehouse


class Command(BaseCommand):
    help = (
        "Load historical order lines (CSV) as demand history: all files or nothing. "
        "Negative quantities are returns; codes that are not products are skipped and "
        f"reported. The UCI Online Retail files: --map {UCI_MAP}"
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", help="CSV files with a header row.")
        parser.add_argument(
            "--map", help="Columns: date=…,sku=…,quantity=…,channel=… (default: those names)."
        )
        parser.add_argument(
            "--warehouse", help="Warehouse code the demand counts for (default: the only one)."
        )
        parser.add_argument(
            "--replace", action="store_true", help="Replace rows imported before from these files."
        )

    def handle(self, *args, files, map=None, warehouse=None, replace=False, **options):
        try:
            mapping = parse_map(map)
            report = import_sales(
                [Path(name) for name in files],
                warehouse=self.warehouse(warehouse),
                mapping=mapping,
                replace=replace,
                progress=self.progress,
            )
        except ImportFailed as failed:
            raise CommandError(
                "Nothing was imported:\n" + "\n".join(f"  {error}" for error in failed.errors)
            ) from None
        self.print_report(report)

    def warehouse(self, code: str | None) -> Warehouse:
        if code is not None:
            found = Warehouse.objects.filter(code=code).first()
            if found is None:
                raise CommandError(f"There is no warehouse with code {code}.")
            return found
        active = list(Warehouse.objects.filter(active=True)[:2])
        if len(active) != 1:
            raise CommandError(
                "Say which warehouse the demand counts for with --warehouse CODE "
                f"({'there are several' if active else 'there is none active'})."
            )
        return active[0]

    def progress(self, text: str) -> None:
        self.stdout.write(f"  {text}")
        self.stdout.flush()

    def print_report(self, report) -> None:
        days = sorted(report.days)
        span = f" from {days[0]} to {days[-1]}" if days else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {report.rows_used} of {report.rows_read} rows{span}: "
                f"{report.units} units ordered, {report.returned_units} returned, "
                f"{report.rows_written} product × day rows."
            )
        )
        skipped = sum(report.skipped.values())
        self.stdout.write(f"Skipped {skipped} rows:")
        for reason, count in report.skipped.most_common():
            self.stdout.write(f"  {reason}: {count}")
            for example in report.examples[reason]:
                self.stdout.write(f"    {example}")
