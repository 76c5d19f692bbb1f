"""Every CSV import refuses every malformed file cleanly (issue 15's probe held it).

Each import command × each kind of broken file: a ``CommandError`` with a message (what
``manage.py`` prints without a traceback), and nothing written.
"""

import pytest
from django.core.management import CommandError, call_command

from inventory.models import Lot, Product, StockLevel, StockMove
from orders.models import SupplierProduct
from planning.models import ImportedDemand

# Each command with a valid header and one valid-looking row in its columns.
COMMANDS = {
    "import_products": ("sku,name", "NEW-1,New mug"),
    "import_stock": ("sku,location,lot,expires_on,quantity,unit_cost", "MUG-001,WH1-A-01,,,5,1"),
    "import_supplier_stock": ("supplier,supplier_sku,quantity", "ACME,ACME-MUG,5"),
    "import_sales": ("date,sku,quantity,channel", "2026-01-02,MUG-001,3,WEB"),
}


def malformed(header: str, row: str) -> dict[str, bytes]:
    """The broken files, each built around the command's own header and row."""
    good = f"{header}\n{row}\n"
    return {
        "empty": b"",
        "binary": bytes(range(256)) * 8,
        "latin-1": f"{good}{row.replace('1', 'é', 1)}\n".encode("latin-1"),
        "utf-16": good.encode("utf-16"),
        "nul byte": f"{good}{row}\x00\n".encode(),
        "unterminated quote": f'{good}"{row}\n{row}\n'.encode(),
        "a field past the csv module's limit": f"{good}{row}{'x' * 200_000}\n".encode(),
        "wrong columns": f"foo,bar\n1,2\n{good}".encode(),
        "header only in another separator": f"{header.replace(',', ';')}\n{row}\n".encode(),
        "gzip": b"\x1f\x8b\x08\x00" + bytes(64),
    }


def written() -> tuple[int, ...]:
    return (
        Product.objects.count(),
        Lot.objects.count(),
        StockMove.objects.count(),
        StockLevel.objects.count(),
        ImportedDemand.objects.count(),
        SupplierProduct.objects.exclude(supplier_stock=None).count(),
    )


@pytest.fixture
def shop(product, locations):
    """The rows the valid-looking lines name: a product, a bin, a supplier, a channel."""
    from orders.models import Channel, ChannelWarehouse, Supplier

    supplier = Supplier.objects.create(code="ACME", name="Acme")
    SupplierProduct.objects.create(
        supplier=supplier, product=product, supplier_sku="ACME-MUG", unit_cost=1
    )
    channel = Channel.objects.create(code="WEB", name="Web")
    ChannelWarehouse.objects.create(channel=channel, warehouse=locations["bin1"].warehouse)


CASES = [
    pytest.param(command, case, id=f"{command}-{case}")
    for command, (header, row) in COMMANDS.items()
    for case in malformed(header, row)
]


@pytest.mark.parametrize(("command", "case"), CASES)
def test_a_malformed_file_is_refused_with_a_message_and_writes_nothing(
    shop, tmp_path, command, case
):
    header, row = COMMANDS[command]
    path = tmp_path / "broken.csv"
    path.write_bytes(malformed(header, row)[case])
    before = written()
    with pytest.raises(CommandError) as refused:
        call_command(command, str(path))
    assert str(refused.value).strip(), f"{command} refused {case} without a message"
    assert written() == before


@pytest.mark.parametrize("command", COMMANDS)
def test_the_valid_file_is_taken(shop, tmp_path, command):
    """The control: the header and row the broken files are built from are good ones."""
    header, row = COMMANDS[command]
    path = tmp_path / "good.csv"
    path.write_text(f"{header}\n{row}\n")
    before = written()
    call_command(command, str(path))
    assert written() != before
