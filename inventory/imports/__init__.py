"""CSV imports of products and opening stock: validate every row, then write all or nothing.

Both imports check every row (reporting each bad row with its
line in the file, the header being line 1), and write nothing unless every row is
good. The writes run in one transaction, so a failure half-way leaves no trace.
Opening stock is posted as receipts through ``inventory.ledger``.

``files`` reads a file (and runs it from a management command), ``rows`` holds the
row loop and the checks the imports share, ``products`` and ``stock`` the two imports.
"""

from inventory.imports.files import (
    CsvImportCommand,
    ImportRefused,
    RowError,
    iter_csv,
    read_csv,
)
from inventory.imports.products import (
    PRODUCT_COLUMNS,
    PRODUCT_REQUIRED,
    ProductImportResult,
    ProductRow,
    import_products,
    validate_product_rows,
)
from inventory.imports.rows import check_rows, storable_rows
from inventory.imports.stock import (
    STOCK_COLUMNS,
    STOCK_REQUIRED,
    StockImportResult,
    StockRow,
    import_stock,
    validate_stock_rows,
)

__all__ = [
    "PRODUCT_COLUMNS",
    "PRODUCT_REQUIRED",
    "STOCK_COLUMNS",
    "STOCK_REQUIRED",
    "CsvImportCommand",
    "ImportRefused",
    "ProductImportResult",
    "ProductRow",
    "RowError",
    "StockImportResult",
    "StockRow",
    "check_rows",
    "import_products",
    "import_stock",
    "iter_csv",
    "read_csv",
    "storable_rows",
    "validate_product_rows",
    "validate_stock_rows",
]
