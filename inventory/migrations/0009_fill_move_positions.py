"""Fill the position after each move (units, FIFO value, moving average) for existing ledgers.

One pass over the moves in (product, posting order), the same arithmetic as
``inventory.ledger.position`` (copied here so the migration keeps its meaning), and
UPDATEs in batches. Moves posted after this migration get their position from the
ledger's insert.
"""

from decimal import ROUND_HALF_UP, Decimal

from django.db import migrations

PLACES = Decimal("0.000001")
BATCH = 5000


def _updates(moves):
    product, units, value, average = None, 0, Decimal("0"), Decimal("0")
    previous = None
    rows = moves.order_by("product_id", "id").values_list(
        "pk",
        "product_id",
        "quantity",
        "from_location_id",
        "to_location_id",
        "total_cost",
        "created_at",
    )
    for pk, product_id, quantity, from_id, to_id, total_cost, at in rows.iterator(
        chunk_size=BATCH
    ):
        if product_id != product:
            product, units, value, average = product_id, 0, Decimal("0"), Decimal("0")
            previous = None
        backdated = previous is not None and at < previous
        previous = at
        cost = Decimal(total_cost or 0)
        if from_id is None:
            base = cost if units <= 0 else units * average + cost
            average = (base / (quantity if units <= 0 else units + quantity)).quantize(
                PLACES, ROUND_HALF_UP
            )
            units, value = units + quantity, value + cost
        elif to_id is None:
            units, value = units - quantity, value - cost
        yield units, value, average, backdated, pk


def fill(apps, schema_editor):
    moves = apps.get_model("inventory", "StockMove").objects.using(schema_editor.connection.alias)
    connection = schema_editor.connection
    table = connection.ops.quote_name("inventory_stockmove")
    sql = (
        f"UPDATE {table} SET units_after = %s, value_after = %s, average_cost_after = %s, "
        "backdated = %s WHERE id = %s"
    )
    adapt = connection.ops.adapt_decimalfield_value
    batch = []
    with connection.cursor() as cursor:
        for units, value, average, backdated, pk in _updates(moves):
            batch.append((units, adapt(value, 24, 6), adapt(average, 16, 6), backdated, pk))
            if len(batch) >= BATCH:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)


class Migration(migrations.Migration):
    dependencies = [("inventory", "0008_move_position")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop, elidable=True)]
