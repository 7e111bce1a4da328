"""Use cases of the reporting service: short functions taking a command and their dependencies.

The consent read model is fed by events (broker or consent's ListConsentEvents), applied one
transaction each under the read model's lock: idempotent by event id, and an event older (by the
consent's sequence) than what is stored changes nothing. The consent log position applied without
gaps (`applied_through`) is what a report can promise: GenerateOverviewReport waits, bounded,
until it reaches the position the caller asks for, fetching missing events from consent itself.
"""
from __future__ import annotations

import base64
import binascii
import json
import math
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Protocol

from reporting.domain import (Consent, ConsentEvent, InvalidInput, Language, NotFound, Outcome,
                              OverviewReport, Progress, ReportFormat, check_progress, is_uuid, is_valid,
                              local_date, report_filename, report_rows, summarise, supersedes, with_names)
from reporting.repository import (CONSENT_LOCK, CONSENT_STREAM, PROGRESS_LOCK, REGISTRY_STREAM,
                                  AccessEntry, ReportRecord, SqlStore, StoredProgress, Tx)
from svckit.clock import Clock
from svckit.logs import get_logger

log = get_logger(__name__)

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
CATCH_UP_PAGE = 500
MAX_INGEST_RECORDS = 1000
MAX_LISTED_DOSSIERS = MAX_PAGE_SIZE

# --------------------------------------------------------------------------- ports


class Unavailable(Exception):
    """Something the answer depends on cannot be had now; try again after `retry_after` seconds."""

    def __init__(self, reason: str, message: str, retry_after: int = 2):
        super().__init__(message)
        self.reason, self.retry_after = reason, retry_after


class ConsentLogUnavailable(Exception):
    """consent's ListConsentEvents failed or could not be reached."""


class OrganisationNotAuthorised(Exception):
    """The organisation exists but is not (or no longer) authorised: no reports."""


class ConsentLog(Protocol):
    def events_after(self, position: int, page_size: int, timeout: float | None = None) -> tuple[list[ConsentEvent], int]:
        """Events with positions after `position`, oldest first, and the log's head position."""


@dataclass(frozen=True)
class OrganisationInfo:
    organisation_id: str
    name: str
    authorised: bool


class OrganisationDirectory(Protocol):
    def organisation(self, organisation_id: str) -> OrganisationInfo:
        """Raises NotFound, or Unavailable when organisation cannot answer."""

    def contact_ids(self, organisation_id: str) -> frozenset[str]:
        """The organisation's contacts now (removed ones not), asked live, never from a cache.
        Raises NotFound, or Unavailable when organisation cannot answer."""


class AccountDirectory(Protocol):
    def display_names(self, account_ids: Sequence[str]) -> dict[str, str]:
        """Best effort: names of the accounts it could look up; never raises."""


class Renderer(Protocol):
    content_type: str
    extension: str

    def render(self, report: OverviewReport) -> Iterator[bytes]: ...


class Metrics(Protocol):
    def event_applied(self, stream: str, outcome: str) -> None: ...
    def applied_through(self, position: int) -> None: ...
    def report_generated(self, report_format: str, seconds: float) -> None: ...


class NoMetrics:
    def event_applied(self, stream, outcome):
        pass

    def applied_through(self, position):
        pass

    def report_generated(self, report_format, seconds):
        pass


@dataclass
class Deps:
    store: SqlStore
    clock: Clock
    consent_log: ConsentLog
    organisations: OrganisationDirectory
    accounts: AccountDirectory
    renderers: Mapping[ReportFormat, Renderer]
    report_wait_seconds: float = 5.0
    poll_seconds: float = 0.1
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    new_id: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))
    metrics: Metrics = field(default_factory=NoMetrics)


# --------------------------------------------------------------------------- the consent read model


