"""The orders app's models: purchasing, sales and channels (the layer below all three).

Every model is re-exported here, so ``from orders.models import X`` works and
Django finds them under the ``orders`` app label.
"""

from orders.models.channels import Channel, ChannelWarehouse, StockOutbox, WebhookDelivery
from orders.models.purchasing import (
    PurchaseOrder,
    PurchaseOrderEmailAttempt,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    ReceiptLine,
    Supplier,
    SupplierProduct,
)
from orders.models.sales import Allocation, SalesOrder, SalesOrderEvent, SalesOrderLine

__all__ = [
    "Allocation",
    "Channel",
    "ChannelWarehouse",
    "PurchaseOrder",
    "PurchaseOrderEmailAttempt",
    "PurchaseOrderEvent",
    "PurchaseOrderLine",
    "ReceiptLine",
    "SalesOrder",
    "SalesOrderEvent",
    "SalesOrderLine",
    "StockOutbox",
    "Supplier",
    "SupplierProduct",
    "WebhookDelivery",
]
