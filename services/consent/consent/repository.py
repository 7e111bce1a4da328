"""Persistence of the consent service (SQLAlchemy 2 Core). Its tables are its own.

Every write goes through `ConsentStore.writing()`, which serialises writers: on PostgreSQL with a
transaction-scoped advisory lock, on SQLite with BEGIN IMMEDIATE. Serial writers make the event
log's positions become visible in order and without gaps: a reader that sees position N+1 has
already been able to see N.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import (BigInteger, Column, Date, Index, Integer, MetaData, String, Table, Text, and_,
                        bindparam, func, insert, literal_column, or_, select, text, true, update)
from sqlalchemy.engine import Connection, Engine

from svckit.db import insert_into, write_transaction
from svckit.event_outbox import Position, add_event, event_outbox_table
from svckit.mail_outbox import OutgoingMail, enqueue_mail, mail_outbox_table
from svckit.types import UtcDateTime

from consent import events
from consent.access_check import AccessQuery, access_engine
from consent.domain import Addressee, ChangeKind, Consent, ConsentChanged, Reason, State

# Any constant will do, as long as only consent writers use it in this database.
WRITE_LOCK_KEY = 0x5045_436F_6E73  # "PEConsent"-ish

metadata = MetaData()

consents = Table(
    "consents", metadata,
    Column("consent_id", String(36), primary_key=True),
    Column("professional_id", String(36), nullable=False),
    Column("pe_registration_number", String(64), nullable=False),
    Column("organisation_id", String(36), nullable=False),
    Column("contact_id", String(36), nullable=False),
    Column("valid_from", UtcDateTime(), nullable=False),
    Column("end_date", Date, nullable=True),
    # The end date's first instant outside the consent (next Amsterdam midnight, UTC); null: no end.
    Column("valid_until", UtcDateTime(), nullable=True),
    Column("state", String(16), nullable=False),
    Column("end_time", UtcDateTime(), nullable=True),
    Column("end_reason", String(40), nullable=True),
    Column("sequence", Integer, nullable=False),
    # What receipts and the reminder need, so they do not depend on other services later.
    Column("recipient_email", String(320), nullable=False),
    Column("recipient_name", String(200), nullable=False),
    Column("language", String(2), nullable=False),
    Column("contact_name", String(300), nullable=False),
    Column("organisation_name", String(300), nullable=False),
    Column("reminder_sent_at", UtcDateTime(), nullable=True),
    # The live access check: one seek in an index that holds all it reads, for active consents only.
    Index("ix_consents_access", "contact_id", "professional_id", "state", "valid_until", "consent_id",
          "pe_registration_number", "organisation_id", "valid_from", "end_date", "sequence",
          sqlite_where=text("state = 'active'"), postgresql_where=text("state = 'active'")),
    Index("ix_consents_professional", "professional_id", "valid_from", "consent_id"),
    Index("ix_consents_contact", "contact_id", "state", "valid_from", "consent_id"),
    Index("ix_consents_organisation", "organisation_id", "state", "valid_from", "consent_id"),
    Index("ix_consents_expiry", "state", "valid_until"),
    Index("ix_consents_reminder", "state", "end_date"),
    # At most one active consent per professional and contact.
    Index("ux_consents_one_active", "professional_id", "contact_id", unique=True,
          sqlite_where=text("state = 'active'"), postgresql_where=text("state = 'active'")),
)

consent_changes = Table(
    "consent_changes", metadata,
    Column("change_id", Position, primary_key=True, autoincrement=True),
    Column("consent_id", String(36), nullable=False, index=True),
    Column("professional_id", String(36), nullable=False),
    Column("organisation_id", String(36), nullable=False),
    Column("contact_id", String(36), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("end_date", Date, nullable=True),
    Column("reason", String(40), nullable=True),
    Column("sequence", Integer, nullable=False),
    Index("ix_consent_changes_professional", "professional_id", "change_id"),
)

# Organisation events already handled, by CloudEvent id: a redelivery changes nothing.
processed_events = Table(
    "processed_events", metadata,
    Column("event_id", String(200), primary_key=True),
    Column("type", String(120), nullable=False),
    Column("processed_at", UtcDateTime(), nullable=False),
)

# Removed contacts never come back: a grant racing the removal event cannot revive one.
removed_contacts = Table(
    "removed_contacts", metadata,
    Column("contact_id", String(36), primary_key=True),
    Column("removed_at", UtcDateTime(), nullable=False),
)

# When this service last learnt of an organisation's suspension: a grant that asked organisation
# before then may have been told 'authorised' just before the suspension, and is refused.
organisation_suspensions = Table(
    "organisation_suspensions", metadata,
    Column("organisation_id", String(36), primary_key=True),
    Column("seen_at", UtcDateTime(), nullable=False),
)

# GrantConsents' idempotency keys: a repeat answers with the first answer.
grant_requests = Table(
    "grant_requests", metadata,
    Column("professional_id", String(36), primary_key=True),
    Column("idempotency_key", String(200), primary_key=True),
    Column("consent_ids", Text, nullable=False),
    Column("log_position", BigInteger, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

mail_outbox = mail_outbox_table(metadata)
event_outbox = event_outbox_table(metadata)


# --- rows <-> domain ---------------------------------------------------------------------------------

def _consent(row) -> Consent:
    return Consent(consent_id=row.consent_id, professional_id=row.professional_id,
                   pe_registration_number=row.pe_registration_number, organisation_id=row.organisation_id,
                   contact_id=row.contact_id, valid_from=row.valid_from, end_date=row.end_date,
                   state=State(row.state), end_time=row.end_time,
                   end_reason=Reason(row.end_reason) if row.end_reason else None, sequence=row.sequence)


def _consent_values(consent: Consent) -> dict:
    return dict(end_date=consent.end_date, valid_until=consent.valid_until, state=consent.state.value,
                end_time=consent.end_time,
                end_reason=consent.end_reason.value if consent.end_reason else None,
                sequence=consent.sequence)


@dataclass(frozen=True)
class Change:
    """A row of a professional's consent history."""
    change_id: int
    consent_id: str
    kind: ChangeKind
    occurred_at: datetime
    end_date: date | None
    reason: str | None
    organisation_id: str
    contact_id: str


