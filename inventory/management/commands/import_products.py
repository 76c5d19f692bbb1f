from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from inventory import imports


class Command(BaseCommand):
    help = (
        "Create or update products by SKU from a CSV file with the columns "
        "sku,name,gtin,sell_price,tracking,fulfilment (sku and name required; other columns "
        "ignored). An empty cell keeps the current value, or the default for a new product. "
        "Every row is checked first; if any is bad nothing is imported."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="CSV file (UTF-8)")

    def handle(self, *args, file: Path, **options):
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}") from None
        try:
            result = imports.import_products(data)
        except imports.ImportRefused as refused:
            for error in refused.errors:
                self.stderr.write(str(error))
            raise CommandError(refused.summary) from None
        self.stdout.write(self.style.SUCCESS(str(result)))
