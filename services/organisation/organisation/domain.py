"""The organisation domain: organisations, their contacts, the rules on both, and what happens.

Plain Python only: no database, no gRPC, no broker. Validation turns raw input into clean
values or collects one message per bad field, named as the API names it.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

# --------------------------------------------------------------------------- values


class OrganisationStatus(str, Enum):
    PENDING = "pending"
    AUTHORISED = "authorised"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


class ContactRole(str, Enum):
    ADMINISTRATOR = "administrator"
    SECOND_CONTACT = "second_contact"
    CONTACT = "contact"
    DEPARTMENT = "department"


class Language(str, Enum):
    NL = "nl"
    EN = "en"


ADDABLE_ROLES = (ContactRole.SECOND_CONTACT, ContactRole.CONTACT, ContactRole.DEPARTMENT)
# The roles that may see and edit organisation data and receive its mail.
MANAGING_ROLES = (ContactRole.ADMINISTRATOR, ContactRole.SECOND_CONTACT)

MAX_NAME = 200
MAX_STREET = 200
MAX_CITY = 100
MAX_EMAIL = 254
MAX_PHONE = 32
MAX_USERNAME = 64
MIN_USERNAME = 3
MAX_DEPARTMENT = 100
MAX_REASON = 1000
MAX_ACTOR = 64
MAX_IDEMPOTENCY_KEY = 200


@dataclass(frozen=True)
class Address:
    street: str
    postcode: str
    city: str


@dataclass(frozen=True)
class OrganisationDetails:
    name: str
    chamber_of_commerce_number: str
    visiting_address: Address
    phone: str
    email: str


@dataclass(frozen=True)
class ContactDetails:
    role: ContactRole
    name: str
    email: str
    phone: str
    department_name: str
    username: str
    language: Language


@dataclass(frozen=True)
class Organisation:
    organisation_id: str
    details: OrganisationDetails
    status: OrganisationStatus
    created_at: datetime
    updated_at: datetime

    @property
    def name(self) -> str:
        return self.details.name


@dataclass(frozen=True)
class Contact:
    contact_id: str
    organisation_id: str
    account_id: str
    role: ContactRole
    name: str
    email: str
    phone: str
    department_name: str
    language: Language
    created_at: datetime
    updated_at: datetime
    removed_at: datetime | None = None

    @property
    def removed(self) -> bool:
        return self.removed_at is not None


@dataclass(frozen=True)
class Transition:
    organisation_id: str
    from_status: OrganisationStatus | None  # None: the registration itself
    to_status: OrganisationStatus
    actor_account_id: str
    reason: str
    occurred_at: datetime


@dataclass(frozen=True)
class Membership:
    organisation_id: str
    contact_id: str
    role: ContactRole
    organisation_status: OrganisationStatus


# --------------------------------------------------------------------------- events


@dataclass(frozen=True)
class OrganisationAuthorised:
    organisation_id: str
    actor_account_id: str
    reason: str
    occurred_at: datetime


@dataclass(frozen=True)
class OrganisationRejected:
    organisation_id: str
    actor_account_id: str
    reason: str
    occurred_at: datetime


@dataclass(frozen=True)
class OrganisationSuspended:
    organisation_id: str
    actor_account_id: str
    reason: str
    occurred_at: datetime


@dataclass(frozen=True)
class ContactAdded:
    organisation_id: str
    contact_id: str
    account_id: str
    role: ContactRole
    actor_account_id: str
    occurred_at: datetime


@dataclass(frozen=True)
class ContactRemoved:
    organisation_id: str
    contact_id: str
    account_id: str
    role: ContactRole
    actor_account_id: str
    reason: str
    occurred_at: datetime


DomainEvent = (OrganisationAuthorised | OrganisationRejected | OrganisationSuspended | ContactAdded
               | ContactRemoved)

# --------------------------------------------------------------------------- errors


class DomainError(Exception):
    """A request the rules refuse; the servicer turns each kind into its gRPC status."""


class InvalidInput(DomainError):
    def __init__(self, violations: dict[str, str]):
        super().__init__("; ".join(f"{field}: {text}" for field, text in violations.items()))
        self.violations = dict(violations)


class NotFound(DomainError):
    def __init__(self, what: str):
        super().__init__(f"{what} not found")
        self.what = what


class AlreadyExists(DomainError):
    """Something unique is taken; `field` names the input that collides."""

    def __init__(self, field: str, reason: str, message: str):
        super().__init__(message)
        self.field, self.reason = field, reason


class RuleViolated(DomainError):
    """The request is well-formed but the current state forbids it (FAILED_PRECONDITION)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class ConcurrentChange(Exception):
    """A concurrent change broke a unique rule first; the store rolled this change back."""