@dataclass(frozen=True)
class LoggedEvent:
    position: int
    event_id: str
    type: str
    occurred_at: datetime
    data: dict


@dataclass(frozen=True)
class GrantRecord:
    consent_ids: list[str]
    log_position: int


@dataclass(frozen=True)
class PageKey:
    """Where a page of consents ended: keyset pagination on (valid_from, consent_id)."""
    valid_from: datetime
    consent_id: str


_CONSENT_COLUMNS = [c for c in consents.c if c.name not in (
    "recipient_email", "recipient_name", "language", "contact_name", "organisation_name", "reminder_sent_at")]

# The access check: compiled once per dialect by AccessQuery, one seek in ix_consents_access (which
# holds every column it names, so the table is not read), one round trip.
# The state is written into the statement, not bound, so that the database sees that the partial
# indexes (state = 'active') apply. With it bound, SQLite prepared the
# statement again on every execution (four times the cost of the lookup), and PostgreSQL's generic
# plan for the prepared statement used ix_consents_contact and filtered on the professional.
# Only what an active consent can differ in is read: its state is known, it has no end yet.
_ACCESS_COLUMNS = [consents.c[name] for name in ("consent_id", "professional_id", "pe_registration_number",
                                                 "organisation_id", "contact_id", "valid_from", "end_date",
                                                 "sequence")]
_ACCESS_QUERY = (select(*_ACCESS_COLUMNS)
                 .where(consents.c.contact_id == bindparam("contact_id"),
                        consents.c.professional_id == bindparam("professional_id"),
                        consents.c.state == literal_column(f"'{State.ACTIVE.value}'"),
                        or_(consents.c.valid_until.is_(None),
                            consents.c.valid_until > bindparam("now", type_=UtcDateTime())))
                 .limit(1))


# What every grant runs, built once: building a statement costs SQLAlchemy more than the database
# spends on running it. The state is written in, as above, so the partial indexes apply.
_ACTIVE = literal_column(f"'{State.ACTIVE.value}'")
_ACTIVE_OF = select(*_CONSENT_COLUMNS).where(
    consents.c.professional_id == bindparam("professional_id"),
    consents.c.contact_id.in_(bindparam("contact_ids", expanding=True)), consents.c.state == _ACTIVE)
# The batch access check (a list of dossiers): what CheckAccess asks, for many professionals at once,
# through the same index; an ordinary read, apart from the single check's held connections.
_ALLOWED_AMONG = select(*_CONSENT_COLUMNS).where(
    consents.c.contact_id == bindparam("contact_id"),
    consents.c.professional_id.in_(bindparam("professional_ids", expanding=True)), consents.c.state == _ACTIVE,
    or_(consents.c.valid_until.is_(None), consents.c.valid_until > bindparam("now", type_=UtcDateTime())))