def _apply(tx: Tx, event: ConsentEvent, now: datetime) -> Outcome:
    if tx.event_seen(CONSENT_STREAM, event.event_id):
        return Outcome.DUPLICATE
    tx.mark_event(CONSENT_STREAM, event.event_id, event.position, now)
    stored = tx.consent(event.consent.consent_id)
    outcome = Outcome.STALE
    if supersedes(event, stored):
        tx.put_consent(event.consent, now, exists=stored is not None)
        outcome = Outcome.APPLIED
    tx.record_position(event.position)
    return outcome


def apply_consent_event(event: ConsentEvent, deps: Deps) -> Outcome:
    """Apply one consent event in its own transaction (the broker consumer's use case)."""
    with deps.store.write() as tx:
        tx.lock(CONSENT_LOCK)
        outcome = _apply(tx, event, deps.clock.now())
        through = tx.applied_through()
    deps.metrics.event_applied(CONSENT_STREAM, outcome.value)
    deps.metrics.applied_through(through)
    return outcome


def applied_through(deps: Deps) -> int:
    with deps.store.read() as tx:
        return tx.applied_through()


def log_gap(deps: Deps) -> tuple[int, list[int]]:
    """The position applied without gaps and the positions applied beyond the first gap."""
    with deps.store.read() as tx:
        return tx.applied_through(), tx.pending_positions()


def catch_up(deps: Deps, target: int | None = None, *, timeout: float | None = None,
             page_size: int = CATCH_UP_PAGE) -> int:
    """Fetch the events after applied_through from consent and apply them, until `target` (or the head).

    Raises ConsentLogUnavailable when consent cannot be asked; answers applied_through after.
    """
    through = applied_through(deps)
    while target is None or through < target:
        events, head = deps.consent_log.events_after(through, page_size, timeout)
        if not events:
            break
        with deps.store.write() as tx:
            tx.lock(CONSENT_LOCK)
            now = deps.clock.now()
            for event in events:
                deps.metrics.event_applied(CONSENT_STREAM, _apply(tx, event, now).value)
            advanced = tx.applied_through()
        deps.metrics.applied_through(advanced)
        if advanced <= through:  # the log has a hole where it promised none: do not spin
            log.error("consent log did not advance the read model", after=through,
                      first=events[0].position, last=events[-1].position)
            break
        through = advanced
        if through >= head:
            break
    return through


def wait_for_position(position: int, deps: Deps) -> int:
    """Wait (bounded) until the read model has applied the consent log through `position`.

    While waiting, missing events are fetched from consent's log. Raises Unavailable (with a
    retry-after) when it cannot catch up in REPORT_WAIT_SECONDS.
    """
    through = applied_through(deps)
    if position <= through:
        return through
    deadline = deps.monotonic() + deps.report_wait_seconds
    warned = False
    while True:
        remaining = deadline - deps.monotonic()
        try:
            through = catch_up(deps, position, timeout=max(min(remaining, 5.0), 0.2))
        except ConsentLogUnavailable as error:
            if not warned:
                log.warning("cannot fill the consent log gap from consent", error=str(error),
                            applied_through=through, wanted=position)
                warned = True
            through = applied_through(deps)
        if through >= position:
            return through
        remaining = deadline - deps.monotonic()
        if remaining <= 0:
            raise Unavailable("READ_MODEL_BEHIND",
                              f"the read model has applied the consent log through {through}, "
                              f"not yet {position}; try again shortly",
                              retry_after=max(1, math.ceil(deps.report_wait_seconds)))
        deps.sleep(min(deps.poll_seconds, remaining))


@dataclass(frozen=True)
class RebuildResult:
    events: int
    applied_through: int
    consents: int


