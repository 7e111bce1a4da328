"""Claiming rows for background work, safe with several replicas on PostgreSQL and SQLite alike.

A worker leases a batch by setting `claimed_until` on rows whose lease is free or has run
out; the conditional UPDATE makes exactly one worker win each row. A worker that dies
mid-batch simply lets its lease run out, and another picks the rows up.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Table, and_, or_, select, update
from sqlalchemy.engine import Connection


def claim_due(connection: Connection, table: Table, *, now: datetime, lease: timedelta, limit: int,
              due, order_by) -> list:
    """Lease up to `limit` rows matching `due`, oldest first; answer the rows this worker won."""
    free = or_(table.c.claimed_until.is_(None), table.c.claimed_until < now)
    candidates = connection.execute(
        select(table.c[_key(table)]).where(and_(due, free)).order_by(order_by).limit(limit)).scalars().all()
    won = []
    key = table.c[_key(table)]
    for candidate in candidates:
        result = connection.execute(update(table).where(and_(key == candidate, free))
                                    .values(claimed_until=now + lease))
        if result.rowcount == 1:
            won.append(candidate)
    if not won:
        return []
    return connection.execute(select(table).where(key.in_(won)).order_by(order_by)).all()


def _key(table: Table) -> str:
    return next(iter(table.primary_key.columns)).name
