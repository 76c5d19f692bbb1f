from django.db import migrations

from inventory.roles import sync_roles


class Migration(migrations.Migration):
    """Let managers unlock a throttled login (django-axes' access attempts in the admin)."""

    # After axes' tables and the orders app's permissions exist, so the roles keep them.
    dependencies = [
        ("inventory", "0006_scan_lookup_indexes"),
        ("orders", "0009_scan_lookup_indexes"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
