"""Use cases of the organisation service: short functions taking a command and their dependencies.

Creating a contact (the administrator at registration, or one an organisation adds) spans two
services, so it runs as a small saga keyed by the request's idempotency key:

  1. record the request (state 'started', with the key identity will see, leased to this call);
  2. identity.CreateAccount, sending no link yet;
  3. one transaction: the organisation and/or contact, its transition and events, request 'completed';
     if that fails, identity.DeleteAccount undoes step 2 and the request record is dropped;
  4. identity.IssuePasswordSetupLink, recorded on the contact once done. A failure here is
     retried by the follow-up worker (and at once by a retry with the same key), never undone.

A retry with the same key answers the first result; one arriving while the first is still running
is told so (ABORTED); one arriving after a crash resumes it, with the same identity key, so identity
hands back the same account instead of refusing the username.
"""
from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from enum import Enum
from typing import Protocol

from organisation.domain import (MANAGING_ROLES, MAX_ACTOR, MAX_CITY, MAX_DEPARTMENT, MAX_IDEMPOTENCY_KEY,
                                 MAX_NAME, MAX_STREET, REASON_REQUIRED, Address, AlreadyExists,
                                 ConcurrentChange, Contact, ContactAdded, ContactDetails, ContactRemoved,
                                 ContactRole, InvalidInput, Language, Membership, NotFound, Organisation,
                                 OrganisationStatus, RuleViolated, Transition, Violations, addable_role,
                                 canonical_id, change_contact, change_status, clean_email, clean_phone,
                                 clean_postcode, clean_reason, clean_text, contact_details,
                                 ensure_can_add_contacts, ensure_removable, ensure_second_contact_free,
                                 kvk_number_taken, organisation_details, registration_transition, search_key)
from svckit.clock import Clock
from svckit.logs import get_logger

log = get_logger(__name__)

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200

# --------------------------------------------------------------------------- ports


class LinkPurpose(str, Enum):
    REGISTRATION = "registration"
    CONTACT_INVITATION = "contact_invitation"


@dataclass(frozen=True)
class NewAccount:
    """An employer contact's account, created without a link (the link follows once stored)."""
    username: str
    email: str
    display_name: str
    language: Language


class AccountDirectoryError(Exception):
    """Identity failed or could not be reached: the call may or may not have taken effect."""


class UsernameTaken(Exception):
    """Identity has an account with this username (without regard to case)."""


class AccountRefused(Exception):
    """Identity refused the account's data; violations are keyed username, email, name, language."""

    def __init__(self, violations: Mapping[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in violations.items()))
        self.violations = dict(violations)


class EmailOwnedByHolder(Exception):
    """Identity keeps the account's e-mail: its holder has set a password, so only they change it.
    `email` is the address identity has."""

    def __init__(self, email: str):
        super().__init__("the e-mail is changed only by the account's holder")
        self.email = email


class AccountDirectory(Protocol):
    """What the organisation service needs of identity."""

    def create_account(self, account: NewAccount, *, idempotency_key: str) -> str:
        """The new account's id; the same id again for a repeat with the same key."""

    def delete_account(self, account_id: str) -> None:
        """Undo an account that never set a password; an unknown account counts as deleted."""

    def issue_setup_link(self, account_id: str, purpose: LinkPurpose, mail_context: Mapping[str, str]) -> None:
        ...

    def update_profile(self, account_id: str, *, email: str, display_name: str) -> bool:
        """Give the account this e-mail address and name; answer whether it still awaits its password.
        Raises EmailOwnedByHolder when the address would change but the holder has set a password."""

    def awaits_password(self, account_id: str) -> bool:
        """Whether the account has not set its password yet (an unknown account has not)."""

    def disable_account(self, account_id: str, *, actor_account_id: str, reason: str) -> None:
        ...


class Mails(Protocol):
    def authorisation_confirmation(self, contact: Contact, organisation: Organisation, authorised_at: datetime):
        ...

    def rejection_notice(self, contact: Contact, organisation: Organisation, reason: str, decided_at: datetime):
        ...

    def suspension_notice(self, contact: Contact, organisation: Organisation, reason: str, decided_at: datetime):
        ...


