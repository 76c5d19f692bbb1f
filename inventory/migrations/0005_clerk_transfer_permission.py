from django.db import migrations

from inventory.roles import sync_roles


class Migration(migrations.Migration):
    """Let clerks move stock, so they can put away what they receive."""

    # After the orders app's permissions exist, so the roles keep them.
    dependencies = [
        ("inventory", "0004_valuation_permission"),
        ("orders", "0006_channel_sequence_and_settings_time"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
