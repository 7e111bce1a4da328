"""The reporting service's rules: consent validity, the read model's ordering rules, PE progress,
'on track', and the overview report's rows and summary. Nothing here touches infrastructure.

Consent validity follows the conventions: a consent holds while it is active and its end date (a
calendar date, inclusive, in Europe/Amsterdam) has not passed, i.e. until 00:00 Amsterdam time of
the day after the end date.

'On track' (documented for readers of the report): a professional whose renewal dossier is not yet
submitted is on track when the points earned are at least the points required times the fraction
of the PE period elapsed (days elapsed, today included, over the days in the period, capped to
0..1). Before the period starts nothing is expected; once it has ended everything is.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from enum import Enum
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

MAX_REGISTRATION_NUMBER = 64
MAX_TEXT = 300
MAX_CATEGORY = 100
MAX_ACTIVITIES = 2000
MAX_POINTS = 100_000.0
REGISTRATION_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class InvalidInput(Exception):
    """Input that breaks a rule; `violations` maps each field to what is wrong with it."""

    def __init__(self, violations: Mapping[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in violations.items()))
        self.violations = dict(violations)


class NotFound(Exception):
    """Nothing to show: absent, or not for this reader (the two are not told apart)."""


def is_uuid(value: str) -> bool:
    return bool(UUID.match(value or ""))


# --------------------------------------------------------------------------- consents


class ConsentState(str, Enum):
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"
    ENDED = "ended"


@dataclass(frozen=True)
class Consent:
    """The read model's view of one consent, as its newest applied event left it."""
    consent_id: str
    professional_id: str
    pe_registration_number: str
    organisation_id: str
    contact_id: str
    valid_from: datetime
    end_date: date | None
    state: ConsentState
    reason: str | None
    sequence: int


@dataclass(frozen=True)
class ConsentEvent:
    """One entry of the consent service's event log, from the broker or from ListConsentEvents."""
    event_id: str
    type: str
    consent: Consent
    position: int | None = None
    occurred_at: datetime | None = None


def event_problem(event: ConsentEvent) -> str | None:
    """Why the read model cannot store this event, if it cannot (field sizes of its tables)."""
    consent = event.consent
    if not event.event_id or len(event.event_id) > 100:
        return "event id missing or longer than 100 characters"
    for name in ("consent_id", "professional_id", "organisation_id", "contact_id"):
        value = getattr(consent, name)
        if not value or len(value) > 36:
            return f"{name} missing or longer than 36 characters"
    if not consent.pe_registration_number or len(consent.pe_registration_number) > MAX_REGISTRATION_NUMBER:
        return f"pe_registration_number missing or longer than {MAX_REGISTRATION_NUMBER} characters"
    if consent.reason and len(consent.reason) > 64:
        return "reason longer than 64 characters"
    return None


