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

VIEW_PURCHASING = [
    "orders.view_supplier",
    "orders.view_supplierproduct",
    "orders.view_purchaseorder",
    "orders.view_purchaseorderline",
    "orders.view_purchaseorderevent",
    "orders.view_receiptline",
]

MANAGE_PURCHASING = [
    *VIEW_PURCHASING,
    "orders.add_supplier",
    "orders.change_supplier",
    "orders.add_supplierproduct",
    "orders.change_supplierproduct",
    "orders.delete_supplierproduct",
    "orders.add_purchaseorder",
    "orders.change_purchaseorder",
    "orders.add_purchaseorderline",
    "orders.change_purchaseorderline",
    "orders.delete_purchaseorderline",
    "orders.send_purchaseorder",
    "orders.view_historicalsupplier",
    "orders.view_historicalsupplierproduct",
]

VIEW_SALES = [
    "orders.view_channel",
    "orders.view_channelwarehouse",
    "orders.view_salesorder",
    "orders.view_salesorderline",
    "orders.view_allocation",
    "orders.view_salesorderevent",
]

MANAGE_CHANNELS = [
    "orders.add_channel",
    "orders.change_channel",
    "orders.add_channelwarehouse",
    "orders.change_channelwarehouse",
    "orders.delete_channelwarehouse",
    "orders.view_historicalchannel",
    "orders.view_webhookdelivery",
    "orders.view_stockoutbox",
]

# Replenishment: the plan's lines, the policies behind them (draft POs come from
# MANAGE_PURCHASING).
PLAN_BUYING = [
    "planning.view_planline",
    "planning.view_planrun",
    "planning.view_policy",
    "planning.add_policy",
    "planning.change_policy",
    "planning.view_historicalpolicy",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    # Scan stations, stock lookup, receiving purchase orders and putting them away.
    "clerk": [
        *VIEW_STOCK,
        "inventory.transfer_stock",
        *VIEW_PURCHASING,
        "orders.receive_purchaseorder",
        *VIEW_SALES,
        "orders.ship_salesorder",
    ],
    # Catalog, suppliers, purchase orders, replenishment.
    "buyer": [
        *VIEW_STOCK,
        "inventory.add_product",
        "inventory.change_product",
        "inventory.add_productbarcode",
        "inventory.change_productbarcode",
        "inventory.delete_productbarcode",
        "inventory.import_data",
        *MANAGE_PURCHASING,
        *PLAN_BUYING,
        *VIEW_SALES,
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
        "inventory.view_valuation",
        *MANAGE_PURCHASING,
        *PLAN_BUYING,
        "orders.receive_purchaseorder",
        *VIEW_SALES,
        *MANAGE_CHANNELS,
        "orders.add_salesorder",
        "orders.change_salesorder",
        "orders.allocate_salesorder",
        "orders.ship_salesorder",
        # Unlock a throttled login early (admin: Axes › Access attempts).
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
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
