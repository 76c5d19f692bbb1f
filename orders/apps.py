from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self):
        from inventory.signals import stock_changed
        from orders.outbox import on_stock_changed

        stock_changed.connect(on_stock_changed, dispatch_uid="orders.outbox.on_stock_changed")
