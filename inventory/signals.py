"""Signals the ledger sends inside its transaction."""

from django.dispatch import Signal

# Sent by a ledger operation, inside its transaction, when the units that can be
# promised (on hand − committed in sellable locations) may have changed for
# ``product`` in the warehouses ``warehouse_ids``. Receivers write in the same
# transaction (the channel outbox), so the change and its notice commit together.
# ``increased`` is true when units may have become free (receipt, release, stock moved
# into a sellable place): orders waiting for the product may be served.
stock_changed = Signal()

# The same news for a batch of products at once (``inventory.ledger.batch``), so that a
# receiver can write its rows in one statement: ``changes`` is a list of
# ``(product, warehouse_ids, increased)``. A receiver of ``stock_changed`` handles this
# one too.
stock_changed_many = Signal()
