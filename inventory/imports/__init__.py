"""CSV imports of products and opening stock: validate every row, then write all or nothing.

Both imports check every row (reporting each bad row with its line in the file, the
header being line 1), and write nothing unless every row is good. The writes run in
one transaction, so a failure half-way leaves no trace. Opening stock is posted as
receipts through ``inventory.ledger``.

The product import is built for files of hundreds of thousands of rows (issue 15):
it reads the file as it goes, twice. The first reading checks it in chunks with reads
only, outside any transaction, because SQLite's IMMEDIATE transactions take the write
lock at BEGIN and would lock every other writer out while a large file is checked.
The second writes, in bulk and in one transaction, only the rows the first found
creating or changing a product (none: no transaction at all): all or nothing, so it is
the one time other writers wait (measured on a 2-core machine at load 6: 23 s for
663,656 new products, 35 s for 663,656 changed prices; committing batch by batch
would shorten it but leave half a file behind on a failure). ``bench.imports``
measures it. ``uploads`` runs the import of a file uploaded from the web as a task.

``files`` reads a file (and runs it from a management command), ``rows`` holds the
row loop and the checks the imports share, ``products`` (with ``product_writes``) and
``stock`` the two imports.
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