def kvk_number_taken(field: str = "organisation.chamber_of_commerce_number") -> AlreadyExists:
    return AlreadyExists(field, "CHAMBER_OF_COMMERCE_NUMBER_TAKEN",
                         "an organisation with this Chamber of Commerce number is already registered")


def second_contact_exists() -> RuleViolated:
    return RuleViolated("SECOND_CONTACT_EXISTS", "the organisation already has a second contact")


# --------------------------------------------------------------------------- validation


class Violations:
    """Collects one message per bad field, so a form shows every mistake at once."""

    def __init__(self) -> None:
        self.items: dict[str, str] = {}

    def add(self, field: str, message: str) -> None:
        self.items.setdefault(field, message)

    def check(self) -> None:
        if self.items:
            raise InvalidInput(self.items)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_KVK = re.compile(r"[0-9]{8}")  # ASCII digits only: \d would take any script's digits
_POSTCODE = re.compile(r"([1-9][0-9]{3}) ?([A-Za-z]{2})")
_FORBIDDEN_POSTCODE_LETTERS = {"SA", "SD", "SS"}
_PHONE = re.compile(r"\+?[0-9][0-9 \-]*[0-9]")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
# The same rule as identity's, so a username passing here is not refused there.
_USERNAME = re.compile(r"[A-Za-z0-9._@\-]+")


def clean_text(value: str, field: str, violations: Violations, *, maximum: int,
               required: bool = True) -> str:
    """One line of text, trimmed: required unless said otherwise, and not too long."""
    text = (value or "").strip()
    if not text:
        if required:
            violations.add(field, "is required")
        return ""
    if len(text) > maximum:
        violations.add(field, f"must be at most {maximum} characters")
    elif _CONTROL.search(text):
        violations.add(field, "must be a single line without control characters")
    return text


def clean_kvk_number(value: str, field: str, violations: Violations) -> str:
    text = (value or "").strip()
    if not text:
        violations.add(field, "is required")
    elif not _KVK.fullmatch(text):
        violations.add(field, "must be exactly 8 digits")
    elif set(text) == {"0"}:
        violations.add(field, "must not be all zeros")
    return text


def clean_postcode(value: str, field: str, violations: Violations) -> str:
    """A Dutch postcode, answered as '1234 AB'."""
    text = clean_text(value, field, violations, maximum=10)
    if not text or field in violations.items:
        return text
    match = _POSTCODE.fullmatch(text)
    if not match:
        violations.add(field, "must be a Dutch postcode: 4 digits (the first not 0) and 2 letters, such as 1234 AB")
        return text
    digits, letters = match.group(1), match.group(2).upper()
    if letters in _FORBIDDEN_POSTCODE_LETTERS:
        violations.add(field, f"must not end in {letters}: those letters are not used in Dutch postcodes")
    return f"{digits} {letters}"


def clean_phone(value: str, field: str, violations: Violations, *, required: bool = True) -> str:
    text = clean_text(value, field, violations, maximum=MAX_PHONE, required=required)
    if text and field not in violations.items:
        digits = sum(ch.isdigit() for ch in text)
        if not _PHONE.fullmatch(text) or not 10 <= digits <= 15:
            violations.add(field, "must be a phone number of 10 to 15 digits, optionally starting with +, "
                                  "with spaces or dashes allowed")
    return text