class RequestInProgress(Exception):
    """A request with this idempotency key is still being handled."""

    def __init__(self):
        super().__init__("a request with this idempotency key is still in progress; retry shortly")


@dataclass
class Deps:
    """Everything a use case needs, built once in the composition root (or by a test)."""
    uow: Callable[[], object]            # a new unit of work (repository.SqlUnitOfWork)
    accounts: AccountDirectory
    clock: Clock
    mails: Mails
    new_id: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))
    events_committed: Callable[[], None] = field(default=lambda: None)  # wakes the event relay
    lease: timedelta = timedelta(seconds=60)  # how long one call may hold a request or follow-up


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class OrganisationForm:
    name: str = ""
    chamber_of_commerce_number: str = ""
    street: str = ""
    postcode: str = ""
    city: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class ApplicantForm:
    name: str = ""
    email: str = ""
    phone: str = ""
    username: str = ""
    language: Language = Language.NL


@dataclass(frozen=True)
class RegisterOrganisation:
    organisation: OrganisationForm
    applicant: ApplicantForm
    idempotency_key: str = ""


@dataclass(frozen=True)
class Registered:
    organisation: Organisation
    administrator: Contact


@dataclass(frozen=True)
class UpdateOrganisation:
    organisation_id: str
    organisation: OrganisationForm
    update_mask: tuple[str, ...]
    actor_account_id: str = ""


@dataclass(frozen=True)
class ChangeStatus:
    organisation_id: str
    to_status: OrganisationStatus
    actor_account_id: str
    reason: str = ""


@dataclass(frozen=True)
class ListOrganisations:
    status: OrganisationStatus | None = None
    name_query: str = ""
    city: str = ""
    page_size: int = 0
    page_token: str = ""


@dataclass(frozen=True)
class AddContact:
    organisation_id: str
    role: ContactRole | None
    name: str = ""
    email: str = ""
    phone: str = ""
    department_name: str = ""
    username: str = ""
    language: Language = Language.NL
    actor_account_id: str = ""
    idempotency_key: str = ""


@dataclass(frozen=True)
class UpdateContact:
    contact_id: str
    update_mask: tuple[str, ...]
    role: ContactRole | None = None
    name: str = ""
    email: str = ""
    phone: str = ""
    department_name: str = ""
    actor_account_id: str = ""


@dataclass(frozen=True)
class RemoveContact:
    contact_id: str
    actor_account_id: str = ""


@dataclass(frozen=True)
class ListContacts:
    organisation_id: str
    page_size: int = 0
    page_token: str = ""


@dataclass(frozen=True)
class Page:
    items: list
    next_page_token: str


# --------------------------------------------------------------------------- registration


def register_organisation(command: RegisterOrganisation, deps: Deps) -> Registered:
    violations = Violations()
    form, applicant = command.organisation, command.applicant
    details = organisation_details(
        name=form.name, chamber_of_commerce_number=form.chamber_of_commerce_number, street=form.street,
        postcode=form.postcode, city=form.city, phone=form.phone, email=form.email, violations=violations)
    person = contact_details(role=ContactRole.ADMINISTRATOR, name=applicant.name, email=applicant.email,
                             phone=applicant.phone, department_name="", username=applicant.username,
                             language=applicant.language, violations=violations, prefix="applicant.",
                             phone_required=True)
    key = _idempotency_key(command.idempotency_key, violations)
    violations.check()

    def precheck(uow) -> None:
        if uow.organisations.kvk_number_in_use(details.chamber_of_commerce_number):
            raise kvk_number_taken()

    def store(uow, account_id: str) -> _Made:
        now = deps.clock.now()
        organisation = Organisation(deps.new_id(), details, OrganisationStatus.PENDING, now, now)
        administrator = _new_contact(deps, organisation.organisation_id, account_id, person, now)
        uow.organisations.add(organisation)
        uow.contacts.add(administrator, claimed_until=now + deps.lease)
        uow.transitions.add(registration_transition(organisation, account_id))
        uow.outbox.add_event(_added(administrator, actor_account_id=account_id))
        return _Made(organisation.organisation_id, administrator.contact_id)

    made, fresh = _with_new_account(
        deps, scope="register", key=key, fingerprint=_fingerprint("register", details, person),
        account=NewAccount(person.username, person.email, person.name, person.language),
        field_prefix="applicant.", precheck=precheck, store=store)
    _send_link_now(deps, made.contact_id, claimed=fresh)
    with deps.uow() as uow:
        return Registered(uow.organisations.get(made.organisation_id),
                          uow.contacts.get(made.contact_id, include_removed=True))


# --------------------------------------------------------------------------- organisations


ORGANISATION_MASK = ("name", "visiting_address", "visiting_address.street", "visiting_address.postcode",
                     "visiting_address.city", "phone", "email")


def get_organisation(organisation_id: str, deps: Deps) -> Organisation:
    with deps.uow() as uow:
        return _organisation(uow, organisation_id)


def update_organisation(command: UpdateOrganisation, deps: Deps) -> Organisation:
    violations = Violations()
    mask = _mask(command.update_mask, ORGANISATION_MASK, violations,
                 hint="name, visiting_address, phone, email (the Chamber of Commerce number cannot change)")
    form, prefix = command.organisation, "organisation."
    changes: dict[str, object] = {}
    if "name" in mask:
        changes["name"] = clean_text(form.name, f"{prefix}name", violations, maximum=MAX_NAME)
    address = f"{prefix}visiting_address."
    if mask & {"visiting_address", "visiting_address.street"}:
        changes["street"] = clean_text(form.street, f"{address}street", violations, maximum=MAX_STREET)
    if mask & {"visiting_address", "visiting_address.postcode"}:
        changes["postcode"] = clean_postcode(form.postcode, f"{address}postcode", violations)
    if mask & {"visiting_address", "visiting_address.city"}:
        changes["city"] = clean_text(form.city, f"{address}city", violations, maximum=MAX_CITY)
    if "phone" in mask:
        changes["phone"] = clean_phone(form.phone, f"{prefix}phone", violations)
    if "email" in mask:
        changes["email"] = clean_email(form.email, f"{prefix}email", violations)
    violations.check()
    with deps.uow() as uow:
        organisation = _organisation(uow, command.organisation_id, lock=True)
        details, old = organisation.details, organisation.details.visiting_address
        address_now = Address(changes.get("street", old.street), changes.get("postcode", old.postcode),
                              changes.get("city", old.city))
        changed = replace(organisation, updated_at=deps.clock.now(), details=replace(
            details, name=changes.get("name", details.name), visiting_address=address_now,
            phone=changes.get("phone", details.phone), email=changes.get("email", details.email)))
        uow.organisations.save(changed)
        return changed


def change_organisation_status(command: ChangeStatus, deps: Deps) -> Organisation:
    """Authorise, reject or suspend; each decision is mailed to the administrator and second contact."""
    violations = Violations()
    actor = clean_text(command.actor_account_id, "actor_account_id", violations, maximum=MAX_ACTOR)
    reason = clean_reason(command.reason, violations, required=command.to_status in REASON_REQUIRED)
    violations.check()
    with deps.uow() as uow:
        organisation = _organisation(uow, command.organisation_id, lock=True)
        now = deps.clock.now()
        changed, transition, event = change_status(organisation, command.to_status, actor_account_id=actor,
                                                   reason=reason, now=now)
        uow.organisations.save(changed)
        uow.transitions.add(transition)
        uow.outbox.add_event(event)
        for contact in uow.contacts.active_with_roles(changed.organisation_id, MANAGING_ROLES):
            uow.outbox.add_mail(_decision_mail(deps.mails, contact, changed, reason, now), now)
    deps.events_committed()
    log.info("organisation status changed", organisation_id=changed.organisation_id,
             from_status=organisation.status.value, to_status=changed.status.value)
    return changed


def _decision_mail(mails: Mails, contact: Contact, organisation: Organisation, reason: str, now: datetime):
    if organisation.status is OrganisationStatus.AUTHORISED:
        return mails.authorisation_confirmation(contact, organisation, now)
    if organisation.status is OrganisationStatus.REJECTED:
        return mails.rejection_notice(contact, organisation, reason, now)
    return mails.suspension_notice(contact, organisation, reason, now)


def list_transitions(organisation_id: str, deps: Deps) -> list[Transition]:
    with deps.uow() as uow:
        organisation = _organisation(uow, organisation_id)
        return uow.transitions.of(organisation.organisation_id)


def list_organisations(command: ListOrganisations, deps: Deps) -> Page:
    violations = Violations()
    name_query = clean_text(command.name_query, "name_query", violations, maximum=MAX_NAME, required=False)
    city = clean_text(command.city, "city", violations, maximum=MAX_CITY, required=False)
    size = _page_size(command.page_size, violations)
    query = _digest(command.status.value if command.status else "", search_key(name_query), search_key(city))
    after = _read_token(command.page_token, query, violations)
    violations.check()
    with deps.uow() as uow:
        rows = uow.organisations.page(status=command.status, name_query=name_query, city=city,
                                      after=after, limit=size + 1)
    items, more = rows[:size], len(rows) > size
    token = _make_token([search_key(items[-1].name), items[-1].organisation_id], query) if more else ""
    return Page(items, token)


# --------------------------------------------------------------------------- contacts


CONTACT_MASK = ("role", "name", "email", "phone", "department_name")


def add_contact(command: AddContact, deps: Deps) -> Contact:
    violations = Violations()
    role = addable_role(command.role, violations)
    person = contact_details(role=role, name=command.name, email=command.email, phone=command.phone,
                             department_name=command.department_name, username=command.username,
                             language=command.language, violations=violations)
    actor = clean_text(command.actor_account_id, "actor_account_id", violations, maximum=MAX_ACTOR,
                       required=False)
    key = _idempotency_key(command.idempotency_key, violations)
    violations.check()
    organisation_id = canonical_id(command.organisation_id)
    if organisation_id is None:
        raise NotFound("organisation")

    def check(uow, organisation: Organisation | None) -> None:
        if organisation is None:
            raise NotFound("organisation")
        ensure_can_add_contacts(organisation)
        if person.role is ContactRole.SECOND_CONTACT:
            ensure_second_contact_free(uow.contacts.count_active(organisation_id, ContactRole.SECOND_CONTACT))

    def precheck(uow) -> None:
        check(uow, uow.organisations.get(organisation_id))

    def store(uow, account_id: str) -> _Made:
        check(uow, uow.organisations.lock(organisation_id))  # again, now that nobody else can add one
        now = deps.clock.now()
        contact = _new_contact(deps, organisation_id, account_id, person, now)
        uow.contacts.add(contact, claimed_until=now + deps.lease)
        uow.outbox.add_event(_added(contact, actor_account_id=actor))
        return _Made(organisation_id, contact.contact_id)

    made, fresh = _with_new_account(
        deps, scope=f"add_contact:{organisation_id}", key=key,
        fingerprint=_fingerprint("add_contact", organisation_id, person),
        account=NewAccount(person.username, person.email, person.name, person.language),
        field_prefix="", precheck=precheck, store=store)
    _send_link_now(deps, made.contact_id, claimed=fresh)
    with deps.uow() as uow:
        return uow.contacts.get(made.contact_id, include_removed=True)


def get_contact(contact_id: str, deps: Deps) -> Contact:
    with deps.uow() as uow:
        return _contact(uow, contact_id)


def update_contact(command: UpdateContact, deps: Deps) -> Contact:
    violations = Violations()
    mask = _mask(command.update_mask, CONTACT_MASK, violations, hint=", ".join(CONTACT_MASK))
    prefix, changes = "contact.", {}
    if "role" in mask:
        if command.role is None:
            violations.add(f"{prefix}role", "is required: second contact, contact or department")
        changes["role"] = command.role
    if "name" in mask:
        changes["name"] = clean_text(command.name, f"{prefix}name", violations, maximum=MAX_NAME)
    if "email" in mask:
        changes["email"] = clean_email(command.email, f"{prefix}email", violations)
    if "phone" in mask:
        changes["phone"] = clean_phone(command.phone, f"{prefix}phone", violations, required=False)
    if "department_name" in mask:
        changes["department_name"] = clean_text(command.department_name, f"{prefix}department_name", violations,
                                                maximum=MAX_DEPARTMENT, required=False)
    violations.check()
    if "email" in changes:
        _ensure_address_is_the_organisations(command.contact_id, changes["email"], deps)
    with deps.uow() as uow:
        contact = _contact(uow, command.contact_id)
        uow.organisations.lock(contact.organisation_id)  # role rules are checked against current state
        contact = _contact(uow, contact.contact_id)
        changed = change_contact(contact, changes, deps.clock.now())
        if changed.role is ContactRole.SECOND_CONTACT and contact.role is not ContactRole.SECOND_CONTACT:
            ensure_second_contact_free(uow.contacts.count_active(
                contact.organisation_id, ContactRole.SECOND_CONTACT, excluding=contact.contact_id))
        uow.contacts.save(changed)
        kind = None
        if (changed.email, changed.name) != (contact.email, contact.name):
            kind = uow.contacts.request_profile_sync(changed.contact_id, email_changed=changed.email != contact.email)
    if kind:
        _follow_up_now(deps, changed.contact_id, kind, claimed=False)
    return changed


def _ensure_address_is_the_organisations(contact_id: str, email: str, deps: Deps) -> None:
    """A manager corrects the address only of a contact who has not set a password yet: whoever could
    change a login e-mail could have that account's password links sent to themselves."""
    with deps.uow() as uow:
        contact = _contact(uow, contact_id)
    if email != contact.email and not deps.accounts.awaits_password(contact.account_id):
        raise RuleViolated("EMAIL_CHANGED_BY_HOLDER_ONLY",
                           "this contact has set a password, so only they change their e-mail address (logged "
                           "in); someone who left is removed and a successor added")


def adopt_login_email(account_id: str, email: str, changed_at: datetime, deps: Deps) -> int:
    """Identity announced the holder's confirmed login e-mail: the contacts of that account take it.
    Answers how many contacts changed (none for an announcement older than the last one seen)."""
    with deps.uow() as uow:
        return uow.contacts.adopt_login_email(account_id, email, changed_at=changed_at, now=deps.clock.now())


def remove_contact(command: RemoveContact, deps: Deps) -> None:
    """Removed (kept for history), its consents end through the event, its account is disabled."""
    violations = Violations()
    actor = clean_text(command.actor_account_id, "actor_account_id", violations, maximum=MAX_ACTOR,
                       required=False)
    violations.check()
    with deps.uow() as uow:
        contact = _contact(uow, command.contact_id)
        ensure_removable(contact)
        now = deps.clock.now()
        if not uow.contacts.mark_removed(contact, actor_account_id=actor, now=now, claimed_until=now + deps.lease):
            raise NotFound("contact")
        uow.outbox.add_event(ContactRemoved(contact.organisation_id, contact.contact_id, contact.account_id,
                                            contact.role, actor, "removed by the organisation", now))
    deps.events_committed()
    log.info("contact removed", organisation_id=contact.organisation_id, contact_id=contact.contact_id)
    _follow_up_now(deps, contact.contact_id, "disable", claimed=True)


def list_contacts(command: ListContacts, deps: Deps) -> Page:
    violations = Violations()
    size = _page_size(command.page_size, violations)
    organisation_id = canonical_id(command.organisation_id) or ""
    after = _read_token(command.page_token, organisation_id, violations,
                        convert=lambda at, contact_id: (datetime.fromisoformat(at), contact_id))
    violations.check()
    with deps.uow() as uow:
        _organisation(uow, organisation_id)
        rows = uow.contacts.page(organisation_id, after=after, limit=size + 1)
    items, more = rows[:size], len(rows) > size
    token = _make_token([items[-1].created_at.isoformat(), items[-1].contact_id], organisation_id) if more else ""
    return Page(items, token)


def list_memberships(account_id: str, deps: Deps) -> list[Membership]:
    violations = Violations()
    account = clean_text(account_id, "account_id", violations, maximum=MAX_ACTOR)
    violations.check()
    with deps.uow() as uow:
        return uow.contacts.memberships(account)


