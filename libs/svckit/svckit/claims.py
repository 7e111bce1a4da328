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
    """Lease up to `limit` rows matching `due`, oldest first (`order_by`, a column); answer the rows
    this worker won, in that order.

    One statement: the UPDATE picks its rows with a subquery and answers them (RETURNING). Its own
    condition repeats `free`, which the database checks again on each row as it updates it, so of
    two workers racing for a row only the first wins it (PostgreSQL re-reads a row another
    transaction changed; SQLite has one writer at a time).
    """
    free = or_(table.c.claimed_until.is_(None), table.c.claimed_until < now)
    key = table.c[_key(table)]
    oldest_first = (order_by,) if order_by is key else (order_by, key)
    candidates = select(key).where(and_(due, free)).order_by(*oldest_first).limit(limit).scalar_subquery()
    won = connection.execute(update(table).where(key.in_(candidates), free)
                             .values(claimed_until=now + lease).returning(*table.c)).all()
    return sorted(won, key=lambda row: tuple(row._mapping[column] for column in oldest_first))


def _key(table: Table) -> str:
    return next(iter(table.primary_key.columns)).name
