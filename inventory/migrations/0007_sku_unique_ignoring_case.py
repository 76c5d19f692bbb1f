# SKUs unique ignoring case (issue 15): refuse to migrate, naming them, if existing
# products differ only in the case of their SKU; nothing is merged or renamed here.

import django.db.models.functions.text
from django.db import migrations, models
from django.db.models import Count
from django.db.models.functions import Upper


def refuse_case_duplicates(apps, schema_editor):
    Product = apps.get_model("inventory", "Product")
    clashes = (
        Product.objects.annotate(key=Upper("sku"))
        .values("key")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("key", flat=True)
    )
    groups = []
    for key in clashes:
        skus = Product.objects.annotate(key=Upper("sku")).filter(key=key).order_by("sku")
        groups.append(", ".join(skus.values_list("sku", flat=True)))
    if groups:
        raise RuntimeError(
            "SKUs must now be unique ignoring case, but these products differ only in case: "
            + "; ".join(groups)
            + ". Nothing was changed: rename (or merge) them in the admin with the previous "
            "release, then migrate again."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0006_scan_lookup_indexes"),
    ]

    operations = [
        migrations.RunPython(refuse_case_duplicates, migrations.RunPython.noop),
        migrations.RemoveIndex(
            model_name="product",
            name="product_sku_upper_idx",
        ),
        migrations.AddConstraint(
            model_name="product",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Upper("sku"),
                name="product_sku_unique_ignoring_case",
                violation_error_message="Another product has this SKU in another case "
                "(SKUs ignore case).",
            ),
        ),
    ]
