from django.db import migrations

from inventory.roles import sync_roles


class Migration(migrations.Migration):
    """Give the roles their channel and sales order permissions."""

    dependencies = [("orders", "0003_channels_sales_orders_webhooks")]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
