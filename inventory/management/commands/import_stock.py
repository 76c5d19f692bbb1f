from inventory import imports


class Command(imports.CsvImportCommand):
    help = (
        "Post opening stock from a CSV file with the columns "
        "sku,location,lot,expires_on,quantity,unit_cost (location is the location barcode, "
        "expires_on YYYY-MM-DD or empty) as receipts through the ledger. Every row is checked "
        "first; if any is bad nothing is imported."
    )

    def run(self, data: bytes):
        return imports.import_stock(data)