def rebuild(deps: Deps, page_size: int = CATCH_UP_PAGE) -> RebuildResult:
    """Drop the consent read model and replay consent's whole event log into it, in one transaction.

    Readers see the old model until the new one commits. PE progress, the access log and the
    report log are kept.
    """
    count = 0
    with deps.store.write() as tx:
        tx.lock(CONSENT_LOCK)
        tx.clear_consent_model()
        after = 0
        while True:
            events, head = deps.consent_log.events_after(after, page_size)
            now = deps.clock.now()
            for event in events:
                _apply(tx, event, now)
            count += len(events)
            if not events:
                break
            after = events[-1].position or after
            if after >= head:
                break
        through = tx.applied_through()
        consents = len(tx.all_consents())
    deps.metrics.applied_through(through)
    log.info("consent read model rebuilt", events=count, applied_through=through, consents=consents)
    return RebuildResult(count, through, consents)


# --------------------------------------------------------------------------- PE progress


@dataclass(frozen=True)
class IngestResult:
    stored: int
    unchanged: int
    rejections: tuple[tuple[int, str], ...] = ()


def _store_progress(tx: Tx, record: Progress, as_of: datetime, source: str, now: datetime) -> bool:
    """Upsert by registration number; False (unchanged) for the same content or an older snapshot."""
    fingerprint = record.fingerprint()
    current = tx.progress_fingerprint(record.pe_registration_number)
    if current is not None and (current[0] == fingerprint or as_of < current[1]):
        return False
    tx.put_progress(record, fingerprint, as_of, source, now, exists=current is not None)
    return True


def store_progress(records: Sequence[tuple[Progress, datetime | None]], source: str, deps: Deps) -> list[bool]:
    """Store checked records in one transaction; answer for each whether it changed anything."""
    changed = []
    with deps.store.write() as tx:
        tx.lock(PROGRESS_LOCK)
        now = deps.clock.now()
        for record, as_of in records:
            changed.append(_store_progress(tx, record, as_of or now, source, now))
    return changed


def describe(error: InvalidInput) -> str:
    return "; ".join(f"{name}: {text}" for name, text in error.violations.items())


def ingest_progress(records: Sequence[tuple[Mapping, datetime | None]], deps: Deps) -> IngestResult:
    """IngestProgress: every record is checked alone; the good ones are stored, the bad ones named."""
    if len(records) > MAX_INGEST_RECORDS:
        raise InvalidInput({"records": f"at most {MAX_INGEST_RECORDS} records per call"})
    good, rejections = [], []
    for index, (raw, as_of) in enumerate(records):
        try:
            good.append((check_progress(raw), as_of))
        except InvalidInput as error:
            rejections.append((index, describe(error)))
    changed = store_progress(good, "rpc", deps) if good else []
    return IngestResult(stored=sum(changed), unchanged=len(changed) - sum(changed), rejections=tuple(rejections))


def apply_registry_event(event_id: str, data: Mapping, occurred_at: datetime | None, deps: Deps) -> Outcome:
    """A pe.registry.progress_updated.v1 event: one progress snapshot. Raises InvalidInput if unusable."""
    record = check_progress(data)
    with deps.store.write() as tx:
        tx.lock(PROGRESS_LOCK)
        if tx.event_seen(REGISTRY_STREAM, event_id):
            outcome = Outcome.DUPLICATE
        else:
            now = deps.clock.now()
            tx.mark_event(REGISTRY_STREAM, event_id, None, now)
            changed = _store_progress(tx, record, occurred_at or now, "event", now)
            outcome = Outcome.APPLIED if changed else Outcome.STALE
    deps.metrics.event_applied(REGISTRY_STREAM, outcome.value)
    return outcome


# --------------------------------------------------------------------------- dossiers


@dataclass(frozen=True)
class DossierRequest:
    professional_id: str
    reader_account_id: str
    reader_contact_id: str
    consent_id: str


@dataclass(frozen=True)
class Dossier:
    professional_id: str
    display_name: str
    pe_registration_number: str
    progress: Progress | None
    progress_update_time: datetime | None
    consent_id: str
    consent_end_date: date | None


def id_violations(**ids: str) -> dict[str, str]:
    return {name: "must be a UUID" for name, value in ids.items() if not is_uuid(value)}


def _check_ids(**ids: str) -> None:
    violations = id_violations(**ids)
    if violations:
        raise InvalidInput(violations)


