"""Transactions whose commit need not wait for PostgreSQL's WAL flush.

`SET LOCAL synchronous_commit TO OFF` keeps the data consistent and only risks losing the last few
hundred milliseconds of such commits if the database server itself crashes. We use it for rate-limit
counters (worthless after a crash) and the per-call ledger row with its event: on this machine a
flushed commit costs 5–8 ms, more than all the rest of the routing. SQLite (WAL, synchronous=NORMAL)
already commits without a flush.
"""

from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def unflushed_atomic():
    """transaction.atomic(); as the outermost block on PostgreSQL, its commit does not wait for the flush."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield
