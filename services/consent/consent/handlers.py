"""Use cases of the consent service: short functions of a command and injected dependencies.

Writes happen inside `store.writing()`, one serialised transaction that holds the consent, its
history row, its outbox event and its receipt mail together. Remote calls (organisation, identity)
are made before it, never while the write lock is held.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from svckit.clock import Clock
from svckit.logs import get_logger

from consent import domain
from consent.clients import Account, AccountDirectory, DirectoryUnavailable, OrganisationDirectory
from consent.domain import (Addressee, ChangeKind, Consent, ConsentChanged, ConsentNotActive, ConsentNotFound,
                            NotContactsOf, OrganisationNotAuthorised, ProfessionalUnknown, Reason)
from consent.mails import Mails
from consent.repository import Change, ConsentStore, LoggedEvent, PageKey, Reader, Writer

log = get_logger(__name__)


@dataclass
class Dependencies:
    store: ConsentStore
    clock: Clock
    organisations: OrganisationDirectory
    accounts: AccountDirectory
    mails: Mails
    reminder_days: int = 14
    # Called after a commit that wrote events, so the relay publishes now rather than at its next poll.
    on_events: Callable[[], None] = field(default=lambda: None)


# --- commands and results ----------------------------------------------------------------------------

@dataclass(frozen=True)
class GrantConsents:
    professional_id: str
    pe_registration_number: str
    organisation_id: str
    contact_ids: tuple[str, ...]
    end_date: date | None
    idempotency_key: str = ""


@dataclass(frozen=True)
class ChangeEndDate:
    consent_id: str
    professional_id: str
    end_date: date | None


@dataclass(frozen=True)
class RevokeConsent:
    consent_id: str
    professional_id: str


@dataclass(frozen=True)
class Written:
    consents: list[Consent]
    log_position: int


@dataclass(frozen=True)
class ConsentPage:
    consents: list[Consent]
    more: bool
    log_position: int = 0


# --- grant, change, revoke ---------------------------------------------------------------------------

def grant_consents(command: GrantConsents, deps: Dependencies) -> Written:
    domain.check_end_date(command.end_date, deps.clock.now())
    if command.idempotency_key:
        with deps.store.reading() as reader:
            answered = _replay(reader, command)
        if answered:
            return answered
    asked_at = deps.clock.now()
    organisation, contacts = _grantees(command, deps.organisations)
    account = deps.accounts.get_account(command.professional_id)
    if account is None:
        raise ProfessionalUnknown(command.professional_id)
    with deps.store.writing() as writer:
        answered = _replay(writer, command) if command.idempotency_key else None
        if answered:
            return answered
        if writer.suspended_after(command.organisation_id, asked_at):
            # suspended (and its consents ended) after organisation answered 'authorised'
            raise OrganisationNotAuthorised(command.organisation_id)
        result, granted = _grant_in(writer, command, deps, account, organisation.name, contacts)
    if granted:
        deps.on_events()
    return result


def _grantees(command: GrantConsents, organisations: OrganisationDirectory):
    """The organisation, authorised now, and the asked contacts' names; refuses anything else."""
    organisation = organisations.get_organisation(command.organisation_id)
    if organisation is None or not organisation.authorised:
        raise OrganisationNotAuthorised(command.organisation_id)
    found = organisations.get_contacts(list(dict.fromkeys(command.contact_ids)))
    wrong = [index for index, contact_id in enumerate(command.contact_ids)
             if found.get(contact_id) is None or found[contact_id].organisation_id != command.organisation_id]
    if wrong:
        raise NotContactsOf(wrong)
    return organisation, {contact_id: contact.name for contact_id, contact in found.items()}


def _grant_in(writer: Writer, command: GrantConsents, deps: Dependencies, account: Account,
              organisation_name: str, contact_names: dict[str, str]) -> tuple[Written, list[Consent]]:
    now = deps.clock.now()
    contact_ids = list(dict.fromkeys(command.contact_ids))
    removed = writer.removed_among(contact_ids)
    if removed:
        raise NotContactsOf([i for i, contact_id in enumerate(command.contact_ids) if contact_id in removed])
    holding = writer.active_of(command.professional_id, contact_ids)
    result, granted = [], []
    for contact_id in contact_ids:
        current = holding.get(contact_id)
        if current is not None and current.is_valid(now):
            result.append(current)  # already holds a valid consent: that one is the answer
            continue
        if current is not None:
            _expire(writer, current, now)  # lapsed, the expiry job has not come by yet
        consent = domain.grant(professional_id=command.professional_id,
                               pe_registration_number=command.pe_registration_number,
                               organisation_id=command.organisation_id, contact_id=contact_id,
                               end_date=command.end_date, now=now)
        addressee = _addressee(account, contact_names[contact_id], organisation_name)
        writer.add(consent, addressee, _reminder_settled(consent.end_date, now, deps.reminder_days))
        writer.record(ConsentChanged(consent, ChangeKind.GRANTED, now))
        result.append(consent)
        granted.append(consent)
    if granted:
        addressee = _addressee(account, "", organisation_name)
        writer.enqueue_mail(deps.mails.granted(addressee, granted, [contact_names[c.contact_id] for c in granted]),
                            now)
    position = writer.last_position or writer.head_position()
    if command.idempotency_key:
        writer.remember_grant(command.professional_id, command.idempotency_key,
                              [c.consent_id for c in result], position, now)
    log.info("consents granted", granted=len(granted), kept=len(result) - len(granted),
             organisation_id=command.organisation_id, log_position=position)
    return Written(result, position), granted