def _readable(consent: Consent | None, professional_id: str, reader_contact_id: str, now: datetime) -> bool:
    return (consent is not None and consent.professional_id == professional_id
            and consent.contact_id == reader_contact_id and is_valid(consent, now))


def _read_dossier(request: DossierRequest, deps: Deps) -> tuple[Consent, StoredProgress | None] | None:
    """The consent and progress, with the read logged in the same transaction; None if not readable."""
    with deps.store.write() as tx:
        now = deps.clock.now()
        consent = tx.consent(request.consent_id)
        if not _readable(consent, request.professional_id, request.reader_contact_id, now):
            return None
        stored = tx.stored_progress(consent.pe_registration_number)
        tx.log_dossier_read(entry_id=deps.new_id(), professional_id=request.professional_id, at=now,
                            reader_account_id=request.reader_account_id,
                            reader_contact_id=request.reader_contact_id,
                            organisation_id=consent.organisation_id, consent_id=consent.consent_id)
        return consent, stored


def get_dossier(request: DossierRequest, deps: Deps) -> Dossier:
    """A contact reads a professional's dossier under a consent; the read is logged with it.

    The gateway has checked access live with consent. The read model must agree (the consent
    is there, for this professional and contact, and valid); if it does not, it first catches up
    with consent's log once, since it may just be behind. NotFound otherwise: never more than
    the consent allows.
    """
    _check_ids(professional_id=request.professional_id, reader_account_id=request.reader_account_id,
               reader_contact_id=request.reader_contact_id, consent_id=request.consent_id)
    found = _read_dossier(request, deps)
    if found is None:
        try:
            catch_up(deps, timeout=2.0)
        except ConsentLogUnavailable as error:
            # consent has just said the consent holds; the read model may only be behind (after a
            # broker or network fault), so this is no answer yet rather than "not found".
            log.warning("dossier: cannot catch up with consent", error=str(error))
            raise Unavailable("READ_MODEL_BEHIND", "the read model cannot catch up with consent's log now; "
                              "try again") from None
        found = _read_dossier(request, deps)
    if found is None:
        raise NotFound("no such dossier for this reader")
    consent, stored = found
    names = deps.accounts.display_names([request.professional_id])
    return Dossier(professional_id=request.professional_id, display_name=names.get(request.professional_id, ""),
                   pe_registration_number=consent.pe_registration_number,
                   progress=stored.progress if stored else None,
                   progress_update_time=stored.as_of if stored else None,
                   consent_id=consent.consent_id, consent_end_date=consent.end_date)


