"""Signals the ledger sends inside its transaction."""

from django.dispatch import Signal

# Sent by a ledger operation, inside its transaction, when the units that can be
# promised (on hand − committed in sellable locations) may have changed for
# ``product`` in the warehouses ``warehouse_ids``. Receivers write in the same
# transaction (the channel outbox), so the change and its notice commit together.
stock_changed = Signal()
