"""Each balance row carries its lot's expiry, kept by triggers.

What a channel may sell sums a page of products' balance rows; reading each row's lot
for its expiry was most of that read (a B-tree lookup per row, ~5,000 per page of the
feed). The copy is written by the database itself, so every way a row or a lot is
written keeps it: the ledger's raw inserts, the admin, a queryset ``update()``.
"""

from django.db import migrations, models

POSTGRES_TRIGGERS = """
CREATE FUNCTION stock_level_lot_expiry() RETURNS trigger AS $$
BEGIN
    IF NEW.lot_id IS NULL THEN
        NEW.lot_expires_on := NULL;
    ELSE
        SELECT expires_on INTO NEW.lot_expires_on FROM inventory_lot WHERE id = NEW.lot_id;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER stock_level_lot_expiry_insert
    BEFORE INSERT ON inventory_stocklevel
    FOR EACH ROW EXECUTE FUNCTION stock_level_lot_expiry();

CREATE TRIGGER stock_level_lot_expiry_update
    BEFORE UPDATE OF lot_id, lot_expires_on ON inventory_stocklevel
    FOR EACH ROW
    WHEN (NEW.lot_id IS DISTINCT FROM OLD.lot_id
          OR NEW.lot_expires_on IS DISTINCT FROM OLD.lot_expires_on)
    EXECUTE FUNCTION stock_level_lot_expiry();

CREATE FUNCTION lot_expiry_to_stock_levels() RETURNS trigger AS $$
BEGIN
    UPDATE inventory_stocklevel SET lot_expires_on = NEW.expires_on WHERE lot_id = NEW.id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER lot_expiry_to_stock_levels
    AFTER UPDATE OF expires_on ON inventory_lot
    FOR EACH ROW WHEN (NEW.expires_on IS DISTINCT FROM OLD.expires_on)
    EXECUTE FUNCTION lot_expiry_to_stock_levels();
"""

POSTGRES_DROP = """
DROP TRIGGER IF EXISTS lot_expiry_to_stock_levels ON inventory_lot;
DROP TRIGGER IF EXISTS stock_level_lot_expiry_update ON inventory_stocklevel;
DROP TRIGGER IF EXISTS stock_level_lot_expiry_insert ON inventory_stocklevel;
DROP FUNCTION IF EXISTS lot_expiry_to_stock_levels();
DROP FUNCTION IF EXISTS stock_level_lot_expiry();
"""

# SQLite cannot assign NEW in a BEFORE trigger: the row is corrected right after.
SQLITE_EXPIRY = "(SELECT expires_on FROM inventory_lot WHERE id = NEW.lot_id)"
SQLITE_TRIGGERS = [
    f"""
    CREATE TRIGGER stock_level_lot_expiry_insert
        AFTER INSERT ON inventory_stocklevel
        FOR EACH ROW WHEN NEW.lot_expires_on IS NOT {SQLITE_EXPIRY}
    BEGIN
        UPDATE inventory_stocklevel SET lot_expires_on = {SQLITE_EXPIRY} WHERE id = NEW.id;
    END
    """,
    f"""
    CREATE TRIGGER stock_level_lot_expiry_update
        AFTER UPDATE OF lot_id, lot_expires_on ON inventory_stocklevel
        FOR EACH ROW WHEN NEW.lot_expires_on IS NOT {SQLITE_EXPIRY}
    BEGIN
        UPDATE inventory_stocklevel SET lot_expires_on = {SQLITE_EXPIRY} WHERE id = NEW.id;
    END
    """,
    """
    CREATE TRIGGER lot_expiry_to_stock_levels
        AFTER UPDATE OF expires_on ON inventory_lot
        FOR EACH ROW WHEN NEW.expires_on IS NOT OLD.expires_on
    BEGIN
        UPDATE inventory_stocklevel SET lot_expires_on = NEW.expires_on WHERE lot_id = NEW.id;
    END
    """,
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS lot_expiry_to_stock_levels",
    "DROP TRIGGER IF EXISTS stock_level_lot_expiry_update",
    "DROP TRIGGER IF EXISTS stock_level_lot_expiry_insert",
]

COPY = """
UPDATE inventory_stocklevel
SET lot_expires_on = (SELECT expires_on FROM inventory_lot WHERE id = inventory_stocklevel.lot_id)
WHERE lot_id IS NOT NULL
"""


def _run(schema_editor, statements):
    with schema_editor.connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, [POSTGRES_TRIGGERS, COPY])
    elif vendor == "sqlite":
        _run(schema_editor, [*SQLITE_TRIGGERS, COPY])
    else:  # pragma: no cover - only the two databases are supported
        raise RuntimeError(f"No lot expiry triggers for {vendor}")


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    _run(schema_editor, [POSTGRES_DROP] if vendor == "postgresql" else SQLITE_DROP)


def analyze(apps, schema_editor):
    """Statistics for the new index (SQLite only when the database had any)."""
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":
            cursor.execute("ANALYZE inventory_stocklevel")
            return
        cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone():
            cursor.execute("ANALYZE inventory_stocklevel")


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0016_product_import_heartbeat"),
        ("warehouses", "0001_initial"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="stocklevel", name="stock_level_feed_idx"),
        migrations.AddField(
            model_name="stocklevel",
            name="lot_expires_on",
            field=models.DateField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
        migrations.AddIndex(
            model_name="stocklevel",
            index=models.Index(
                fields=[
                    "product",
                    "location",
                    "lot",
                    "on_hand",
                    "committed",
                    "updated_at",
                    "lot_expires_on",
                ],
                name="stock_level_feed_idx",
            ),
        ),
        migrations.RunPython(analyze, migrations.RunPython.noop, elidable=True),
    ]
