"""The staff roles and the permissions each one holds."""

VIEW_STOCK = [
    "inventory.view_product",
    "inventory.view_productbarcode",
    "inventory.view_lot",
    "inventory.view_stocklevel",
    "inventory.view_stockmove",
    "warehouses.view_warehouse",
    "warehouses.view_location",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    # Scan stations and stock lookup.
    "clerk": VIEW_STOCK,
    # Catalog, suppliers, purchase orders, replenishment.
    "buyer": [
        *VIEW_STOCK,
        "inventory.add_product",
        "inventory.change_product",
        "inventory.add_productbarcode",
        "inventory.change_productbarcode",
        "inventory.delete_productbarcode",
        "inventory.import_data",
    ],
    # Everything in the back office, including adjustments and valuation.
    "manager": [
        *VIEW_STOCK,
        "inventory.add_product",
        "inventory.change_product",
        "inventory.add_productbarcode",
        "inventory.change_productbarcode",
        "inventory.delete_productbarcode",
        "inventory.add_lot",
        "inventory.change_lot",
        "inventory.view_costlayer",
        "inventory.view_reservationentry",
        "inventory.adjust_stock",
        "inventory.transfer_stock",
        "inventory.import_data",
        "inventory.view_historicalproduct",
        "warehouses.add_warehouse",
        "warehouses.change_warehouse",
        "warehouses.add_location",
        "warehouses.change_location",
        "warehouses.view_historicalwarehouse",
        "warehouses.view_historicallocation",
    ],
}


def sync_roles(apps, schema_editor=None) -> None:
    """Create the role groups and give each exactly its permissions (a data migration step)."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        # Migration state apps have no models module; create_permissions skips those.
        saved = getattr(app_config, "models_module", None)
        app_config.models_module = saved or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = saved

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = []
        for name in names:
            app_label, codename = name.split(".")
            permission = permission_model.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is not None:
                wanted.append(permission)
        group.permissions.set(wanted)