def clean_email(value: str, field: str, violations: Violations) -> str:
    text = clean_text(value, field, violations, maximum=MAX_EMAIL)
    if text and field not in violations.items:
        local = text.rpartition("@")[0]
        if not _EMAIL.fullmatch(text) or len(local) > 64:
            violations.add(field, "must be an e-mail address such as name@example.nl")
    return text


def clean_username(value: str, field: str, violations: Violations) -> str:
    text = clean_text(value, field, violations, maximum=MAX_USERNAME)
    if text and field not in violations.items:
        if len(text) < MIN_USERNAME:
            violations.add(field, f"must be at least {MIN_USERNAME} characters")
        elif not _USERNAME.fullmatch(text):
            violations.add(field, "may hold only letters, digits and . _ - @")
    return text


def organisation_details(*, name: str, chamber_of_commerce_number: str, street: str, postcode: str,
                         city: str, phone: str, email: str, violations: Violations,
                         prefix: str = "organisation.") -> OrganisationDetails:
    address = f"{prefix}visiting_address."
    return OrganisationDetails(
        name=clean_text(name, f"{prefix}name", violations, maximum=MAX_NAME),
        chamber_of_commerce_number=clean_kvk_number(
            chamber_of_commerce_number, f"{prefix}chamber_of_commerce_number", violations),
        visiting_address=Address(
            street=clean_text(street, f"{address}street", violations, maximum=MAX_STREET),
            postcode=clean_postcode(postcode, f"{address}postcode", violations),
            city=clean_text(city, f"{address}city", violations, maximum=MAX_CITY)),
        phone=clean_phone(phone, f"{prefix}phone", violations),
        email=clean_email(email, f"{prefix}email", violations),
    )


def addable_role(role: ContactRole | None, violations: Violations, field: str = "role") -> ContactRole | None:
    """The role of a contact an organisation adds: never a second administrator."""
    if role is None:
        violations.add(field, "is required: second contact, contact or department")
    elif role is ContactRole.ADMINISTRATOR:
        violations.add(field, "an administrator cannot be added: it is the one who registered the organisation")
        return None
    return role


def contact_details(*, role: ContactRole | None, name: str, email: str, phone: str, department_name: str,
                    username: str, language: Language, violations: Violations, prefix: str = "",
                    phone_required: bool = False) -> ContactDetails:
    """A new contact's data; `role` None means it was already found wanting."""
    department_field = f"{prefix}department_name"
    department = clean_text(department_name, department_field, violations, maximum=MAX_DEPARTMENT,
                            required=role is ContactRole.DEPARTMENT)
    if department and role is not None and role is not ContactRole.DEPARTMENT:
        violations.add(department_field, "is only for a department")
    return ContactDetails(
        role=role or ContactRole.CONTACT,
        name=clean_text(name, f"{prefix}name", violations, maximum=MAX_NAME),
        email=clean_email(email, f"{prefix}email", violations),
        phone=clean_phone(phone, f"{prefix}phone", violations, required=phone_required),
        department_name=department if role is ContactRole.DEPARTMENT else "",
        username=clean_username(username, f"{prefix}username", violations),
        language=language,
    )


def clean_reason(value: str, violations: Violations, *, required: bool) -> str:
    return clean_multiline(value, "reason", violations, maximum=MAX_REASON, required=required)


def clean_multiline(value: str, field: str, violations: Violations, *, maximum: int, required: bool) -> str:
    text = (value or "").strip()
    if not text:
        if required:
            violations.add(field, "is required")
        return ""
    if len(text) > maximum:
        violations.add(field, f"must be at most {maximum} characters")
    return text


def canonical_id(value: str) -> str | None:
    """The id in its one stored form, or None when it is not a UUID (so it cannot exist)."""
    try:
        return str(uuid.UUID((value or "").strip()))
    except ValueError:
        return None


def search_key(text: str) -> str:
    """What name and city searches compare: case-folded, inner whitespace collapsed."""
    return " ".join(text.split()).casefold()


# --------------------------------------------------------------------------- status transitions