def _replay(reader: Reader, command: GrantConsents) -> Written | None:
    record = reader.grant_request(command.professional_id, command.idempotency_key)
    if record is None:
        return None
    return Written(reader.get_many(record.consent_ids), record.log_position)


def change_end_date(command: ChangeEndDate, deps: Dependencies) -> Written:
    account = _account_if_reachable(deps, command.professional_id)
    with deps.store.writing() as writer:
        now = deps.clock.now()
        consent = _owned(writer, command.consent_id, command.professional_id)
        if consent.is_valid(now) and consent.end_date == command.end_date:
            return Written([consent], writer.head_position())  # nothing changes: no event, no mail
        changed = consent.change_end_date(command.end_date, now)
        if not writer.save(changed, previous_sequence=consent.sequence,
                           reminder_sent_at=_reminder_settled(changed.end_date, now, deps.reminder_days)):
            raise ConsentNotActive(consent.consent_id)  # changed meanwhile; cannot happen under the lock
        position = writer.record(ConsentChanged(changed, ChangeKind.CHANGED, now))
        addressee = _current_addressee(writer, consent.consent_id, account)
        writer.enqueue_mail(deps.mails.changed(addressee, changed, now), now)
    deps.on_events()
    return Written([changed], position)


def revoke_consent(command: RevokeConsent, deps: Dependencies) -> Written:
    account = _account_if_reachable(deps, command.professional_id)
    with deps.store.writing() as writer:
        now = deps.clock.now()
        consent = _owned(writer, command.consent_id, command.professional_id)
        revoked = consent.revoke(now)
        if not writer.save(revoked, previous_sequence=consent.sequence):
            raise ConsentNotActive(consent.consent_id)  # changed meanwhile; cannot happen under the lock
        position = writer.record(ConsentChanged(revoked, ChangeKind.REVOKED, now))
        addressee = _current_addressee(writer, consent.consent_id, account)
        writer.enqueue_mail(deps.mails.revoked(addressee, revoked), now)
    deps.on_events()
    return Written([revoked], position)


def _owned(reader: Reader, consent_id: str, professional_id: str) -> Consent:
    consent = reader.get(consent_id)
    if consent is None or consent.professional_id != professional_id:
        raise ConsentNotFound(consent_id)
    return consent


def _account_if_reachable(deps: Dependencies, professional_id: str) -> Account | None:
    """The professional's current mail details; a revocation never waits for identity to be up."""
    try:
        return deps.accounts.get_account(professional_id)
    except DirectoryUnavailable as error:
        log.warning("identity unavailable, mailing the stored address", error=str(error))
        return None


def _current_addressee(writer: Writer, consent_id: str, account: Account | None) -> Addressee:
    stored = writer.addressee(consent_id)
    if account is None:
        return stored
    current = _addressee(account, stored.contact_name, stored.organisation_name)
    if current != stored:
        writer.update_addressee(consent_id, current)
    return current


def _addressee(account: Account, contact_name: str, organisation_name: str) -> Addressee:
    return Addressee(email=account.email, name=account.display_name, language=account.language,
                     contact_name=contact_name, organisation_name=organisation_name)


def _reminder_settled(end_date: date | None, now: datetime, reminder_days: int) -> datetime | None:
    """An end date already within the reminder period is in the receipt itself: no reminder after."""
    due = domain.reminder_due_on(end_date, reminder_days)
    return now if due is not None and due <= domain.local_today(now) else None


def _expire(writer: Writer, consent: Consent, now: datetime) -> bool:
    expired = consent.expire(now)
    if not writer.save(expired, previous_sequence=consent.sequence):
        return False
    writer.record(ConsentChanged(expired, ChangeKind.EXPIRED, expired.end_time))
    return True


# --- reads -------------------------------------------------------------------------------------------

def get_consent(consent_id: str, deps: Dependencies) -> Consent:
    with deps.store.reading() as reader:
        consent = reader.get(consent_id)
    if consent is None:
        raise ConsentNotFound(consent_id)
    return consent


def check_access(contact_id: str, professional_id: str, deps: Dependencies) -> Consent | None:
    """The consent that lets this contact see this professional's dossier now, if any."""
    return deps.store.check_access(contact_id, professional_id, deps.clock.now())


def check_access_batch(contact_id: str, professional_ids: Sequence[str], deps: Dependencies) -> list[Consent]:
    """The consents that let this contact see these professionals' dossiers now, in the order
    asked; a professional without one is not allowed."""
    with deps.store.reading() as reader:
        found = {c.professional_id: c for c in reader.allowed_among(contact_id, professional_ids, deps.clock.now())}
    return [found[p] for p in dict.fromkeys(professional_ids) if p in found]


