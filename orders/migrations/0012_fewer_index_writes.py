"""Fewer index writes per order: redundant and mostly-empty key indexes.

The sales line's product index repeated the first column of so_line_product_idx; an
allocation's lot and an outbox row's delivery are mostly empty (an outbox row is
written undelivered) and are indexed only where set (partial ``IS NOT NULL`` indexes).

The fields change in the migration state only: Django's SQLite editor would rebuild
the tables to change ``db_index``, dropping the sales lines' total triggers (migration
0011). The old indexes are dropped by name.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0018_fewer_index_writes"),
        ("orders", "0011_sales_order_totals"),
        ("warehouses", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="allocation",
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
                    model_name="salesorderline",
                    name="product",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="sales_lines",
                        to="inventory.product",
                    ),
                ),
                migrations.AlterField(
                    model_name="stockoutbox",
                    name="delivery",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="items",
                        to="orders.webhookdelivery",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "orders_allocation_lot_id_abbd4cf3"',
                    'CREATE INDEX "orders_allocation_lot_id_abbd4cf3" ON "orders_allocation" ("lot_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "orders_salesorderline_product_id_8417950d"',
                    'CREATE INDEX "orders_salesorderline_product_id_8417950d" ON "orders_salesorderline" ("product_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "orders_stockoutbox_delivery_id_63053f96"',
                    'CREATE INDEX "orders_stockoutbox_delivery_id_63053f96" ON "orders_stockoutbox" ("delivery_id")',
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="allocation",
            index=models.Index(
                condition=models.Q(("lot__isnull", False)),
                fields=["lot"],
                name="allocation_lot_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="stockoutbox",
            index=models.Index(
                condition=models.Q(("delivery__isnull", False)),
                fields=["delivery"],
                name="outbox_delivery_idx",
            ),
        ),
    ]
