"""The consent domain: a professional's consent to one contact, its rules and its transitions.

No infrastructure here: plain dataclasses and functions of the clock's time, so every rule can be
tested by moving time instead of waiting.

An end date is a calendar date in Europe/Amsterdam and inclusive: the consent holds through the
last instant of that day there, i.e. until (not including) the next local midnight. That instant
is kept beside the date (`valid_until`), so the access check compares one stored instant with now.
"""
from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
MAX_CONTACTS_PER_GRANT = 50
# The last end date whose end, the next midnight in Amsterdam, a datetime can hold (9999-12-30).
LATEST_END_DATE = date.max - timedelta(days=1)


class State(str, enum.Enum):
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"
    ENDED = "ended"          # by the system: contact removed or organisation suspended


class ChangeKind(str, enum.Enum):
    GRANTED = "granted"
    CHANGED = "changed"
    REVOKED = "revoked"
    EXPIRED = "expired"
    ENDED = "ended"


class Reason(str, enum.Enum):
    REVOKED = "revoked"
    EXPIRED = "expired"
    CONTACT_REMOVED = "contact_removed"
    ORGANISATION_SUSPENDED = "organisation_suspended"


# --- errors: what a use case refuses, for the servicer to turn into a status -----------------------

class ConsentError(Exception):
    """A rule of the domain refused the request."""


class ConsentNotFound(ConsentError):
    """No such consent, or not the caller's: the two are not told apart."""


class ConsentNotActive(ConsentError):
    """The consent has already ended (revoked, expired, ended or past its end date)."""


class EndDateInPast(ConsentError):
    """An end date before today in Amsterdam."""


class EndDateTooLate(ConsentError):
    """An end date after LATEST_END_DATE, whose end cannot be represented."""


class OrganisationNotAuthorised(ConsentError):
    """Unknown, pending, rejected or suspended: invisible to professionals, so not told apart."""


class NotContactsOf(ConsentError):
    """Some of the contacts asked for are not (or no longer) contacts of the organisation."""

    def __init__(self, positions: list[int]):
        super().__init__(f"not contacts of the organisation: positions {positions}")
        self.positions = positions


class ProfessionalUnknown(ConsentError):
    """No account for the professional, so nobody to send the receipt to."""


# --- time rules --------------------------------------------------------------------------------------

def local_today(now: datetime) -> date:
    """The calendar date in Amsterdam at this instant."""
    return now.astimezone(AMSTERDAM).date()


def valid_until(end_date: date | None) -> datetime | None:
    """The first instant (UTC) at which a consent with this end date no longer holds.

    Local midnight after the end date; midnight exists on every Amsterdam day (the clocks change at
    02:00 and 03:00), so this is well defined across daylight-saving changes.
    """
    if end_date is None:
        return None
    return datetime.combine(end_date + timedelta(days=1), time(0), tzinfo=AMSTERDAM).astimezone(timezone.utc)


def check_end_date(end_date: date | None, now: datetime) -> None:
    """An end date may be today (it then holds until midnight) but not in the past, nor after
    LATEST_END_DATE."""
    if end_date is None:
        return
    if end_date > LATEST_END_DATE:
        raise EndDateTooLate(f"the end date {end_date.isoformat()} is after {LATEST_END_DATE.isoformat()}")
    if end_date < local_today(now):
        raise EndDateInPast(f"the end date {end_date.isoformat()} has passed")


def reminder_due_on(end_date: date | None, reminder_days: int) -> date | None:
    """The Amsterdam day from which the professional is reminded of an approaching end date."""
    return None if end_date is None else end_date - timedelta(days=reminder_days)