class Outcome(str, Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"   # this event id was applied before
    STALE = "stale"           # the stored consent is already at this sequence or newer


def local_date(moment: datetime) -> date:
    """The calendar date in Amsterdam at this instant."""
    return moment.astimezone(AMSTERDAM).date()


def end_of_validity(end_date: date) -> datetime:
    """The first instant (UTC) at which a consent ending on `end_date` no longer holds."""
    next_day = datetime.combine(end_date + timedelta(days=1), time(0), tzinfo=AMSTERDAM)
    return next_day.astimezone(timezone.utc)


def is_valid(consent: Consent, now: datetime) -> bool:
    if consent.state is not ConsentState.ACTIVE:
        return False
    return consent.end_date is None or now < end_of_validity(consent.end_date)


def supersedes(event: ConsentEvent, stored: Consent | None) -> bool:
    """Does the event bring news? Only a higher per-consent sequence does; older ones change nothing."""
    return stored is None or event.consent.sequence > stored.sequence


@dataclass(frozen=True)
class PositionUpdate:
    applied_through: int
    add_pending: int | None = None
    remove_pending: tuple[int, ...] = ()


def advance_position(applied_through: int, pending: Sequence[int], position: int | None) -> PositionUpdate:
    """Record one applied log position.

    `applied_through` is the highest P such that every position <= P has been applied;
    `pending` (ascending) are the applied positions beyond a gap. A position that closes the gap
    absorbs the pending ones that follow it without a hole.
    """
    if position is None or position <= applied_through or position in pending:
        return PositionUpdate(applied_through)
    if position != applied_through + 1:
        return PositionUpdate(applied_through, add_pending=position)
    through, absorbed = position, []
    for candidate in pending:
        if candidate == through + 1:
            through = candidate
            absorbed.append(candidate)
        elif candidate > through + 1:
            break
    return PositionUpdate(through, remove_pending=tuple(absorbed))


# --------------------------------------------------------------------------- PE progress


@dataclass(frozen=True)
class Activity:
    title: str
    provider: str
    completion_date: date
    points: float
    category: str

    def as_dict(self) -> dict:
        return {"title": self.title, "provider": self.provider,
                "completion_date": self.completion_date.isoformat(), "points": self.points,
                "category": self.category}


@dataclass(frozen=True)
class Progress:
    """PE progress of one professional as the PE registry reports it (a full snapshot)."""
    pe_registration_number: str
    period_start: date
    period_end: date
    points_required: float
    points_earned: float
    renewal_submitted_date: date | None
    activities: tuple[Activity, ...] = ()

    def as_dict(self) -> dict:
        return {"pe_registration_number": self.pe_registration_number,
                "period_start": self.period_start.isoformat(), "period_end": self.period_end.isoformat(),
                "points_required": self.points_required, "points_earned": self.points_earned,
                "renewal_submitted_date": (self.renewal_submitted_date.isoformat()
                                           if self.renewal_submitted_date else None),
                "activities": [a.as_dict() for a in self.activities]}

    def fingerprint(self) -> str:
        """Equal for equal content, so a repeated import is recognised as 'unchanged'."""
        canonical = json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def _text(value, name: str, violations: dict, *, required: bool, limit: int) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        violations[name] = "must be text"
        return ""
    value = " ".join(value.split())
    if required and not value:
        violations[name] = "is required"
    elif len(value) > limit:
        violations[name] = f"must be at most {limit} characters"
    return value


def _date(value, name: str, violations: dict, *, required: bool) -> date | None:
    if value is None or value == "":
        if required:
            violations[name] = "is required"
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        parsed = parse_date(value)
        if parsed is not None:
            return parsed
    violations[name] = "must be a date (YYYY-MM-DD or DD-MM-YYYY)"
    return None


def parse_date(text: str) -> date | None:
    """YYYY-MM-DD (ISO 8601) or DD-MM-YYYY (Dutch); anything else is None."""
    text = text.strip()
    for pattern, order in ((r"^(\d{4})-(\d{2})-(\d{2})$", "ymd"), (r"^(\d{2})-(\d{2})-(\d{4})$", "dmy")):
        match = re.match(pattern, text)
        if match:
            parts = dict(zip(order, map(int, match.groups())))
            try:
                return date(parts["y"], parts["m"], parts["d"])
            except ValueError:
                return None
    return None


def parse_number(value) -> float | None:
    """A number from JSON, or text with a decimal point or a (Dutch) decimal comma."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if "," in text and "." not in text:
            text = text.replace(",", ".")
        try:
            number = float(text)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _points(value, name: str, violations: dict) -> float:
    if value is None or value == "":
        violations[name] = "is required"
        return 0.0
    number = parse_number(value)
    if number is None:
        violations[name] = "must be a number"
        return 0.0
    if not 0 <= number <= MAX_POINTS:
        violations[name] = f"must be between 0 and {MAX_POINTS:g}"
        return 0.0
    return round(number, 2)


def check_progress(record: Mapping) -> Progress:
    """A progress record from outside (event, RPC, import) checked field by field.

    Raises InvalidInput naming every bad field (activities as activities[2].points).
    """
    violations: dict[str, str] = {}
    number = _text(record.get("pe_registration_number"), "pe_registration_number", violations,
                   required=True, limit=MAX_REGISTRATION_NUMBER)
    if number and "pe_registration_number" not in violations and not REGISTRATION_NUMBER.match(number):
        violations["pe_registration_number"] = "may hold letters, digits, '.', '_', '/' and '-' only"
    start = _date(record.get("period_start"), "period_start", violations, required=True)
    end = _date(record.get("period_end"), "period_end", violations, required=True)
    if start and end and end < start:
        violations["period_end"] = "must not be before period_start"
    required = _points(record.get("points_required"), "points_required", violations)
    earned = _points(record.get("points_earned"), "points_earned", violations)
    submitted = _date(record.get("renewal_submitted_date"), "renewal_submitted_date", violations,
                      required=False)
    raw_activities = record.get("activities") or []
    activities: list[Activity] = []
    if not isinstance(raw_activities, (list, tuple)):
        violations["activities"] = "must be a list"
        raw_activities = []
    elif len(raw_activities) > MAX_ACTIVITIES:
        violations["activities"] = f"at most {MAX_ACTIVITIES} activities"
        raw_activities = []
    for index, raw in enumerate(raw_activities):
        prefix = f"activities[{index}]"
        if not isinstance(raw, Mapping):
            violations[prefix] = "must be an object"
            continue
        found: dict[str, str] = {}
        title = _text(raw.get("title"), "title", found, required=True, limit=MAX_TEXT)
        provider = _text(raw.get("provider"), "provider", found, required=False, limit=MAX_TEXT)
        completed = _date(raw.get("completion_date"), "completion_date", found, required=True)
        points = _points(raw.get("points"), "points", found)
        category = _text(raw.get("category"), "category", found, required=False, limit=MAX_CATEGORY)
        violations.update({f"{prefix}.{k}": v for k, v in found.items()})
        if not found:
            activities.append(Activity(title, provider, completed, points, category))
    if violations:
        raise InvalidInput(violations)
    activities.sort(key=lambda a: (a.completion_date, a.title, a.provider, a.category, a.points))
    return Progress(number, start, end, required, earned, submitted, tuple(activities))


class ProgressStatus(str, Enum):
    DOSSIER_SUBMITTED = "dossier_submitted"
    ON_TRACK = "on_track"
    BEHIND = "behind"
    NO_DATA = "no_data"   # a consenting professional the PE registry has told us nothing about yet


def elapsed_fraction(start: date, end: date, today: date) -> float:
    """The share of the PE period gone by today (today counted as gone), 0..1."""
    total_days = (end - start).days + 1
    gone = (today - start).days + 1
    return min(max(gone / total_days, 0.0), 1.0)


def progress_percent(progress: Progress) -> float:
    """Points earned against points required, in per cent (may exceed 100)."""
    if progress.points_required <= 0:
        return 100.0
    return round(progress.points_earned / progress.points_required * 100, 1)


def progress_status(progress: Progress | None, today: date) -> ProgressStatus:
    if progress is None:
        return ProgressStatus.NO_DATA
    if progress.renewal_submitted_date is not None:
        return ProgressStatus.DOSSIER_SUBMITTED
    expected = progress.points_required * elapsed_fraction(progress.period_start, progress.period_end, today)
    # A hair of tolerance so that 20.0 earned against 19.999999 expected is not 'behind'.
    return ProgressStatus.ON_TRACK if progress.points_earned + 1e-9 >= expected else ProgressStatus.BEHIND


# --------------------------------------------------------------------------- overview report


@dataclass(frozen=True)
class ReportRow:
    professional_id: str
    display_name: str
    pe_registration_number: str
    progress: Progress | None
    percent: float | None
    status: ProgressStatus
    valid_until: date | None          # None: at least one valid consent has no end date
    consent_id: str                   # the consent that gives the latest validity (for the access log)
    consent_ids: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Summary:
    professionals: int
    on_track: int
    behind: int
    dossier_submitted: int
    no_data: int

    def as_dict(self) -> dict:
        return {"professionals": self.professionals, "on_track": self.on_track, "behind": self.behind,
                "dossier_submitted": self.dossier_submitted, "no_data": self.no_data}


def _validity_key(consent: Consent) -> tuple:
    # No end date outlasts any date; ties broken by id so the choice is stable.
    return (consent.end_date is None, consent.end_date or date.min, consent.consent_id)


def report_rows(consents: Iterable[Consent], progress: Mapping[str, Progress],
                names: Mapping[str, str], now: datetime) -> list[ReportRow]:
    """One row per professional with at least one valid consent among `consents`, sorted by name.

    Consents that do not hold at `now` are dropped here, whatever the caller selected, so that
    nothing of a professional without a valid consent reaches a report.
    """
    today = local_date(now)
    by_professional: dict[str, list[Consent]] = {}
    for consent in consents:
        if is_valid(consent, now):
            by_professional.setdefault(consent.professional_id, []).append(consent)
    rows = []
    for professional_id, held in by_professional.items():
        best = max(held, key=_validity_key)
        newest = max(held, key=lambda c: (c.valid_from, c.consent_id))
        number = newest.pe_registration_number
        record = progress.get(number)
        rows.append(ReportRow(
            professional_id=professional_id, display_name=names.get(professional_id, ""),
            pe_registration_number=number, progress=record,
            percent=progress_percent(record) if record else None,
            status=progress_status(record, today), valid_until=best.end_date,
            consent_id=best.consent_id, consent_ids=tuple(sorted(c.consent_id for c in held))))
    return with_names(rows, names)


def summarise(rows: Sequence[ReportRow]) -> Summary:
    """Counts over the report's own rows only: it can say nothing of anyone who did not consent."""
    counts = {status: 0 for status in ProgressStatus}
    for row in rows:
        counts[row.status] += 1
    return Summary(professionals=len(rows), on_track=counts[ProgressStatus.ON_TRACK],
                   behind=counts[ProgressStatus.BEHIND],
                   dossier_submitted=counts[ProgressStatus.DOSSIER_SUBMITTED],
                   no_data=counts[ProgressStatus.NO_DATA])


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].strip("-")


def report_filename(organisation_name: str, organisation_id: str, now: datetime, extension: str) -> str:
    name = slug(organisation_name) or organisation_id[:8]
    return f"pe-overview-{name}-{local_date(now).isoformat()}.{extension}"


def with_names(rows: Iterable[ReportRow], names: Mapping[str, str]) -> list[ReportRow]:
    """The rows with display names filled in, in the report's order (by name)."""
    named = [replace(row, display_name=names.get(row.professional_id, row.display_name)) for row in rows]
    named.sort(key=lambda r: (r.display_name.casefold() or "\uffff", r.pe_registration_number, r.professional_id))
    return named


class Language(str, Enum):
    NL = "nl"
    EN = "en"


class ReportFormat(str, Enum):
    JSON = "json"
    PDF = "pdf"
    XLSX = "xlsx"


@dataclass(frozen=True)
class OverviewReport:
    """Everything a renderer needs: the rows of consenting professionals and nothing else."""
    report_id: str
    organisation_id: str
    organisation_name: str
    generated_at: datetime
    log_position: int
    language: Language
    rows: tuple[ReportRow, ...]
    summary: Summary