_REMOVED_AMONG = select(removed_contacts.c.contact_id).where(
    removed_contacts.c.contact_id.in_(bindparam("contact_ids", expanding=True)))
_SUSPENSION_SEEN = select(organisation_suspensions.c.seen_at).where(
    organisation_suspensions.c.organisation_id == bindparam("organisation_id"))
_HEAD_POSITION = select(func.coalesce(func.max(event_outbox.c.position), 0))
_TAKE_WRITE_LOCK = text("SELECT pg_advisory_xact_lock(:key)")


def _valid_at(now: datetime):
    return and_(consents.c.state == State.ACTIVE.value,
                or_(consents.c.valid_until.is_(None), consents.c.valid_until > now))


def _after(key: PageKey | None):
    if key is None:
        return true()
    return or_(consents.c.valid_from > key.valid_from,
               and_(consents.c.valid_from == key.valid_from, consents.c.consent_id > key.consent_id))


# --- reading -----------------------------------------------------------------------------------------

class Reader:
    def __init__(self, connection: Connection):
        self.connection = connection

    def get(self, consent_id: str) -> Consent | None:
        row = self.connection.execute(select(*_CONSENT_COLUMNS).where(consents.c.consent_id == consent_id)).first()
        return _consent(row) if row else None

    def get_many(self, consent_ids: Sequence[str]) -> list[Consent]:
        rows = self.connection.execute(select(*_CONSENT_COLUMNS).where(consents.c.consent_id.in_(consent_ids))).all()
        by_id = {row.consent_id: _consent(row) for row in rows}
        return [by_id[i] for i in consent_ids if i in by_id]

    def addressee(self, consent_id: str) -> Addressee | None:
        row = self.connection.execute(select(
            consents.c.recipient_email, consents.c.recipient_name, consents.c.language,
            consents.c.contact_name, consents.c.organisation_name).where(consents.c.consent_id == consent_id)).first()
        return Addressee(*row) if row else None

    def active_of(self, professional_id: str, contact_ids: Sequence[str]) -> dict[str, Consent]:
        """The consents still marked active from this professional to these contacts, by contact."""
        rows = self.connection.execute(_ACTIVE_OF, {"professional_id": professional_id,
                                                    "contact_ids": list(contact_ids)}).all()
        return {row.contact_id: _consent(row) for row in rows}

    def allowed_among(self, contact_id: str, professional_ids: Sequence[str], now: datetime) -> list[Consent]:
        """The consents that let this contact see these professionals' dossiers at `now` (at most
        one each: one active consent per professional and contact)."""
        rows = self.connection.execute(_ALLOWED_AMONG, {"contact_id": contact_id,
                                                        "professional_ids": list(professional_ids), "now": now})
        return [_consent(row) for row in rows]

    def _page(self, where, key: PageKey | None, limit: int) -> list[Consent]:
        rows = self.connection.execute(
            select(*_CONSENT_COLUMNS).where(where, _after(key))
            .order_by(consents.c.valid_from, consents.c.consent_id).limit(limit)).all()
        return [_consent(row) for row in rows]

    def by_professional(self, professional_id: str, *, include_ended: bool, now: datetime,
                        key: PageKey | None, limit: int) -> list[Consent]:
        where = consents.c.professional_id == professional_id
        return self._page(where if include_ended else and_(where, _valid_at(now)), key, limit)

    def valid_by_contact(self, contact_id: str, now: datetime, key: PageKey | None, limit: int) -> list[Consent]:
        return self._page(and_(consents.c.contact_id == contact_id, _valid_at(now)), key, limit)

    def valid_by_organisation(self, organisation_id: str, now: datetime, key: PageKey | None,
                              limit: int) -> list[Consent]:
        return self._page(and_(consents.c.organisation_id == organisation_id, _valid_at(now)), key, limit)

    def history(self, professional_id: str, after_change_id: int, limit: int) -> list[Change]:
        rows = self.connection.execute(
            select(consent_changes).where(consent_changes.c.professional_id == professional_id,
                                          consent_changes.c.change_id > after_change_id)
            .order_by(consent_changes.c.change_id).limit(limit)).all()
        return [Change(row.change_id, row.consent_id, ChangeKind(row.kind), row.occurred_at, row.end_date,
                       row.reason, row.organisation_id, row.contact_id) for row in rows]

    def events_after(self, position: int, limit: int) -> list[LoggedEvent]:
        rows = self.connection.execute(
            select(event_outbox.c.position, event_outbox.c.event_id, event_outbox.c.type,
                   event_outbox.c.occurred_at, event_outbox.c.data)
            .where(event_outbox.c.position > position).order_by(event_outbox.c.position).limit(limit)).all()
        return [LoggedEvent(row.position, row.event_id, row.type, row.occurred_at, json.loads(row.data))
                for row in rows]

    def head_position(self) -> int:
        return self.connection.execute(_HEAD_POSITION).scalar_one()

    def grant_request(self, professional_id: str, idempotency_key: str) -> GrantRecord | None:
        row = self.connection.execute(select(grant_requests.c.consent_ids, grant_requests.c.log_position).where(
            grant_requests.c.professional_id == professional_id,
            grant_requests.c.idempotency_key == idempotency_key)).first()
        return GrantRecord(json.loads(row.consent_ids), row.log_position) if row else None

    def removed_among(self, contact_ids: Sequence[str]) -> set[str]:
        return set(self.connection.execute(_REMOVED_AMONG, {"contact_ids": list(contact_ids)}).scalars())

    def suspended_after(self, organisation_id: str, moment: datetime) -> bool:
        seen_at = self.connection.execute(_SUSPENSION_SEEN, {"organisation_id": organisation_id}).scalar()
        return seen_at is not None and seen_at > moment

    def lapsed_ids(self, now: datetime, limit: int) -> list[str]:
        """Consents still marked active whose end date has passed."""
        return list(self.connection.execute(
            select(consents.c.consent_id).where(consents.c.state == State.ACTIVE.value,
                                                consents.c.valid_until <= now)
            .order_by(consents.c.valid_until).limit(limit)).scalars())

    def reminder_candidates(self, due_by: date, now: datetime, limit: int) -> list[str]:
        """Valid consents ending on or before `due_by` whose professional was not reminded yet."""
        return list(self.connection.execute(
            select(consents.c.consent_id).where(
                consents.c.state == State.ACTIVE.value, consents.c.end_date <= due_by,
                consents.c.valid_until > now, consents.c.reminder_sent_at.is_(None))
            .order_by(consents.c.end_date).limit(limit)).scalars())

    def active_ids_of_contact(self, contact_id: str) -> list[str]:
        return list(self.connection.execute(select(consents.c.consent_id).where(
            consents.c.contact_id == contact_id, consents.c.state == State.ACTIVE.value)).scalars())

    def active_ids_of_organisation(self, organisation_id: str) -> list[str]:
        return list(self.connection.execute(select(consents.c.consent_id).where(
            consents.c.organisation_id == organisation_id, consents.c.state == State.ACTIVE.value)).scalars())