# --------------------------------------------------------------------------- follow-ups towards identity


def follow_up_due(deps: Deps, *, batch: int = 20, max_backoff_seconds: float = 300.0) -> int:
    """One pass of the follow-up worker: links not yet sent, accounts not yet disabled."""
    with deps.uow() as uow:
        due = uow.contacts.claim_due_follow_ups(now=deps.clock.now(), lease=deps.lease, limit=batch)
    for item in due:
        backoff = timedelta(seconds=min(2 ** (item.attempts + 1), max_backoff_seconds))
        follow_up(deps, item.contact_id, item.kind, claimed=True, backoff=backoff)
    return len(due)


def follow_up(deps: Deps, contact_id: str, kind: str, *, claimed: bool, backoff: timedelta | None) -> bool:
    """Tell identity what it still has to hear about a contact; answer whether that is done now.

    Unless `claimed`, first take the follow-up (it may be taken, or done, already). On failure
    it is left for the next attempt: after `backoff`, or at once (None) for a caller's retry.
    The kinds: 'link' (the password-setup mail), 'profile' (a changed name), 'email' (a changed
    address, or a change before the link went out: a new link too while the password is not
    set, as the old one went elsewhere), 'disable' (the contact was removed).
    """
    with deps.uow() as uow:
        if not claimed and not uow.contacts.claim_follow_up(contact_id, kind, now=deps.clock.now(),
                                                            lease=deps.lease):
            return False
        context = uow.contacts.follow_up_context(contact_id)
    if context is None or context.follow_up != kind:
        return False  # removed meanwhile: a link is no longer wanted, a disable is what is due
    try:
        link_sent = _tell_identity(deps, context, kind)
    except AccountDirectoryError as error:
        log.warning("identity follow-up failed, will retry", contact_id=contact_id, follow_up=kind,
                    error=str(error))
        with deps.uow() as uow:
            at = None if backoff is None else deps.clock.now() + backoff
            uow.contacts.retry_follow_up(contact_id, kind, at=at)
        return False
    with deps.uow() as uow:
        # Changed again meanwhile: identity heard the older data, so the follow-up stays due.
        done = uow.contacts.finish_follow_up(contact_id, kind, now=deps.clock.now(), seen=context.updated_at,
                                             link_sent=link_sent)
    log.info("identity follow-up done" if done else "contact changed meanwhile; follow-up stays due",
             contact_id=contact_id, follow_up=kind)
    return done


def _tell_identity(deps: Deps, context, kind: str) -> bool:
    """Answers whether a password-setup link went out."""
    if kind == "disable":
        deps.accounts.disable_account(context.account_id, actor_account_id=context.removed_by or "",
                                      reason="removed as contact of " + context.organisation_name)
        return False
    link_due = kind == "link"
    if kind in ("profile", "email"):
        # The name, and the address until a password is set, are the organisation's to change;
        # identity's copy follows, before any link, so that the link goes to the address it has now.
        try:
            awaiting = deps.accounts.update_profile(context.account_id, email=context.email,
                                                    display_name=context.name)
        except EmailOwnedByHolder as owned:
            # The holder set a password after the manager's correction was accepted: theirs stands.
            adopt_login_email(context.account_id, owned.email, deps.clock.now(), deps)
            awaiting = deps.accounts.update_profile(context.account_id, email=owned.email,
                                                    display_name=context.name)
        link_due = kind == "email" and awaiting
    if link_due:
        purpose, mail_context = _link_request(context)
        deps.accounts.issue_setup_link(context.account_id, purpose, mail_context)
    return link_due


def _link_request(context) -> tuple[LinkPurpose, dict[str, str]]:
    if context.role is ContactRole.ADMINISTRATOR:
        return LinkPurpose.REGISTRATION, {"organisation_name": context.organisation_name}
    return LinkPurpose.CONTACT_INVITATION, {"organisation_name": context.organisation_name,
                                            "role": context.role.value}


def _send_link_now(deps: Deps, contact_id: str, *, claimed: bool) -> None:
    _follow_up_now(deps, contact_id, "link", claimed=claimed)


