from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from inventory import imports


class Command(BaseCommand):
    help = (
        "Post opening stock from a CSV file with the columns "
        "sku,location,lot,expires_on,quantity,unit_cost (location is the location barcode, "
        "expires_on YYYY-MM-DD or empty) as receipts through the ledger. Every row is checked "
        "first; if any is bad nothing is imported."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="CSV file (UTF-8)")

    def handle(self, *args, file: Path, **options):
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}") from None
        try:
            result = imports.import_stock(data)
        except imports.ImportRefused as refused:
            for error in refused.errors:
                self.stderr.write(str(error))
            raise CommandError(refused.summary) from None
        self.stdout.write(self.style.SUCCESS(str(result)))
