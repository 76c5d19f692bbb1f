from inventory import imports


class Command(imports.CsvImportCommand):
    help = (
        "Create or update products by SKU from a CSV file with the columns "
        "sku,name,gtin,sell_price,tracking,fulfilment (sku and name required; other columns "
        "ignored). An empty cell keeps the current value, or the default for a new product. "
        "Every row is checked first; if any is bad nothing is imported."
    )

    # Read as it goes: files of hundreds of thousands of rows (issue 15).
    streams = True

    def run(self, data):
        return imports.import_products(data)
