"""Persistence of the reporting service (SQLAlchemy 2 Core). Its tables are its own.

The consent read model (consents, processed events, log positions) is changed only under the
'consent_read_model' lock row, taken as the first statement of the transaction: with several
replicas, the broker consumer, the gap filler and a rebuild then apply events one transaction at
a time, and each sees what the one before committed. On SQLite, write transactions start with
BEGIN IMMEDIATE for the same reason. PE progress has its own lock row, so a long import does not
hold up consent events.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import (BigInteger, CheckConstraint, Column, Date, Float, Index, Integer, MetaData,
                        PrimaryKeyConstraint, String, Table, Text, and_, delete, func, insert, or_,
                        select, update)
from sqlalchemy.engine import Connection, Engine

from reporting.domain import (Activity, Consent, ConsentState, Progress, ReportRow, advance_position,
                              parse_date)
from svckit.db import write_transaction
from svckit.types import UtcDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

CONSENT_LOCK = "consent_read_model"
PROGRESS_LOCK = "progress"
APPLIED_THROUGH = "consent_applied_through"
STATE_ROWS = (CONSENT_LOCK, PROGRESS_LOCK, APPLIED_THROUGH)

CONSENT_STREAM = "consent"
REGISTRY_STREAM = "registry"

DOSSIER_READ = "dossier_read"
DOSSIER_LISTED = "dossier_listed"
REPORT_INCLUSION = "report_inclusion"
ACCESS_KINDS = (DOSSIER_READ, DOSSIER_LISTED, REPORT_INCLUSION)

STATES = tuple(state.value for state in ConsentState)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


read_model_state = Table(
    "read_model_state", metadata,
    Column("name", String(40), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

consents = Table(
    "consents", metadata,
    Column("consent_id", String(36), primary_key=True),
    Column("professional_id", String(36), nullable=False),
    Column("pe_registration_number", String(64), nullable=False),
    Column("organisation_id", String(36), nullable=False),
    Column("contact_id", String(36), nullable=False),
    Column("valid_from", UtcDateTime(), nullable=False),
    Column("end_date", Date, nullable=True),
    Column("state", String(16), nullable=False),
    Column("reason", String(64), nullable=True),
    Column("sequence", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    CheckConstraint(_one_of("state", STATES), name="state"),
    Index(None, "organisation_id", "state", "end_date"),
    Index(None, "contact_id", "state", "professional_id"),
    Index(None, "professional_id"),
)

processed_events = Table(
    "processed_events", metadata,
    Column("stream", String(16), nullable=False),
    Column("event_id", String(100), nullable=False),
    Column("position", BigInteger, nullable=True),
    Column("processed_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("stream", "event_id"),
)

pending_positions = Table(
    "pending_positions", metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
)

progress = Table(
    "progress", metadata,
    Column("pe_registration_number", String(64), primary_key=True),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("points_required", Float, nullable=False),
    Column("points_earned", Float, nullable=False),
    Column("renewal_submitted_date", Date, nullable=True),
    Column("activities", Text, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("as_of", UtcDateTime(), nullable=False),
    Column("source", String(16), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

access_log = Table(
    "access_log", metadata,
    Column("entry_id", String(36), primary_key=True),
    Column("professional_id", String(36), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("reader_account_id", String(36), nullable=False),
    Column("reader_contact_id", String(36), nullable=True),
    Column("organisation_id", String(36), nullable=False),
    Column("consent_id", String(36), nullable=True),
    Column("report_id", String(36), nullable=True),
    CheckConstraint(_one_of("kind", ACCESS_KINDS), name="kind"),
    Index(None, "professional_id", "occurred_at", "entry_id"),
    Index(None, "report_id"),
)

reports = Table(
    "reports", metadata,
    Column("report_id", String(36), primary_key=True),
    Column("organisation_id", String(36), nullable=False),
    Column("requested_by_account_id", String(36), nullable=False),
    Column("format", String(8), nullable=False),
    Column("language", String(2), nullable=False),
    Column("log_position", BigInteger, nullable=False),
    Column("generated_at", UtcDateTime(), nullable=False),
    Column("professional_count", Integer, nullable=False),
    Column("filename", String(200), nullable=False),
    Index(None, "organisation_id", "generated_at"),
)


# --------------------------------------------------------------------------- rows <-> domain

_CONSENT_COLUMNS = (consents.c.consent_id, consents.c.professional_id, consents.c.pe_registration_number,
                    consents.c.organisation_id, consents.c.contact_id, consents.c.valid_from,
                    consents.c.end_date, consents.c.state, consents.c.reason, consents.c.sequence)
_PROGRESS_COLUMNS = (progress.c.pe_registration_number, progress.c.period_start, progress.c.period_end,
                     progress.c.points_required, progress.c.points_earned, progress.c.renewal_submitted_date)


def _consent(row) -> Consent:
    return Consent(consent_id=row.consent_id, professional_id=row.professional_id,
                   pe_registration_number=row.pe_registration_number, organisation_id=row.organisation_id,
                   contact_id=row.contact_id, valid_from=row.valid_from, end_date=row.end_date,
                   state=ConsentState(row.state), reason=row.reason, sequence=row.sequence)


def _activities(text: str) -> tuple[Activity, ...]:
    return tuple(Activity(a["title"], a["provider"], parse_date(a["completion_date"]), a["points"], a["category"])
                 for a in json.loads(text))


def _progress(row, with_activities: bool) -> Progress:
    return Progress(pe_registration_number=row.pe_registration_number, period_start=row.period_start,
                    period_end=row.period_end, points_required=row.points_required,
                    points_earned=row.points_earned, renewal_submitted_date=row.renewal_submitted_date,
                    activities=_activities(row.activities) if with_activities else ())


@dataclass(frozen=True)
class StoredProgress:
    progress: Progress
    as_of: datetime
    updated_at: datetime


@dataclass(frozen=True)
class AccessEntry:
    entry_id: str
    kind: str
    occurred_at: datetime
    reader_account_id: str
    organisation_id: str
    consent_id: str | None
    report_id: str | None


@dataclass(frozen=True)
class ReportRecord:
    report_id: str
    organisation_id: str
    requested_by_account_id: str
    format: str
    language: str
    log_position: int
    generated_at: datetime
    professional_count: int
    filename: str


# --------------------------------------------------------------------------- transactions


class Tx:
    """One database transaction of the reporting service."""

    def __init__(self, connection: Connection):
        self.connection = connection

    # -- locks and the consent log position

    def lock(self, name: str) -> None:
        """Serialise writers of one part of the model (a row lock; the write lock on SQLite)."""
        self.connection.execute(update(read_model_state).where(read_model_state.c.name == name)
                                .values(value=read_model_state.c.value))

    def applied_through(self) -> int:
        return self.connection.execute(select(read_model_state.c.value)
                                       .where(read_model_state.c.name == APPLIED_THROUGH)).scalar_one()

    def pending_positions(self) -> list[int]:
        return list(self.connection.execute(select(pending_positions.c.position)
                                            .order_by(pending_positions.c.position)).scalars())

    def record_position(self, position: int | None) -> int:
        """Count one log position as applied; answer applied_through after it."""
        through = self.applied_through()
        if position is None or position <= through:
            return through
        change = advance_position(through, self.pending_positions(), position)
        if change.add_pending is not None:
            self.connection.execute(insert(pending_positions).values(position=change.add_pending))
        if change.remove_pending:
            self.connection.execute(delete(pending_positions)
                                    .where(pending_positions.c.position.in_(change.remove_pending)))
        if change.applied_through != through:
            self.connection.execute(update(read_model_state).where(read_model_state.c.name == APPLIED_THROUGH)
                                    .values(value=change.applied_through))
        return change.applied_through

    # -- processed events

    def event_seen(self, stream: str, event_id: str) -> bool:
        return self.connection.execute(select(processed_events.c.event_id).where(
            processed_events.c.stream == stream, processed_events.c.event_id == event_id)).first() is not None

    def mark_event(self, stream: str, event_id: str, position: int | None, at: datetime) -> None:
        self.connection.execute(insert(processed_events).values(
            stream=stream, event_id=event_id, position=position, processed_at=at))

    # -- consents

    def consent(self, consent_id: str) -> Consent | None:
        row = self.connection.execute(select(*_CONSENT_COLUMNS).where(consents.c.consent_id == consent_id)).first()
        return _consent(row) if row else None

    def consents_by_id(self, consent_ids: Sequence[str]) -> dict[str, Consent]:
        found: dict[str, Consent] = {}
        for start in range(0, len(consent_ids), 500):
            rows = self.connection.execute(select(*_CONSENT_COLUMNS).where(
                consents.c.consent_id.in_(consent_ids[start:start + 500])))
            found.update({row.consent_id: _consent(row) for row in rows})
        return found

    def put_consent(self, consent: Consent, at: datetime, *, exists: bool) -> None:
        values = dict(professional_id=consent.professional_id,
                      pe_registration_number=consent.pe_registration_number,
                      organisation_id=consent.organisation_id, contact_id=consent.contact_id,
                      valid_from=consent.valid_from, end_date=consent.end_date, state=consent.state.value,
                      reason=consent.reason, sequence=consent.sequence, updated_at=at)
        if exists:
            self.connection.execute(update(consents).where(consents.c.consent_id == consent.consent_id)
                                    .values(**values))
        else:
            self.connection.execute(insert(consents).values(consent_id=consent.consent_id, **values))

    def clear_consent_model(self) -> None:
        """Forget every consent and the consent log position (PE progress and logs stay)."""
        self.connection.execute(delete(consents))
        self.connection.execute(delete(processed_events).where(processed_events.c.stream == CONSENT_STREAM))
        self.connection.execute(delete(pending_positions))
        self.connection.execute(update(read_model_state).where(read_model_state.c.name == APPLIED_THROUGH)
                                .values(value=0))

    def all_consents(self) -> list[Consent]:
        rows = self.connection.execute(select(*_CONSENT_COLUMNS).order_by(consents.c.consent_id))
        return [_consent(row) for row in rows]

    @staticmethod
    def _holding(today: date):
        # A prefilter only: domain.is_valid decides, on the clock's instant.
        return and_(consents.c.state == ConsentState.ACTIVE.value,
                    or_(consents.c.end_date.is_(None), consents.c.end_date >= today))

    def organisation_report_data(self, organisation_id: str, today: date) -> tuple[list[Consent], dict[str, Progress]]:
        """The organisation's active consents and the PE progress (without activities) of their holders."""
        rows = self.connection.execute(
            select(*_CONSENT_COLUMNS, *[c.label(f"p_{c.name}") for c in _PROGRESS_COLUMNS])
            .select_from(consents.outerjoin(progress, progress.c.pe_registration_number
                                            == consents.c.pe_registration_number))
            .where(consents.c.organisation_id == organisation_id, self._holding(today))).all()
        found, records = [], {}
        for row in rows:
            found.append(_consent(row))
            if row.p_pe_registration_number is not None and row.p_pe_registration_number not in records:
                records[row.p_pe_registration_number] = Progress(
                    row.p_pe_registration_number, row.p_period_start, row.p_period_end,
                    row.p_points_required, row.p_points_earned, row.p_renewal_submitted_date)
        return found, records

    def contact_consents(self, contact_id: str, today: date, after_professional: str, limit: int) -> list[Consent]:
        """Active consents to one contact of up to `limit` professionals after the given id, by professional."""
        professional_ids = select(consents.c.professional_id).where(
            consents.c.contact_id == contact_id, self._holding(today),
            consents.c.professional_id > after_professional).group_by(consents.c.professional_id) \
            .order_by(consents.c.professional_id).limit(limit)
        wanted = list(self.connection.execute(professional_ids).scalars())
        if not wanted:
            return []
        rows = self.connection.execute(select(*_CONSENT_COLUMNS).where(
            consents.c.contact_id == contact_id, self._holding(today), consents.c.professional_id.in_(wanted))
            .order_by(consents.c.professional_id, consents.c.consent_id))
        return [_consent(row) for row in rows]

    # -- PE progress

    def stored_progress(self, number: str, *, with_activities: bool = True) -> StoredProgress | None:
        row = self.connection.execute(select(progress).where(progress.c.pe_registration_number == number)).first()
        if row is None:
            return None
        return StoredProgress(_progress(row, with_activities), row.as_of, row.updated_at)

    def progress_fingerprint(self, number: str) -> tuple[str, datetime] | None:
        row = self.connection.execute(select(progress.c.fingerprint, progress.c.as_of)
                                      .where(progress.c.pe_registration_number == number)).first()
        return (row.fingerprint, row.as_of) if row else None

    def progress_for(self, numbers: Sequence[str]) -> dict[str, Progress]:
        """Progress without activities of several professionals (the list views)."""
        found: dict[str, Progress] = {}
        for start in range(0, len(numbers), 500):
            rows = self.connection.execute(select(*_PROGRESS_COLUMNS).where(
                progress.c.pe_registration_number.in_(numbers[start:start + 500])))
            found.update({row.pe_registration_number: _progress(row, False) for row in rows})
        return found

    def put_progress(self, record: Progress, fingerprint: str, as_of: datetime, source: str, at: datetime,
                     *, exists: bool) -> None:
        values = dict(period_start=record.period_start, period_end=record.period_end,
                      points_required=record.points_required, points_earned=record.points_earned,
                      renewal_submitted_date=record.renewal_submitted_date,
                      activities=json.dumps([a.as_dict() for a in record.activities], sort_keys=True),
                      fingerprint=fingerprint, as_of=as_of, source=source, updated_at=at)
        if exists:
            self.connection.execute(update(progress).where(
                progress.c.pe_registration_number == record.pe_registration_number).values(**values))
        else:
            self.connection.execute(insert(progress).values(
                pe_registration_number=record.pe_registration_number, **values))

    # -- access log and reports

    def log_dossier_read(self, *, entry_id: str, professional_id: str, at: datetime, reader_account_id: str,
                         reader_contact_id: str, organisation_id: str, consent_id: str) -> None:
        self.connection.execute(insert(access_log).values(
            entry_id=entry_id, professional_id=professional_id, kind=DOSSIER_READ, occurred_at=at,
            reader_account_id=reader_account_id, reader_contact_id=reader_contact_id,
            organisation_id=organisation_id, consent_id=consent_id, report_id=None))

    def log_dossiers_listed(self, *, reader_account_id: str, reader_contact_id: str, at: datetime,
                            listed: Sequence[tuple[str, Consent]]) -> None:
        """One entry per professional shown in a list view: (entry id, the consent it was shown under)."""
        if listed:
            self.connection.execute(insert(access_log), [dict(
                entry_id=entry_id, professional_id=consent.professional_id, kind=DOSSIER_LISTED, occurred_at=at,
                reader_account_id=reader_account_id, reader_contact_id=reader_contact_id,
                organisation_id=consent.organisation_id, consent_id=consent.consent_id, report_id=None)
                for entry_id, consent in listed])

    def log_report(self, report: ReportRecord, rows: Sequence[ReportRow], entry_ids: Sequence[str]) -> None:
        self.connection.execute(insert(reports).values(
            report_id=report.report_id, organisation_id=report.organisation_id,
            requested_by_account_id=report.requested_by_account_id, format=report.format,
            language=report.language, log_position=report.log_position, generated_at=report.generated_at,
            professional_count=report.professional_count, filename=report.filename))
        entries = [dict(entry_id=entry_id, professional_id=row.professional_id, kind=REPORT_INCLUSION,
                        occurred_at=report.generated_at, reader_account_id=report.requested_by_account_id,
                        reader_contact_id=None, organisation_id=report.organisation_id,
                        consent_id=row.consent_id, report_id=report.report_id)
                   for row, entry_id in zip(rows, entry_ids)]
        for start in range(0, len(entries), 1000):
            self.connection.execute(insert(access_log), entries[start:start + 1000])

    def report(self, report_id: str) -> ReportRecord | None:
        row = self.connection.execute(select(reports).where(reports.c.report_id == report_id)).first()
        return ReportRecord(**row._mapping) if row else None

    def report_professionals(self, report_id: str) -> list[str]:
        return list(self.connection.execute(select(access_log.c.professional_id).where(
            access_log.c.report_id == report_id).order_by(access_log.c.professional_id)).scalars())

    def access_log_page(self, professional_id: str, before: tuple[datetime, str] | None,
                        limit: int) -> list[AccessEntry]:
        """Entries about one professional, newest first, strictly before the (time, id) cursor."""
        query = select(access_log).where(access_log.c.professional_id == professional_id)
        if before is not None:
            at, entry_id = before
            query = query.where(or_(access_log.c.occurred_at < at,
                                    and_(access_log.c.occurred_at == at, access_log.c.entry_id < entry_id)))
        rows = self.connection.execute(query.order_by(access_log.c.occurred_at.desc(),
                                                      access_log.c.entry_id.desc()).limit(limit))
        return [AccessEntry(row.entry_id, row.kind, row.occurred_at, row.reader_account_id, row.organisation_id,
                            row.consent_id, row.report_id) for row in rows]

    def count_access_entries(self, professional_id: str) -> int:
        return self.connection.execute(select(func.count()).select_from(access_log)
                                       .where(access_log.c.professional_id == professional_id)).scalar_one()


class SqlStore:
    """Transactions on the reporting database."""

    def __init__(self, engine: Engine):
        self.engine = engine

    @contextmanager
    def write(self) -> Iterator[Tx]:
        # On SQLite it takes the write lock up front, so reads in it see the newest commit.
        with write_transaction(self.engine) as connection:
            yield Tx(connection)

    @contextmanager
    def read(self) -> Iterator[Tx]:
        with self.engine.connect() as connection:
            yield Tx(connection)
