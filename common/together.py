"""Writes whose results nobody reads at once, sent to PostgreSQL as one statement.

A sales order's last writes (the ledger's reservation entries and balance update, the
channel outbox, the allocations, the status events) are five small statements: each
costs a round trip and, on both sides of it, more CPU than the server spends writing
its rows. Inside ``writes_together()`` a caller hands such a write to ``write()``; on
PostgreSQL it waits, and when the block ends all waiting writes go as one statement
of data-modifying ``WITH`` queries, prepared once per connection like the others::

    WITH w0 AS (INSERT …), w1 AS (UPDATE …), w2 AS (INSERT … RETURNING channel_id)
    SELECT 2, w2.* FROM w2

PostgreSQL runs every part to completion against one snapshot, so the parts must not
depend on each other: a write to a table some waiting write already touches sends the
waiting ones first. A write is a statement its caller would have run at that point;
the block runs inside the caller's transaction, and an exception leaving the block
drops what waits and marks the transaction to roll back (it must not commit without
them). Outside the block, and on SQLite (no
data-modifying ``WITH``; no round trip to save), ``write()`` runs the statement at once.

The block is for writes only: a read inside it does not see what waits.
"""

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from common.compiled import preparing_cursor

# PostgreSQL's protocol takes at most 65,535 parameters in one statement.
MAX_PARAMS = 30_000


@dataclass
class _Write:
    sql: str
    params: list
    table: str
    on_rows: Callable[[list], None] | None


@dataclass
class _Batch:
    writes: list[_Write] = field(default_factory=list)
    params: int = 0

    def touches(self, table: str) -> bool:
        return any(w.table == table for w in self.writes)


_ATTRIBUTE = "_stockroom_writes_together"


@contextmanager
def writes_together(using: str = DEFAULT_DB_ALIAS):
    """Send the ``write()`` calls of the block to PostgreSQL as one statement at its end.

    Must run inside an atomic block; nested blocks join the outer one.
    """
    connection = connections[using]
    if connection.vendor != "postgresql" or getattr(connection, _ATTRIBUTE, None) is not None:
        yield
        return
    if not connection.in_atomic_block:
        raise RuntimeError("writes_together() runs inside the transaction it writes in")
    batch = _Batch()
    setattr(connection, _ATTRIBUTE, batch)
    try:
        yield
    except BaseException:
        setattr(connection, _ATTRIBUTE, None)
        if batch.writes:
            # Writes the caller made are lost: the transaction must not commit without them.
            transaction.set_rollback(True, using=using)
        raise
    setattr(connection, _ATTRIBUTE, None)
    _send(connection, batch.writes)


def write(
    sql: str,
    params: list,
    *,
    table: str,
    on_rows: Callable[[list], None] | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> None:
    """Run ``sql`` (an INSERT or UPDATE of ``table``) now, or at the end of the block.

    ``on_rows`` receives the first column of the rows its ``RETURNING`` clause gives (a
    statement with ``on_rows`` returns exactly one column).
    """
    connection = connections[using]
    batch = getattr(connection, _ATTRIBUTE, None)
    entry = _Write(sql, list(params), table, on_rows)
    if batch is None:
        _send(connection, [entry])
        return
    if batch.touches(table) or batch.params + len(entry.params) > MAX_PARAMS:
        # One snapshot for all parts: a second write of a table would not see the first.
        waiting, batch.writes, batch.params = batch.writes, [], 0
        _send(connection, waiting)
    batch.writes.append(entry)
    batch.params += len(entry.params)


def _send(connection, writes: list[_Write]) -> None:
    if not writes:
        return
    if len(writes) == 1:
        (only,) = writes
        with preparing_cursor(connection) as cursor:
            cursor.execute(only.sql, only.params)
            if only.on_rows is not None:
                only.on_rows([row[0] for row in cursor.fetchall()])
        return
    parts = ", ".join(f"w{index} AS ({w.sql})" for index, w in enumerate(writes))
    answers = [
        f"SELECT {index}, w{index}.* FROM w{index}"
        for index, w in enumerate(writes)
        if w.on_rows is not None
    ]
    main = " UNION ALL ".join(answers) if answers else "SELECT 0, 0 WHERE false"
    with preparing_cursor(connection) as cursor:
        cursor.execute(f"WITH {parts} {main}", [p for w in writes for p in w.params])
        rows = cursor.fetchall()
    for index, w in enumerate(writes):
        if w.on_rows is not None:
            w.on_rows([value for part, value in rows if part == index])
