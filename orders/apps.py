from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self):
        from django.db.models.signals import post_save, pre_save

        from inventory.signals import stock_changed
        from orders import sales
        from orders.outbox import on_location_saved, on_stock_changed, remember_location

        stock_changed.connect(on_stock_changed, dispatch_uid="orders.outbox.on_stock_changed")
        # Units freed by any ledger change go to orders waiting for them, oldest first.
        stock_changed.connect(sales.on_stock_changed, dispatch_uid="orders.sales.on_stock_changed")
        # A location that stops (or starts) being sellable changes available-to-sell
        # without a ledger call.
        pre_save.connect(
            remember_location,
            sender="warehouses.Location",
            dispatch_uid="orders.outbox.remember_location",
        )
        post_save.connect(
            on_location_saved,
            sender="warehouses.Location",
            dispatch_uid="orders.outbox.on_location_saved",
        )
