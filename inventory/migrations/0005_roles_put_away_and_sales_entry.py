from django.db import migrations

from inventory.roles import sync_roles


class Migration(migrations.Migration):
    """Let clerks move stock (put away what they receive) and managers enter sales orders."""

    # After the orders app's permissions exist, so the roles keep them.
    dependencies = [
        ("inventory", "0004_valuation_permission"),
        ("orders", "0008_sales_order_carrier_tracking"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