# --- the entity --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Consent:
    consent_id: str
    professional_id: str
    pe_registration_number: str
    organisation_id: str
    contact_id: str
    valid_from: datetime
    end_date: date | None
    state: State
    end_time: datetime | None
    end_reason: Reason | None
    sequence: int

    @property
    def valid_until(self) -> datetime | None:
        return valid_until(self.end_date)

    def is_valid(self, now: datetime) -> bool:
        """Active and not past its end date, whether or not the expiry job has run yet."""
        if self.state is not State.ACTIVE:
            return False
        until = self.valid_until
        return until is None or now < until

    def has_lapsed(self, now: datetime) -> bool:
        """Still marked active, but its end date has passed: the expiry job's work."""
        return self.state is State.ACTIVE and not self.is_valid(now)

    # transitions: each answers the consent after the change, one sequence number further

    def change_end_date(self, end_date: date | None, now: datetime) -> Consent:
        self._require_valid(now)
        check_end_date(end_date, now)
        return replace(self, end_date=end_date, sequence=self.sequence + 1)

    def revoke(self, now: datetime) -> Consent:
        self._require_valid(now)
        return self._close(State.REVOKED, Reason.REVOKED, now)

    def expire(self, now: datetime) -> Consent:
        """Record that the end date passed; it stopped holding at the end of that day."""
        if not self.has_lapsed(now):
            raise ConsentNotActive(self.consent_id)
        return self._close(State.EXPIRED, Reason.EXPIRED, self.valid_until)

    def end_by_system(self, reason: Reason, now: datetime) -> Consent:
        """The contact was removed or the organisation suspended. A consent whose end date had
        passed already expired then, and is recorded as such."""
        if self.has_lapsed(now):
            return self.expire(now)
        self._require_valid(now)
        return self._close(State.ENDED, reason, now)

    def _require_valid(self, now: datetime) -> None:
        if not self.is_valid(now):
            raise ConsentNotActive(self.consent_id)

    def _close(self, state: State, reason: Reason, at: datetime) -> Consent:
        return replace(self, state=state, end_time=at, end_reason=reason, sequence=self.sequence + 1)


def grant(*, professional_id: str, pe_registration_number: str, organisation_id: str, contact_id: str,
          end_date: date | None, now: datetime) -> Consent:
    check_end_date(end_date, now)
    return Consent(consent_id=str(uuid.uuid4()), professional_id=professional_id,
                   pe_registration_number=pe_registration_number, organisation_id=organisation_id,
                   contact_id=contact_id, valid_from=now, end_date=end_date, state=State.ACTIVE,
                   end_time=None, end_reason=None, sequence=1)


# --- what happened: one change of one consent, recorded in the history and published -------------

EVENT_TYPES = {
    ChangeKind.GRANTED: ("pe.consent.granted.v1", "consent.granted"),
    ChangeKind.CHANGED: ("pe.consent.changed.v1", "consent.changed"),
    ChangeKind.REVOKED: ("pe.consent.revoked.v1", "consent.revoked"),
    # A system end is a revocation by the system for subscribers: same type, its own reason.
    ChangeKind.ENDED: ("pe.consent.revoked.v1", "consent.revoked"),
    ChangeKind.EXPIRED: ("pe.consent.expired.v1", "consent.expired"),
}


@dataclass(frozen=True)
class ConsentChanged:
    """One change to a consent: the consent as it is after it, what kind, when and why."""
    consent: Consent
    kind: ChangeKind
    occurred_at: datetime

    @property
    def reason(self) -> Reason | None:
        return self.consent.end_reason if self.kind not in (ChangeKind.GRANTED, ChangeKind.CHANGED) else None

    @property
    def event_type(self) -> str:
        return EVENT_TYPES[self.kind][0]

    @property
    def routing_key(self) -> str:
        return EVENT_TYPES[self.kind][1]


def change_kind_for(consent: Consent) -> ChangeKind:
    """The kind of change that closed a consent in this state."""
    return {State.REVOKED: ChangeKind.REVOKED, State.EXPIRED: ChangeKind.EXPIRED,
            State.ENDED: ChangeKind.ENDED}[consent.state]


# --- who hears of it: the professional, by mail -------------------------------------------------

@dataclass(frozen=True)
class Addressee:
    """What a receipt or reminder needs about the professional and the grantee, kept on the consent
    so later mails (reminder, revocation) do not depend on the other services being up."""
    email: str
    name: str
    language: str            # "nl" or "en"
    contact_name: str
    organisation_name: str