_ALLOWED: dict[OrganisationStatus, frozenset[OrganisationStatus]] = {
    OrganisationStatus.AUTHORISED: frozenset({OrganisationStatus.PENDING, OrganisationStatus.SUSPENDED}),
    OrganisationStatus.REJECTED: frozenset({OrganisationStatus.PENDING}),
    OrganisationStatus.SUSPENDED: frozenset({OrganisationStatus.AUTHORISED}),
}
REASON_REQUIRED = frozenset({OrganisationStatus.REJECTED, OrganisationStatus.SUSPENDED})

_EVENT_OF = {
    OrganisationStatus.AUTHORISED: OrganisationAuthorised,
    OrganisationStatus.REJECTED: OrganisationRejected,
    OrganisationStatus.SUSPENDED: OrganisationSuspended,
}


def can_transition(from_status: OrganisationStatus, to_status: OrganisationStatus) -> bool:
    return from_status in _ALLOWED.get(to_status, frozenset())


def change_status(organisation: Organisation, to_status: OrganisationStatus, *, actor_account_id: str,
                  reason: str, now: datetime) -> tuple[Organisation, Transition, DomainEvent]:
    if not can_transition(organisation.status, to_status):
        raise RuleViolated("INVALID_TRANSITION",
                           f"an organisation that is {organisation.status.value} cannot become {to_status.value}")
    changed = replace(organisation, status=to_status, updated_at=now)
    transition = Transition(organisation.organisation_id, organisation.status, to_status, actor_account_id,
                            reason, now)
    event = _EVENT_OF[to_status](organisation.organisation_id, actor_account_id, reason, now)
    return changed, transition, event


def registration_transition(organisation: Organisation, administrator_account_id: str) -> Transition:
    return Transition(organisation.organisation_id, None, OrganisationStatus.PENDING, administrator_account_id,
                      "registered", organisation.created_at)


# --------------------------------------------------------------------------- contact rules


def ensure_can_add_contacts(organisation: Organisation) -> None:
    # Each addition mails an invitation that carries names the managers chose: until the operator
    # has authorised the organisation (and while it is suspended) that would relay whatever they like.
    if organisation.status is not OrganisationStatus.AUTHORISED:
        raise RuleViolated("ORGANISATION_NOT_AUTHORISED",
                           "contacts can be added once the organisation is authorised, and not while it is "
                           f"{organisation.status.value}")


def ensure_second_contact_free(second_contacts: int) -> None:
    if second_contacts > 0:
        raise second_contact_exists()


def ensure_removable(contact: Contact) -> None:
    if contact.role is ContactRole.ADMINISTRATOR:
        raise RuleViolated("ADMINISTRATOR_NOT_REMOVABLE", "the administrator of an organisation cannot be removed")


CONTACT_FIELDS = ("role", "name", "email", "phone", "department_name")


def change_contact(contact: Contact, changes: dict[str, object], now: datetime) -> Contact:
    """The contact with the (already validated) changes applied, under the role rules.

    The administrator keeps its role; nobody becomes administrator; a contact that stops being
    a department loses its department name, one that becomes a department needs one.
    """
    role = changes.get("role", contact.role)
    if "role" in changes and role is not contact.role:
        if contact.role is ContactRole.ADMINISTRATOR:
            raise RuleViolated("ADMINISTRATOR_ROLE_FIXED", "the administrator's role cannot be changed")
        if role is ContactRole.ADMINISTRATOR:
            raise InvalidInput({"contact.role": "nobody can be made administrator: it is the one who "
                                                "registered the organisation"})
    department_name = changes.get("department_name", contact.department_name if role is ContactRole.DEPARTMENT
                                  else "")
    if role is ContactRole.DEPARTMENT and not department_name:
        raise InvalidInput({"contact.department_name": "is required for a department"})
    if role is not ContactRole.DEPARTMENT and department_name:
        raise InvalidInput({"contact.department_name": "is only for a department"})
    return replace(contact, role=role, name=changes.get("name", contact.name),
                   email=changes.get("email", contact.email), phone=changes.get("phone", contact.phone),
                   department_name=department_name, updated_at=now)
