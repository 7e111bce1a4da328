"""Claiming rows for background work, safe with several replicas on PostgreSQL and SQLite alike.

A worker leases a batch by setting `claimed_until` on rows whose lease is free or has run
out; the conditional UPDATE makes exactly one worker win each row. A worker that dies
mid-batch simply lets its lease run out, and another picks the rows up.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Integer, Table, and_, bindparam, or_, select, update
from sqlalchemy.engine import Connection


class Claim:
    """Leasing rows of `table` that match `due`, oldest first (`order_by`, a column): the
    statement built once, as a worker that claims many times a second should not pay for
    building it on every pass.

    One statement: the UPDATE picks its rows with a subquery and answers them (RETURNING). Its own
    condition repeats `free`, which the database checks again on each row as it updates it, so of
    two workers racing for a row only the first wins it (PostgreSQL re-reads a row another
    transaction changed; SQLite has one writer at a time). `due` may compare with
    `bindparam("claim_now")`, the moment of the claim.
    """

    def __init__(self, table: Table, *, due, order_by):
        now = bindparam("claim_now")
        free = or_(table.c.claimed_until.is_(None), table.c.claimed_until < now)
        key = table.c[_key(table)]
        self._oldest_first = (order_by,) if order_by is key else (order_by, key)
        candidates = (select(key).where(and_(due, free)).order_by(*self._oldest_first)
                      .limit(bindparam("claim_limit", type_=Integer)).scalar_subquery())
        self._statement = (update(table).where(key.in_(candidates), free)
                           .values(claimed_until=bindparam("claim_until")).returning(*table.c))

    def __call__(self, connection: Connection, *, now: datetime, lease: timedelta, limit: int) -> list:
        """Lease up to `limit` due rows; answer the rows this worker won, oldest first."""
        won = connection.execute(self._statement,
                                 {"claim_now": now, "claim_until": now + lease, "claim_limit": limit}).all()
        return sorted(won, key=lambda row: tuple(row._mapping[column] for column in self._oldest_first))


def _key(table: Table) -> str:
    return next(iter(table.primary_key.columns)).name
