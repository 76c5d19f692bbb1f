from django.db import migrations

from inventory.roles import sync_roles


class Migration(migrations.Migration):
    """Let the manager role enter sales orders by hand (orders.add_salesorder)."""

    dependencies = [
        ("inventory", "0004_valuation_permission"),
        ("orders", "0007_sales_order_carrier_tracking"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
