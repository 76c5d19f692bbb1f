"""Fewer index writes per reservation: keys that are mostly empty indexed where set.

Every order taken in writes reservation entries. A reservation has no move, an API
order no user and most products no lot, yet each entry wrote an index entry for each
of those empty keys; the document type's own index repeated the first column of
reservation_document_idx, and the balance row's location index that of
stock_level_location_idx. Those indexes go; partial ones (``IS NOT NULL``) replace the
first three: a lookup by key (a PROTECT check on delete) implies the key is set.

The fields change in the migration state only: Django's SQLite editor would rebuild
the tables to change ``db_index`` — slow on a large journal, and dropping the balance
rows' lot expiry triggers (migration 0017). The old indexes are dropped by name.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("inventory", "0017_stock_level_lot_expiry"),
        ("warehouses", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="reservationentry",
                    name="document_type",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="contenttypes.contenttype",
                    ),
                ),
                migrations.AlterField(
                    model_name="reservationentry",
                    name="lot",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="inventory.lot",
                    ),
                ),
                migrations.AlterField(
                    model_name="reservationentry",
                    name="move",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="inventory.stockmove",
                    ),
                ),
                migrations.AlterField(
                    model_name="reservationentry",
                    name="user",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="stocklevel",
                    name="location",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="stock_levels",
                        to="warehouses.location",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "inventory_reservationentry_document_type_id_2cd5e1c4"',
                    'CREATE INDEX "inventory_reservationentry_document_type_id_2cd5e1c4" ON "inventory_reservationentry" ("document_type_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "inventory_reservationentry_lot_id_8d9c2120"',
                    'CREATE INDEX "inventory_reservationentry_lot_id_8d9c2120" ON "inventory_reservationentry" ("lot_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "inventory_reservationentry_move_id_dd8d2f5c"',
                    'CREATE INDEX "inventory_reservationentry_move_id_dd8d2f5c" ON "inventory_reservationentry" ("move_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "inventory_reservationentry_user_id_ec7713ef"',
                    'CREATE INDEX "inventory_reservationentry_user_id_ec7713ef" ON "inventory_reservationentry" ("user_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "inventory_stocklevel_location_id_14713b21"',
                    'CREATE INDEX "inventory_stocklevel_location_id_14713b21" ON "inventory_stocklevel" ("location_id")',
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="reservationentry",
            index=models.Index(
                condition=models.Q(("move__isnull", False)),
                fields=["move"],
                name="reservation_move_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="reservationentry",
            index=models.Index(
                condition=models.Q(("lot__isnull", False)),
                fields=["lot"],
                name="reservation_lot_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="reservationentry",
            index=models.Index(
                condition=models.Q(("user__isnull", False)),
                fields=["user"],
                name="reservation_user_idx",
            ),
        ),
    ]