# --- writing -----------------------------------------------------------------------------------------

class Writer(Reader):
    """Writes of one serialised transaction: consents, their history, events and mail together."""

    def __init__(self, connection: Connection):
        super().__init__(connection)
        self._next_position: int | None = None
        self.last_position: int | None = None

    def add(self, consent: Consent, addressee: Addressee, reminder_sent_at: datetime | None) -> None:
        # The row goes in as parameters of the table's INSERT, built once; building the statement
        # with .values() for each row costs several times what the database does with it.
        self.connection.execute(insert_into(consents), dict(
            consent_id=consent.consent_id, professional_id=consent.professional_id,
            pe_registration_number=consent.pe_registration_number, organisation_id=consent.organisation_id,
            contact_id=consent.contact_id, valid_from=consent.valid_from,
            recipient_email=addressee.email, recipient_name=addressee.name, language=addressee.language,
            contact_name=addressee.contact_name, organisation_name=addressee.organisation_name,
            reminder_sent_at=reminder_sent_at, **_consent_values(consent)))

    def save(self, consent: Consent, *, previous_sequence: int, **extra) -> bool:
        """Write a transition, only if nobody changed the consent since it was read (at
        `previous_sequence`, still active). Answers whether this writer made the change."""
        result = self.connection.execute(
            update(consents).where(consents.c.consent_id == consent.consent_id,
                                   consents.c.sequence == previous_sequence,
                                   consents.c.state == State.ACTIVE.value)
            .values(**_consent_values(consent), **extra))
        return result.rowcount == 1

    def update_addressee(self, consent_id: str, addressee: Addressee) -> None:
        self.connection.execute(update(consents).where(consents.c.consent_id == consent_id).values(
            recipient_email=addressee.email, recipient_name=addressee.name, language=addressee.language))

    def claim_reminder(self, consent_id: str, now: datetime) -> bool:
        result = self.connection.execute(update(consents).where(
            consents.c.consent_id == consent_id, consents.c.reminder_sent_at.is_(None),
            consents.c.state == State.ACTIVE.value).values(reminder_sent_at=now))
        return result.rowcount == 1

    def record(self, change: ConsentChanged) -> int:
        """The change in the history and as an event in the outbox; answers its log position."""
        consent = change.consent
        self.connection.execute(insert_into(consent_changes), dict(
            consent_id=consent.consent_id, professional_id=consent.professional_id,
            organisation_id=consent.organisation_id, contact_id=consent.contact_id, kind=change.kind.value,
            occurred_at=change.occurred_at, end_date=consent.end_date,
            reason=change.reason.value if change.reason else None, sequence=consent.sequence))
        position = self._take_position()
        written = add_event(self.connection, event_outbox, events.outbound(change, position))
        if written != position:
            self._renumber(written, position)
        self.last_position = position
        return position

    def _take_position(self) -> int:
        # Under the write lock nobody else appends, so max + 1 is ours, without gaps even where a
        # database sequence skipped values for a transaction that rolled back.
        if self._next_position is None:
            self._next_position = self.head_position() + 1
        position, self._next_position = self._next_position, self._next_position + 1
        return position

    def _renumber(self, written: int, position: int) -> None:
        self.connection.execute(update(event_outbox).where(event_outbox.c.position == written)
                                .values(position=position))
        if self.connection.dialect.name == "postgresql":
            self.connection.execute(text("SELECT setval(pg_get_serial_sequence('event_outbox', 'position'), :p)"),
                                    {"p": position})

    def enqueue_mail(self, mail: OutgoingMail, now: datetime) -> None:
        enqueue_mail(self.connection, mail_outbox, mail, now)

    def remember_grant(self, professional_id: str, idempotency_key: str, consent_ids: list[str],
                       log_position: int, now: datetime) -> None:
        self.connection.execute(insert_into(grant_requests), dict(
            professional_id=professional_id, idempotency_key=idempotency_key,
            consent_ids=json.dumps(consent_ids), log_position=log_position, created_at=now))

    def mark_processed(self, event_id: str, event_type: str, now: datetime) -> bool:
        """Note an incoming event as handled; False when it was handled before."""
        seen = self.connection.execute(select(processed_events.c.event_id).where(
            processed_events.c.event_id == event_id)).first()
        if seen:
            return False
        self.connection.execute(insert(processed_events).values(event_id=event_id, type=event_type,
                                                                processed_at=now))
        return True

    def note_suspension(self, organisation_id: str, now: datetime) -> None:
        updated = self.connection.execute(update(organisation_suspensions).where(
            organisation_suspensions.c.organisation_id == organisation_id).values(seen_at=now))
        if updated.rowcount == 0:
            self.connection.execute(insert(organisation_suspensions).values(organisation_id=organisation_id,
                                                                            seen_at=now))

    def note_contact_removed(self, contact_id: str, now: datetime) -> None:
        if not self.removed_among([contact_id]):
            self.connection.execute(insert(removed_contacts).values(contact_id=contact_id, removed_at=now))