def _page_size(value: int) -> int:
    if value < 0:
        raise InvalidInput({"page_size": "must not be negative"})
    return min(value or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def _decode_token(token: str, fields: int) -> list[str]:
    try:
        values = json.loads(base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput({"page_token": "is not a token this service gave out"}) from None
    if not isinstance(values, list) or len(values) != fields or not all(isinstance(v, str) for v in values):
        raise InvalidInput({"page_token": "is not a token this service gave out"})
    return values


def _encode_token(*values: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


def list_dossiers(contact_id: str, page_size: int, page_token: str,
                  deps: Deps) -> tuple[list[tuple[str, Consent]], str]:
    """The professionals the read model holds a valid consent to this contact from, by id, each with
    the consent that lasts longest: candidates for a list view, without PE progress (which leaves
    only through batch_get_dossiers, logged)."""
    _check_ids(contact_id=contact_id)
    size = _page_size(page_size)
    after = _decode_token(page_token, 1)[0] if page_token else ""
    now = deps.clock.now()
    with deps.store.read() as tx:
        consents = tx.contact_consents(contact_id, local_date(now), after, size + 1)
    held: dict[str, list[Consent]] = {}
    for consent in consents:
        if is_valid(consent, now):
            held.setdefault(consent.professional_id, []).append(consent)
    professional_ids = sorted(held)
    more = len(professional_ids) > size
    professional_ids = professional_ids[:size]
    found = [(p, max(held[p], key=lambda c: (c.end_date is None, c.end_date or date.min))) for p in professional_ids]
    return found, (_encode_token(professional_ids[-1]) if more and professional_ids else "")


@dataclass(frozen=True)
class ListingRequest:
    reader_account_id: str
    reader_contact_id: str
    # (professional id, consent id the live access check found), in the order to answer
    grants: tuple[tuple[str, str], ...]


def listing_violations(request: ListingRequest) -> dict[str, str]:
    violations = id_violations(reader_account_id=request.reader_account_id,
                               reader_contact_id=request.reader_contact_id)
    if not 1 <= len(request.grants) <= MAX_LISTED_DOSSIERS:
        violations["grants"] = f"must name 1 to {MAX_LISTED_DOSSIERS} dossiers"
    for i, (professional_id, consent_id) in enumerate(request.grants[:MAX_LISTED_DOSSIERS]):
        violations.update({f"grants[{i}].{name}": text for name, text in id_violations(
            professional_id=professional_id, consent_id=consent_id).items()})
    return violations


def _list_logged(request: ListingRequest, grants: dict[str, str],
                 deps: Deps) -> dict[str, tuple[Consent, Progress | None]]:
    """The grants the read model holds valid, with their progress, each logged as listed in the
    same transaction; by professional id."""
    with deps.store.write() as tx:
        now = deps.clock.now()
        stored = tx.consents_by_id(list(grants.values()))
        readable = {p: stored[c] for p, c in grants.items()
                    if _readable(stored.get(c), p, request.reader_contact_id, now)}
        records = tx.progress_for(sorted({c.pe_registration_number for c in readable.values()}))
        tx.log_dossiers_listed(reader_account_id=request.reader_account_id,
                               reader_contact_id=request.reader_contact_id, at=now,
                               listed=[(deps.new_id(), consent) for consent in readable.values()])
    return {p: (consent, records.get(consent.pe_registration_number)) for p, consent in readable.items()}


def batch_get_dossiers(request: ListingRequest, deps: Deps) -> list[Dossier]:
    """Summaries (without activities) of the dossiers a contact's list view shows, each logged as
    listed for its professional. As for one dossier, the gateway has checked access live and the
    read model must agree (after one catch-up with consent's log); a grant it does not hold valid
    is left out, and not logged."""
    violations = listing_violations(request)
    if violations:
        raise InvalidInput(violations)
    grants = dict(request.grants)
    found = _list_logged(request, grants, deps)
    missing = {p: c for p, c in grants.items() if p not in found}
    if missing:
        try:
            catch_up(deps, timeout=2.0)
        except ConsentLogUnavailable as error:
            log.warning("dossier list: cannot catch up with consent", error=str(error))
        else:
            found.update(_list_logged(request, missing, deps))
    names = deps.accounts.display_names(list(found))
    dossiers = []
    for professional_id in grants:
        if professional_id in found:
            consent, record = found[professional_id]
            dossiers.append(Dossier(professional_id, names.get(professional_id, ""), consent.pe_registration_number,
                                    record, None, consent.consent_id, consent.end_date))
    return dossiers


def get_own_dossier(professional_id: str, pe_registration_number: str, deps: Deps) -> Dossier:
    """A professional reads their own dossier: no consent is needed and nothing is logged, since the
    access log is there to show a professional what others saw."""
    violations = id_violations(professional_id=professional_id)
    number = pe_registration_number.strip()
    if not number or len(number) > 64:
        violations["pe_registration_number"] = "is required, at most 64 characters"
    if violations:
        raise InvalidInput(violations)
    with deps.store.read() as tx:
        stored = tx.stored_progress(number)
    names = deps.accounts.display_names([professional_id])
    return Dossier(professional_id=professional_id, display_name=names.get(professional_id, ""),
                   pe_registration_number=number, progress=stored.progress if stored else None,
                   progress_update_time=stored.as_of if stored else None, consent_id="", consent_end_date=None)


def list_access_log(professional_id: str, page_size: int, page_token: str,
                    deps: Deps) -> tuple[list[AccessEntry], str]:
    """Who read the dossier and which reports included the professional, newest first."""
    _check_ids(professional_id=professional_id)
    size = _page_size(page_size)
    before = None
    if page_token:
        at_text, entry_id = _decode_token(page_token, 2)
        try:
            before = (datetime.fromisoformat(at_text).astimezone(timezone.utc), entry_id)
        except ValueError:
            raise InvalidInput({"page_token": "is not a token this service gave out"}) from None
    with deps.store.read() as tx:
        entries = tx.access_log_page(professional_id, before, size + 1)
    token = ""
    if len(entries) > size:
        entries = entries[:size]
        token = _encode_token(entries[-1].occurred_at.isoformat(), entries[-1].entry_id)
    return entries, token


# --------------------------------------------------------------------------- the overview report


@dataclass(frozen=True)
class ReportRequest:
    organisation_id: str
    report_format: ReportFormat
    requested_by_account_id: str
    min_log_position: int = 0
    language: Language = Language.NL


@dataclass(frozen=True)
class GeneratedReport:
    report: OverviewReport
    content_type: str
    filename: str
    content: Iterator[bytes]


def report_violations(organisation_id: str, requested_by_account_id: str, min_log_position: int) -> dict[str, str]:
    violations = id_violations(organisation_id=organisation_id, requested_by_account_id=requested_by_account_id)
    if min_log_position < 0:
        violations["min_log_position"] = "must not be negative"
    return violations


def generate_report(request: ReportRequest, deps: Deps) -> GeneratedReport:
    """Build the overview report of an organisation; the generation is logged before any byte leaves.

    The log (report id, who, when, format, log position, and one inclusion entry per professional
    with the consent that counted) is enough to reproduce which professionals a report showed.
    """
    violations = report_violations(request.organisation_id, request.requested_by_account_id,
                                   request.min_log_position)
    if violations:
        raise InvalidInput(violations)
    started = time.perf_counter()
    wait_for_position(request.min_log_position, deps)
    organisation = deps.organisations.organisation(request.organisation_id)
    if not organisation.authorised:
        raise OrganisationNotAuthorised(request.organisation_id)
    # Asked now, after the request arrived: a contact removed before it counts for nobody, though
    # consent's events ending its consents may still be on their way to the read model.
    contacts = deps.organisations.contact_ids(request.organisation_id)
    renderer = deps.renderers[request.report_format]
    report_id = deps.new_id()
    with deps.store.write() as tx:
        now = deps.clock.now()
        position = tx.applied_through()
        consents, records = tx.organisation_report_data(request.organisation_id, local_date(now))
        rows = report_rows([c for c in consents if c.contact_id in contacts], records, {}, now)
        filename = report_filename(organisation.name, organisation.organisation_id, now, renderer.extension)
        tx.log_report(ReportRecord(report_id, request.organisation_id, request.requested_by_account_id,
                                   request.report_format.value, request.language.value, position, now, len(rows),
                                   filename), rows, [deps.new_id() for _ in rows])
    rows = with_names(rows, deps.accounts.display_names([row.professional_id for row in rows]))
    report = OverviewReport(report_id=report_id, organisation_id=request.organisation_id,
                            organisation_name=organisation.name, generated_at=now, log_position=position,
                            language=request.language, rows=tuple(rows), summary=summarise(rows))
    log.info("overview report generated", report_id=report_id, organisation_id=request.organisation_id,
             format=request.report_format.value, professionals=len(rows), log_position=position)

    def content() -> Iterator[bytes]:
        yield from renderer.render(report)
        deps.metrics.report_generated(request.report_format.value, time.perf_counter() - started)

    return GeneratedReport(report, renderer.content_type, filename, content())