def list_consents(professional_id: str, include_ended: bool, after: PageKey | None, size: int,
                  deps: Dependencies) -> ConsentPage:
    with deps.store.reading() as reader:
        found = reader.by_professional(professional_id, include_ended=include_ended, now=deps.clock.now(),
                                       key=after, limit=size + 1)
    return ConsentPage(found[:size], len(found) > size)


def list_contact_professionals(contact_id: str, after: PageKey | None, size: int,
                               deps: Dependencies) -> ConsentPage:
    with deps.store.reading() as reader:
        found = reader.valid_by_contact(contact_id, deps.clock.now(), after, size + 1)
    return ConsentPage(found[:size], len(found) > size)


def list_organisation_professionals(organisation_id: str, after: PageKey | None, size: int,
                                    deps: Dependencies) -> ConsentPage:
    with deps.store.reading() as reader:
        # The position first: the list is at least as new, and a reader that goes on from it
        # with the events after it misses nothing (events carry sequences for what it saw already).
        position = reader.head_position()
        found = reader.valid_by_organisation(organisation_id, deps.clock.now(), after, size + 1)
    return ConsentPage(found[:size], len(found) > size, position)


def list_history(professional_id: str, after_change_id: int, size: int,
                 deps: Dependencies) -> tuple[list[Change], bool]:
    with deps.store.reading() as reader:
        found = reader.history(professional_id, after_change_id, size + 1)
    return found[:size], len(found) > size


def list_events(after_position: int, size: int, deps: Dependencies) -> tuple[list[LoggedEvent], int]:
    with deps.store.reading() as reader:
        found = reader.events_after(after_position, size)
        head = reader.head_position()
    return found, head


# --- background: expiry, reminders, system ends ------------------------------------------------------

def expire_lapsed(deps: Dependencies, batch: int = 200) -> int:
    """Marks consents whose end date passed as expired; one expired event per consent, also when
    several replicas run this at once (the conditional update decides who records it)."""
    with deps.store.reading() as reader:
        candidates = reader.lapsed_ids(deps.clock.now(), batch)
    if not candidates:
        return 0
    expired = 0
    with deps.store.writing() as writer:
        now = deps.clock.now()
        for consent in writer.get_many(candidates):
            if consent.has_lapsed(now) and _expire(writer, consent, now):
                expired += 1
    if expired:
        log.info("consents expired", count=expired)
        deps.on_events()
    return expired


def send_reminders(deps: Dependencies, batch: int = 200) -> int:
    """Mails each professional once, `reminder_days` before a consent's end date."""
    now = deps.clock.now()
    due_by = domain.local_today(now) + timedelta(days=deps.reminder_days)
    with deps.store.reading() as reader:
        candidates = reader.reminder_candidates(due_by, now, batch)
    if not candidates:
        return 0
    sent = 0
    with deps.store.writing() as writer:
        now = deps.clock.now()
        for consent in writer.get_many(candidates):
            if consent.is_valid(now) and writer.claim_reminder(consent.consent_id, now):
                writer.enqueue_mail(deps.mails.reminder(writer.addressee(consent.consent_id), consent), now)
                sent += 1
    if sent:
        log.info("end-date reminders queued", count=sent)
    return sent


@dataclass(frozen=True)
class IncomingEvent:
    """An organisation event, by its CloudEvent id (for idempotence)."""
    event_id: str
    type: str


def end_for_removed_contact(event: IncomingEvent, contact_id: str, deps: Dependencies) -> int:
    return _end_by_system(event, Reason.CONTACT_REMOVED, deps, contact_id=contact_id)


def end_for_suspended_organisation(event: IncomingEvent, organisation_id: str, deps: Dependencies) -> int:
    return _end_by_system(event, Reason.ORGANISATION_SUSPENDED, deps, organisation_id=organisation_id)


def _end_by_system(event: IncomingEvent, reason: Reason, deps: Dependencies, *, contact_id: str | None = None,
                   organisation_id: str | None = None) -> int:
    ended = 0
    with deps.store.writing() as writer:
        now = deps.clock.now()
        if not writer.mark_processed(event.event_id, event.type, now):
            log.info("organisation event seen before, ignored", event_id=event.event_id)
            return 0
        if contact_id is not None:
            writer.note_contact_removed(contact_id, now)
            ids = writer.active_ids_of_contact(contact_id)
        else:
            writer.note_suspension(organisation_id, now)
            ids = writer.active_ids_of_organisation(organisation_id)
        for consent in writer.get_many(ids):
            closed = consent.end_by_system(reason, now)
            if writer.save(closed, previous_sequence=consent.sequence):
                writer.record(ConsentChanged(closed, domain.change_kind_for(closed), closed.end_time))
                ended += 1
    if ended:
        log.info("consents ended by the system", count=ended, reason=reason.value)
        deps.on_events()
    return ended