class ConsentStore:
    """The unit of work: serialised write transactions, plain reads, and the access check.

    The access check runs on connections of its own (see AccessQuery); `close()` ends them.
    """

    def __init__(self, engine: Engine):
        self._engine = engine
        self._access_engine = access_engine(engine)
        self._access_query = AccessQuery(self._access_engine, _ACCESS_QUERY, _ACCESS_COLUMNS)

    def check_access(self, contact_id: str, professional_id: str, now: datetime) -> Consent | None:
        return self._access_query(contact_id, professional_id, now)

    def access_plan(self, contact_id: str, professional_id: str, now: datetime) -> list[str]:
        """How the database runs the access check (its EXPLAIN)."""
        return self._access_query.plan(contact_id, professional_id, now)

    def close(self) -> None:
        self._access_query.close()
        if self._access_engine is not self._engine:
            self._access_engine.dispose()

    @contextmanager
    def writing(self) -> Iterator[Writer]:
        """One serialised write transaction; commits when the block ends without an error."""
        with write_transaction(self._engine) as connection:
            # SQLite's write lock is taken as it begins (IMMEDIATE), so no read in this
            # transaction can be overtaken by another writer's commit; PostgreSQL's writers
            # take this lock, which serialises them the same way.
            if connection.dialect.name == "postgresql":
                connection.execute(_TAKE_WRITE_LOCK, {"key": WRITE_LOCK_KEY})
            yield Writer(connection)

    @contextmanager
    def reading(self) -> Iterator[Reader]:
        with self._engine.connect() as connection:
            yield Reader(connection)