def _follow_up_now(deps: Deps, contact_id: str, kind: str, *, claimed: bool) -> None:
    """The change is committed: what remains must not fail the call; the worker finishes it."""
    try:
        follow_up(deps, contact_id, kind, claimed=claimed, backoff=None)
    except Exception:
        log.exception("identity follow-up could not be tried; the worker will", contact_id=contact_id,
                      follow_up=kind)


# --------------------------------------------------------------------------- the account saga


@dataclass(frozen=True)
class _Made:
    organisation_id: str
    contact_id: str


def _with_new_account(deps: Deps, *, scope: str, key: str, fingerprint: str, account: NewAccount,
                      field_prefix: str, precheck: Callable[[object], None],
                      store: Callable[[object, str], _Made]) -> tuple[_Made, bool]:
    """Run steps 1-3 of the saga; answer what was made and whether this call made it."""
    begun = _begin_request(deps, scope, key, fingerprint)
    if isinstance(begun, _Made):
        return begun, False
    identity_key = begun
    try:
        with deps.uow() as uow:
            precheck(uow)
        account_id = deps.accounts.create_account(account, idempotency_key=f"pe-organisation:{identity_key}")
    except AccountDirectoryError:
        # Identity may have made the account: a retry with this key must get the same one back.
        _settle_request(deps, scope, key, identity_key, keep=True)
        raise
    except UsernameTaken:
        _settle_request(deps, scope, key, identity_key, keep=False)
        raise AlreadyExists(f"{field_prefix}username", "USERNAME_TAKEN", "this username is taken") from None
    except AccountRefused as refused:
        _settle_request(deps, scope, key, identity_key, keep=False)
        names = {"display_name": "name"}
        raise InvalidInput({f"{field_prefix}{names.get(name, name)}": text
                            for name, text in refused.violations.items()}) from None
    except Exception:
        _settle_request(deps, scope, key, identity_key, keep=False)
        raise
    try:
        with deps.uow() as uow:
            made = store(uow, account_id)
            uow.requests.complete(scope, key, identity_key=identity_key, organisation_id=made.organisation_id,
                                  contact_id=made.contact_id, now=deps.clock.now())
    except Exception as error:
        finished = _completed(deps, scope, key)
        if finished is not None:  # a parallel attempt with this key and account stored it
            return finished, False
        _undo_account(deps, account_id, scope, key, identity_key)
        if isinstance(error, ConcurrentChange):
            with deps.uow() as uow:
                precheck(uow)  # names the rule the concurrent change broke, if it was one of ours
        raise
    deps.events_committed()
    log.info("account saga completed", scope=scope.partition(":")[0], contact_id=made.contact_id)
    return made, True


def _begin_request(deps: Deps, scope: str, key: str, fingerprint: str) -> str | _Made:
    """Step 1: the identity key to create the account with, or what an earlier attempt made."""
    now = deps.clock.now()
    with deps.uow() as uow:
        existing = uow.requests.get(scope, key)
    if existing is None:
        identity_key = deps.new_id()
        try:
            with deps.uow() as uow:
                uow.requests.start(scope, key, fingerprint=fingerprint, identity_key=identity_key, now=now,
                                   claimed_until=now + deps.lease)
            return identity_key
        except ConcurrentChange:  # the same key, a moment earlier
            with deps.uow() as uow:
                existing = uow.requests.get(scope, key)
            if existing is None:
                raise
    if existing.fingerprint != fingerprint:
        raise RuleViolated("IDEMPOTENCY_KEY_REUSED", "this idempotency key was used for a different request")
    if existing.completed:
        return _Made(existing.organisation_id, existing.contact_id)
    with deps.uow() as uow:
        if not uow.requests.claim(scope, key, now=now, claimed_until=now + deps.lease):
            raise RequestInProgress()
    return existing.identity_key


def _completed(deps: Deps, scope: str, key: str) -> _Made | None:
    try:
        with deps.uow() as uow:
            existing = uow.requests.get(scope, key)
    except Exception:
        return None
    if existing is not None and existing.completed:
        return _Made(existing.organisation_id, existing.contact_id)
    return None


