# Joins main's 0007 (roles) and i15-input's 0007 (SKU case); no operations.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0007_roles_unlock_logins"),
        ("inventory", "0007_sku_unique_ignoring_case"),
    ]

    operations = []
