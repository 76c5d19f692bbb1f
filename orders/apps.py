from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self):
        # Imported here, not at the top: an app's models and services may only be
        # imported once the app registry is ready.
        from django.db.models.signals import post_save, pre_save

        from inventory import selectors as stock_selectors
        from inventory.signals import stock_changed, stock_changed_many
        from orders.channels import outbox
        from orders.purchasing.selectors import incoming_by_product
        from orders.sales import tasks as sales_tasks

        # Stock pages show what is on order; purchasing knows it.
        stock_selectors.set_incoming_reader(incoming_by_product)

        stock_changed.connect(
            outbox.on_stock_changed, dispatch_uid="orders.channels.outbox.on_stock_changed"
        )
        # Units freed by any ledger change go to orders waiting for them, oldest first.
        stock_changed.connect(
            sales_tasks.on_stock_changed, dispatch_uid="orders.sales.tasks.on_stock_changed"
        )
        # The same for a batch of products (an order's reservations), in one statement each.
        stock_changed_many.connect(
            outbox.on_stock_changed_many,
            dispatch_uid="orders.channels.outbox.on_stock_changed_many",
        )
        stock_changed_many.connect(
            sales_tasks.on_stock_changed_many,
            dispatch_uid="orders.sales.tasks.on_stock_changed_many",
        )
        # A location that stops (or starts) being sellable changes available-to-sell
        # without a ledger call.
        pre_save.connect(
            outbox.remember_location,
            sender="warehouses.Location",
            dispatch_uid="orders.channels.outbox.remember_location",
        )
        post_save.connect(
            outbox.on_location_saved,
            sender="warehouses.Location",
            dispatch_uid="orders.channels.outbox.on_location_saved",
        )
