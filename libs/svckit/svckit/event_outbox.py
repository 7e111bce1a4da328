"""A transactional outbox for events: the event row is written in the transaction that makes
the change, and a relay publishes it as a CloudEvent (binary mode) with publisher confirms.

A row is marked published only after the broker confirmed it; a relay that dies in between
leaves its lease to run out and the event is published again (same event id, so consumers
drop the copy). The row's position orders the service's event log.
"""
from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cloudevents.core.bindings import rabbitmq as ce_rabbitmq
from cloudevents.core.v1.event import CloudEvent
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Text, bindparam, update
from sqlalchemy.engine import Connection, Engine

from svckit.amqp import ConfirmingPublisher, Message, PublishError
from svckit.claims import Claim
from svckit.clock import Clock
from svckit.db import insert_into, write_transaction
from svckit.logs import get_logger
from svckit.types import UtcDateTime

log = get_logger(__name__)

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a bigint identity.
Position = BigInteger().with_variant(Integer(), "sqlite")


def event_outbox_table(metadata: MetaData, name: str = "event_outbox") -> Table:
    return Table(
        name, metadata,
        Column("position", Position, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("type", String(120), nullable=False),
        Column("source", String(120), nullable=False),
        Column("subject", String(120), nullable=False),
        Column("routing_key", String(120), nullable=False),
        Column("data", Text, nullable=False),
        Column("occurred_at", UtcDateTime(), nullable=False),
        Column("published_at", UtcDateTime(), nullable=True, index=True),
        Column("claimed_until", UtcDateTime(), nullable=True),
        Column("attempts", Integer, nullable=False, default=0),
    )


@dataclass(frozen=True)
class OutboundEvent:
    type: str            # pe.consent.granted.v1
    source: str          # /pe-insight/consent
    subject: str         # the resource id
    routing_key: str     # consent.granted
    data: dict
    occurred_at: datetime
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def add_event(connection: Connection, table: Table, event: OutboundEvent) -> int:
    """Write the event in the caller's transaction; answer its position in the log."""
    result = connection.execute(insert_into(table), dict(
        event_id=event.event_id, type=event.type, source=event.source, subject=event.subject,
        routing_key=event.routing_key, data=json.dumps(event.data, sort_keys=True),
        occurred_at=event.occurred_at, attempts=0))
    return result.inserted_primary_key[0]


def to_message(row) -> Message:
    """The outbox row as a RabbitMQ message in CloudEvents binary mode."""
    event = CloudEvent(attributes={
        "id": row.event_id, "source": row.source, "type": row.type, "subject": row.subject,
        "time": row.occurred_at, "datacontenttype": "application/json", "specversion": "1.0",
    }, data=json.loads(row.data))
    binary = ce_rabbitmq.to_binary_event(event)
    return Message(routing_key=row.routing_key, body=binary.body, headers=binary.headers,
                   content_type=binary.content_type or "application/json", message_id=row.event_id)


class RelayMetrics:
    def __init__(self, registry: CollectorRegistry, service: str):
        self.published = Counter(f"pe_{service}_events_published_total",
                                 "Events confirmed by the broker.", ("type",), registry=registry)
        self.failed = Counter(f"pe_{service}_event_publish_failures_total",
                              "Publish attempts the broker did not confirm; retried.", registry=registry)


class EventRelay:
    def __init__(self, engine: Engine, table: Table, publisher: ConfirmingPublisher, exchange: str,
                 clock: Clock, *, metrics: RelayMetrics | None = None, poll_seconds: float = 0.2,
                 batch: int = 100, lease_seconds: float = 30.0):
        self._engine, self._table, self._publisher = engine, table, publisher
        self._exchange, self._clock, self._metrics = exchange, clock, metrics
        self._poll, self._batch, self._lease = poll_seconds, batch, timedelta(seconds=lease_seconds)
        self._stopping = threading.Event()
        self._wake = threading.Event()
        # A pass runs these three several hundred times a second under load: built once.
        self._claim = Claim(table, due=table.c.published_at.is_(None), order_by=table.c.position)
        positions = table.c.position.in_(bindparam("positions", expanding=True))
        self._mark_published = update(table).where(positions).values(
            published_at=bindparam("published_at"), claimed_until=None, attempts=table.c.attempts + 1)
        self._release = update(table).where(positions).values(claimed_until=None)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def wake(self) -> None:
        """Something was just committed: look now instead of at the next poll."""
        self._wake.set()

    def run(self) -> None:
        backoff = self._poll
        while not self._stopping.is_set():
            # Cleared before the pass looks, so a commit made while it runs wakes the next one at
            # once; a commit made before is already visible to this pass.
            self._wake.clear()
            try:
                published = self.publish_due()
                backoff = self._poll
            except PublishError as error:
                log.warning("event publish failed, will retry", error=str(error), retry_in_seconds=backoff)
                if self._metrics:
                    self._metrics.failed.inc()
                published, backoff = 0, min(backoff * 2, 10.0)
            except Exception:  # the database went away for a moment: keep the rows, try again
                log.exception("event relay pass failed")
                published, backoff = 0, min(backoff * 2, 10.0)
            if published < self._batch:  # a full batch may have left more behind: look again at once
                self._wake.wait(backoff)

    def publish_due(self) -> int:
        """One pass: publish what is waiting, in log order; answer how many were published.

        The rows published in a pass are marked in one transaction at its end (with the release
        of any left over), so the relay takes the write lock twice a pass, not once a row.
        """
        rows = self._due_rows()
        published: list = []
        try:
            outcomes = self._publisher.publish_batch(self._exchange, [to_message(row) for row in rows])
            published = [row for row, problem in zip(rows, outcomes) if problem is None]
            for problem in {problem for problem in outcomes if problem}:
                log.warning("event not confirmed, will retry", problem=problem)
        finally:
            done = {row.position for row in published}
            self._settle(sorted(done), [row.position for row in rows if row.position not in done])
        if self._metrics:
            for row in published:
                self._metrics.published.labels(row.type).inc()
        if len(published) < len(rows):
            raise PublishError(f"{len(rows) - len(published)} of {len(rows)} events were not confirmed")
        return len(published)

    def _due_rows(self) -> list:
        with write_transaction(self._engine) as connection:
            return self._claim(connection, now=self._clock.now(), lease=self._lease, limit=self._batch)

    def _settle(self, published: list[int], unpublished: list[int]) -> None:
        """Mark what the broker confirmed as published, and free the rest for the next pass."""
        if not published and not unpublished:
            return
        with write_transaction(self._engine) as connection:
            if published:
                connection.execute(self._mark_published, {"positions": published, "published_at": self._clock.now()})
            if unpublished:
                connection.execute(self._release, {"positions": unpublished})
