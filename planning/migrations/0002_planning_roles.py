"""Give buyers and managers the planning permissions (inventory.roles.PLAN_BUYING)."""

from django.db import migrations

from inventory.roles import sync_roles


class Migration(migrations.Migration):
    dependencies = [
        ("planning", "0001_initial"),
        ("orders", "0009_scan_lookup_indexes"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
