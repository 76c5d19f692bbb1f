from django.db import migrations

from inventory.roles import sync_roles


class Migration(migrations.Migration):
    """Give the roles their purchasing and valuation permissions."""

    dependencies = [
        ("orders", "0001_initial"),
        ("inventory", "0004_valuation_permission"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
