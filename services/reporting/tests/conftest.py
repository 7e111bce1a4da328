"""Fixtures of the reporting tests: a migrated database, a clock, and fakes of the services it asks.

`consent_world` plays the consent service: it grants, changes, revokes and expires consents and
keeps the event log (positions from 1, per-consent sequences) that the real one would publish,
so tests can feed the same events to the broker, to a fake ListConsentEvents, or directly.
"""
from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from reporting import handlers
from reporting.domain import Consent, ConsentEvent, ConsentState, Language, NotFound, ReportFormat
from reporting.jsonreport import JsonRenderer
from reporting.pdf import PdfRenderer
from reporting.repository import SqlStore
from reporting.xlsx import XlsxRenderer
from svckit.clock import ManualClock
from svckit.db import make_engine, upgrade

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
NOW = datetime(2026, 11, 28, 11, 0, tzinfo=timezone.utc)


def new_id() -> str:
    return str(uuid.uuid4())


class ConsentWorld:
    """The consent service's side of things, as events: what it would publish and list."""

    def __init__(self, clock):
        self.clock = clock
        self.consents: dict[str, Consent] = {}
        self.log: list[ConsentEvent] = []
        self.available = True

    def _record(self, consent: Consent, kind: str) -> ConsentEvent:
        self.consents[consent.consent_id] = consent
        event = ConsentEvent(event_id=new_id(), type=f"pe.consent.{kind}.v1", consent=consent,
                             position=len(self.log) + 1, occurred_at=self.clock.now())
        self.log.append(event)
        return event

    def grant(self, professional_id: str, organisation_id: str, contact_id: str, *,
              end_date: date | None = None, registration_number: str | None = None) -> ConsentEvent:
        number = registration_number or f"PE-{professional_id[:8]}"
        consent = Consent(new_id(), professional_id, number, organisation_id, contact_id, self.clock.now(),
                          end_date, ConsentState.ACTIVE, None, 1)
        return self._record(consent, "granted")

    def change(self, consent_id: str, end_date: date | None) -> ConsentEvent:
        old = self.consents[consent_id]
        return self._record(replace(old, end_date=end_date, sequence=old.sequence + 1), "changed")

    def revoke(self, consent_id: str) -> ConsentEvent:
        old = self.consents[consent_id]
        return self._record(replace(old, state=ConsentState.REVOKED, reason="revoked", sequence=old.sequence + 1),
                            "revoked")

    def expire(self, consent_id: str) -> ConsentEvent:
        old = self.consents[consent_id]
        return self._record(replace(old, state=ConsentState.EXPIRED, reason="expired", sequence=old.sequence + 1),
                            "expired")

    # -- the fake ListConsentEvents

    def events_after(self, position: int, page_size: int, timeout=None):
        if not self.available:
            raise handlers.ConsentLogUnavailable("consent is down (test)")
        return list(self.log[position:position + page_size]), len(self.log)

    # -- as the broker carries them

    @staticmethod
    def cloud_event_data(event: ConsentEvent) -> dict:
        c = event.consent
        return {"consent_id": c.consent_id, "professional_id": c.professional_id,
                "pe_registration_number": c.pe_registration_number, "organisation_id": c.organisation_id,
                "contact_id": c.contact_id, "valid_from": c.valid_from.isoformat().replace("+00:00", "Z"),
                "valid_until": c.end_date.isoformat() if c.end_date else None, "state": c.state.value,
                "reason": c.reason, "sequence": c.sequence, "position": event.position}


@dataclass
class FakeOrganisations:
    """Every contact a consent of the world names exists, until `removed` names it."""
    world: ConsentWorld
    organisations: dict[str, handlers.OrganisationInfo] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)
    down: bool = False

    def add(self, name: str, authorised: bool = True) -> str:
        organisation_id = new_id()
        self.organisations[organisation_id] = handlers.OrganisationInfo(organisation_id, name, authorised)
        return organisation_id

    def organisation(self, organisation_id: str) -> handlers.OrganisationInfo:
        if self.down:
            raise handlers.Unavailable("ORGANISATION_UNAVAILABLE", "organisation is down (test)")
        try:
            return self.organisations[organisation_id]
        except KeyError:
            raise NotFound("no such organisation") from None

    def contact_ids(self, organisation_id: str) -> frozenset[str]:
        self.organisation(organisation_id)
        return frozenset(c.contact_id for c in self.world.consents.values()
                         if c.organisation_id == organisation_id and c.contact_id not in self.removed)


@dataclass
class FakeAccounts:
    names: dict[str, str] = field(default_factory=dict)

    def display_names(self, account_ids):
        return {i: self.names[i] for i in account_ids if i in self.names}


@pytest.fixture
def clock():
    return ManualClock(NOW)


@pytest.fixture
def engine(databases):
    engine = make_engine(databases.new("reporting"))
    upgrade(engine, MIGRATIONS)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine):
    return SqlStore(engine)


@pytest.fixture
def consent_world(clock):
    return ConsentWorld(clock)


@pytest.fixture
def organisations(consent_world):
    return FakeOrganisations(consent_world)


@pytest.fixture
def accounts():
    return FakeAccounts()


@pytest.fixture
def deps(store, clock, consent_world, organisations, accounts):
    ids = (f"00000000-0000-4000-8000-{n:012d}" for n in itertools.count(1))
    return handlers.Deps(
        store=store, clock=clock, consent_log=consent_world, organisations=organisations, accounts=accounts,
        renderers={ReportFormat.JSON: JsonRenderer(), ReportFormat.XLSX: XlsxRenderer(),
                   ReportFormat.PDF: PdfRenderer(pool=None, pages_per_chunk=2)},
        report_wait_seconds=0.5, poll_seconds=0.02, new_id=lambda: next(ids))


def read_json_report(generated: handlers.GeneratedReport) -> dict:
    return json.loads(b"".join(generated.content))


@pytest.fixture
def report_of(deps):
    """Generate a JSON report of an organisation and answer it parsed."""
    def generate(organisation_id: str, *, min_log_position: int = 0, language: Language = Language.NL) -> dict:
        return read_json_report(handlers.generate_report(handlers.ReportRequest(
            organisation_id, ReportFormat.JSON, new_id(), min_log_position, language), deps))
    return generate


def sample_report(count: int, *, language: Language = Language.NL, organisation_name: str = "Voorbeeld Uitzend B.V.",
                  names=None) -> "OverviewReport":
    """A report of `count` professionals with every kind of row: each status, with and without end date."""
    from reporting.domain import OverviewReport, Progress, ReportRow, local_date, progress_percent, \
        progress_status, summarise
    rows = []
    for i in range(count):
        record = None if i % 7 == 3 else Progress(
            f"PE-{i:06d}", date(2025, 1, 1), date(2027, 12, 31), 60.0, float(i % 70) + (0.5 if i % 4 == 0 else 0),
            date(2026, 6, 1) if i % 9 == 5 else None)
        name = names[i] if names else f"Professional {i:05d}"
        rows.append(ReportRow(f"00000000-0000-4000-8000-{i:012d}", name, f"PE-{i:06d}", record,
                              progress_percent(record) if record else None, progress_status(record, local_date(NOW)),
                              None if i % 5 == 0 else date(2027, 12, 31), new_id()))
    return OverviewReport("11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222",
                          organisation_name, NOW, 42, language, tuple(rows), summarise(rows))


@pytest.fixture
def make_report():
    return sample_report