def _undo_account(deps: Deps, account_id: str, scope: str, key: str, identity_key: str) -> None:
    """Compensate step 2. If identity cannot be reached, keep the request so a retry reuses the account."""
    try:
        deps.accounts.delete_account(account_id)
    except Exception as error:
        log.error("could not undo a new account; a retry with the same idempotency key reuses it",
                  account_id=account_id, error=str(error))
        _settle_request(deps, scope, key, identity_key, keep=True)
        return
    log.info("new account undone", account_id=account_id)
    _settle_request(deps, scope, key, identity_key, keep=False)


def _settle_request(deps: Deps, scope: str, key: str, identity_key: str, *, keep: bool) -> None:
    """After a failure: keep the request for a retry to resume (released), or forget it."""
    try:
        with deps.uow() as uow:
            if keep:
                uow.requests.release(scope, key, identity_key)
            else:
                uow.requests.drop(scope, key, identity_key)
    except Exception:  # the lease runs out by itself; the original failure is what the caller hears
        log.exception("could not settle an idempotent request after a failure")


# --------------------------------------------------------------------------- helpers


def _new_contact(deps: Deps, organisation_id: str, account_id: str, person: ContactDetails,
                 now: datetime) -> Contact:
    return Contact(contact_id=deps.new_id(), organisation_id=organisation_id, account_id=account_id,
                   role=person.role, name=person.name, email=person.email, phone=person.phone,
                   department_name=person.department_name, language=person.language, created_at=now,
                   updated_at=now)


def _added(contact: Contact, *, actor_account_id: str) -> ContactAdded:
    return ContactAdded(contact.organisation_id, contact.contact_id, contact.account_id, contact.role,
                        actor_account_id, contact.created_at)


def _organisation(uow, organisation_id: str, *, lock: bool = False) -> Organisation:
    canonical = canonical_id(organisation_id)
    found = None
    if canonical is not None:
        found = uow.organisations.lock(canonical) if lock else uow.organisations.get(canonical)
    if found is None:
        raise NotFound("organisation")
    return found


def _contact(uow, contact_id: str) -> Contact:
    canonical = canonical_id(contact_id)
    found = uow.contacts.get(canonical) if canonical else None
    if found is None:
        raise NotFound("contact")
    return found


def _idempotency_key(value: str, violations: Violations) -> str:
    """The caller's key, or a fresh one: every request runs the same (resumable) way."""
    key = clean_text(value, "idempotency_key", violations, maximum=MAX_IDEMPOTENCY_KEY, required=False)
    return key or f"generated:{uuid.uuid4()}"


def _fingerprint(*parts) -> str:
    """What a request asked for, so a key reused for something else is caught."""
    plain = [asdict(part) if hasattr(part, "__dataclass_fields__") else part for part in parts]
    return hashlib.sha256(json.dumps(plain, sort_keys=True, default=str).encode()).hexdigest()


def _mask(paths: tuple[str, ...], allowed: tuple[str, ...], violations: Violations, *, hint: str) -> set[str]:
    mask = {path.strip() for path in paths if path.strip()}
    if not mask:
        violations.add("update_mask", f"name the fields to change: {hint}")
    unknown = sorted(mask - set(allowed))
    if unknown:
        violations.add("update_mask", f"cannot change {', '.join(unknown)}; can change {hint}")
    return mask


def _page_size(requested: int, violations: Violations) -> int:
    if requested < 0:
        violations.add("page_size", "must not be negative")
        return DEFAULT_PAGE_SIZE
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def _make_token(position: list[str], query: str) -> str:
    raw = json.dumps({"after": position, "query": query}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_token(token: str, query: str, violations: Violations,
                convert: Callable[[str, str], tuple] = lambda *position: position) -> tuple | None:
    """The position a page token continues from; it only fits the query it came from."""
    token = (token or "").strip()
    if not token:
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        after = raw["after"]
        if raw["query"] != query or not (isinstance(after, list) and len(after) == 2
                                         and all(isinstance(part, str) for part in after)):
            raise ValueError(token)
        return convert(*after)
    except (ValueError, KeyError, TypeError):
        violations.add("page_token", "is not a page token of this list with these filters")
        return None
