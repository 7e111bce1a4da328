"""Accounts, password-setup links, sessions and login limits: the rules, without infrastructure."""
from __future__ import annotations

import enum
import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta


class AccountKind(enum.Enum):
    EMPLOYER_CONTACT = "employer_contact"
    PROFESSIONAL = "professional"
    OPERATOR = "operator"


class AccountStatus(enum.Enum):
    AWAITING_PASSWORD = "awaiting_password"
    ACTIVE = "active"
    DISABLED = "disabled"


class Language(enum.Enum):
    NL = "nl"
    EN = "en"


class LinkPurpose(enum.Enum):
    REGISTRATION = "registration"
    CONTACT_INVITATION = "contact_invitation"
    PROFESSIONAL_WELCOME = "professional_welcome"
    PASSWORD_RESET = "password_reset"


class EventKind(str, enum.Enum):
    CREATED = "created"
    LINK_ISSUED = "link_issued"
    PASSWORD_SET = "password_set"
    LOGIN_SUCCEEDED = "login_succeeded"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    DISABLED = "disabled"
    PASSWORD_CHANGED = "password_changed"
    EMAIL_CHANGE_REQUESTED = "email_change_requested"
    EMAIL_CHANGED = "email_changed"


# --- errors -------------------------------------------------------------------------------------

class DomainError(Exception):
    """A use case refused; the servicer turns each kind into a gRPC status."""


class InvalidInput(DomainError):
    def __init__(self, violations: Mapping[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in violations.items()))
        self.violations = dict(violations)


class AlreadyExists(DomainError):
    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field, self.message = field_name, message


class NotFound(DomainError):
    pass


class LinkInvalid(DomainError):
    """One message for every reason (unknown, used, expired, voided): it tells an attacker nothing."""
    def __init__(self):
        super().__init__("this link is not valid (any more); ask for a new one")


class NotAuthenticated(DomainError):
    def __init__(self):
        super().__init__("username or password is incorrect")


class SessionInvalid(DomainError):
    def __init__(self):
        super().__init__("the session has ended; log in again")


class Throttled(DomainError):
    """Not evaluated: try again after `retry_after_seconds`; `reason` is machine-readable."""

    MESSAGES = {
        "TOO_MANY_ATTEMPTS": "too many failed logins for this account from this address; try again later",
        "LOGIN_SLOWED_DOWN": "logins to this account are slowed down after failed attempts; try again shortly",
        "PASSWORD_RESET_REQUIRED": "too many failed logins for this account; set a new password with "
                                   "'forgot password' to log in",
    }

    def __init__(self, reason: str, retry_after_seconds: int):
        super().__init__(self.MESSAGES[reason])
        self.reason, self.retry_after_seconds = reason, retry_after_seconds


class NotAllowed(DomainError):
    """The account is not in a state that allows this; `reason` is machine-readable."""
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


# --- accounts -----------------------------------------------------------------------------------

USERNAME = re.compile(r"^[A-Za-z0-9._@-]{3,64}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PE_REGISTRATION_NUMBER = re.compile(r"^[A-Za-z0-9./-]{1,32}$")
MAX_DISPLAY_NAME = 200
MAX_EMAIL = 254
MAX_MAIL_CONTEXT_ENTRIES = 10
MAX_MAIL_CONTEXT_VALUE = 300


@dataclass(frozen=True)
class Account:
    account_id: str
    username: str
    email: str
    display_name: str
    kind: AccountKind
    status: AccountStatus
    language: Language
    pe_registration_number: str | None
    created_at: datetime
    updated_at: datetime
    password_hash: str | None = field(default=None, repr=False)

    @property
    def username_lower(self) -> str:
        return self.username.lower()

    @property
    def may_log_in(self) -> bool:
        return self.status is AccountStatus.ACTIVE and self.password_hash is not None


@dataclass(frozen=True)
class NewAccount:
    username: str
    email: str
    display_name: str
    kind: AccountKind | None
    language: Language | None = None
    pe_registration_number: str = ""
    link_purpose: LinkPurpose | None = None
    mail_context: Mapping[str, str] = field(default_factory=dict)
    # Fields whose (enum) value the caller sent is not one this version knows.
    unknown: tuple[str, ...] = ()


def validate_new_account(new: NewAccount) -> tuple[NewAccount, dict[str, str]]:
    """The account as it will be stored (trimmed, defaults filled in), and every fault found."""
    faults: dict[str, str] = {}
    username = new.username.strip()
    if not USERNAME.match(username):
        faults["username"] = ("must be 3 to 64 characters: letters, digits and . _ - @"
                              if username else "is required")
    email, fault = check_email(new.email)
    if fault:
        faults["email"] = fault
    display_name, fault = check_display_name(new.display_name)
    if fault:
        faults["display_name"] = fault
    if new.kind is None:
        faults["kind"] = "is required: employer contact, professional or operator"
    number = new.pe_registration_number.strip()
    if new.kind is AccountKind.PROFESSIONAL:
        if not number:
            faults["pe_registration_number"] = "is required for a professional"
        elif not PE_REGISTRATION_NUMBER.match(number):
            faults["pe_registration_number"] = "must be 1 to 32 letters, digits and . / -"
    elif number:
        faults["pe_registration_number"] = "only professionals have a PE registration number"
    fault = check_mail_context(new.mail_context)
    if fault:
        faults["mail_context"] = fault
    for name in new.unknown:
        faults[name] = "has a value this service does not know"
    cleaned = NewAccount(username=username, email=email, display_name=display_name, kind=new.kind,
                         language=new.language or Language.NL, pe_registration_number=number,
                         link_purpose=new.link_purpose, mail_context=dict(new.mail_context))
    return cleaned, faults


def check_email(raw: str) -> tuple[str, str | None]:
    email = raw.strip()
    if not email:
        return email, "is required"
    if len(email) > MAX_EMAIL or not EMAIL.match(email):
        return email, "must be an e-mail address such as name@example.org"
    return email, None


def check_display_name(raw: str) -> tuple[str, str | None]:
    name = " ".join(raw.split())
    if not name:
        return name, "is required"
    if len(name) > MAX_DISPLAY_NAME:
        return name, f"must be at most {MAX_DISPLAY_NAME} characters"
    return name, None


def check_mail_context(context: Mapping[str, str]) -> str | None:
    if len(context) > MAX_MAIL_CONTEXT_ENTRIES:
        return f"may hold at most {MAX_MAIL_CONTEXT_ENTRIES} entries"
    for key, value in context.items():
        if len(key) > 64 or len(value) > MAX_MAIL_CONTEXT_VALUE:
            return f"keys may have at most 64 characters and values at most {MAX_MAIL_CONTEXT_VALUE}"
    return None


def is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


# --- passwords ----------------------------------------------------------------------------------

MIN_PASSWORD = 12
MAX_PASSWORD = 128


@dataclass(frozen=True)
class PasswordPolicy:
    """OWASP ASVS: length 12 to 128, not a common password, not the account's own name or address."""
    common: frozenset[str] = frozenset()
    minimum: int = MIN_PASSWORD
    maximum: int = MAX_PASSWORD

    def faults(self, password: str, *, username: str, email: str) -> list[str]:
        """Every rule the password breaks, each in words the user can act on; empty when fine."""
        faults = []
        if len(password) < self.minimum:
            faults.append(f"must be at least {self.minimum} characters")
        if len(password) > self.maximum:
            faults.append(f"must be at most {self.maximum} characters")
        lowered = password.lower()
        if lowered in self.common or self._repeats_something_common(lowered):
            faults.append("is one of the most common passwords; choose one that is harder to guess")
        if username and username.lower() in lowered:
            faults.append("must not contain the username")
        local, _, _ = email.lower().partition("@")
        # A local part of one or two letters would forbid nearly every password; it is no real hint.
        if email and (email.lower() in lowered or (len(local) >= 3 and local in lowered)):
            faults.append("must not contain the e-mail address")
        return faults

    def _repeats_something_common(self, lowered: str) -> bool:
        """'passwordpassword', 'abcabcabcabc': a common word or a short unit, repeated, is no better."""
        for size in range(1, len(lowered) // 2 + 1):
            unit = lowered[:size]
            if len(lowered) % size == 0 and unit * (len(lowered) // size) == lowered:
                return size <= 4 or unit in self.common
        return False

    def check(self, password: str, *, username: str, email: str) -> None:
        faults = self.faults(password, username=username, email=email)
        if faults:
            raise InvalidInput({"password": "; ".join(faults)})


# --- login limits -------------------------------------------------------------------------------

@dataclass(frozen=True)
class LoginLimits:
    """Guessing is slowed down, never turned into a lockout that a stranger can cause (NIST SP 800-63B
    5.2.2). Failures are kept per username tried (known or not, so that nothing reveals which exist)."""
    failures_per_address: int = 5           # per username and client address, within `window`
    window: timedelta = timedelta(minutes=15)
    free_failures: int = 3                  # per username within `window` before attempts must wait
    max_delay: timedelta = timedelta(seconds=30)
    failures_per_day: int = 100             # evaluated per username in 24 h, since its last login or new password


@dataclass(frozen=True)
class LoginFailure:
    occurred_at: datetime
    client_address: str | None


@dataclass(frozen=True)
class LoginRefusal:
    """Why an attempt is not evaluated at all, and how long until one is."""
    reason: str
    retry_after_seconds: int


def seconds_until(moment: datetime, now: datetime) -> int:
    """Whole seconds from now until moment, at least 1 (a Retry-After of 0 would invite a retry now)."""
    return max(1, math.ceil((moment - now).total_seconds()))


def failures_counted_since(now: datetime, *resets: datetime | None) -> datetime:
    """Failures older than a day, or before the last login or the last new password, do not count."""
    return max([now - timedelta(days=1), *(moment for moment in resets if moment is not None)])


def login_refusal(failures: Sequence[LoginFailure], address: str | None, now: datetime,
                  limits: LoginLimits) -> LoginRefusal | None:
    """Whether an attempt from `address` may be evaluated now, given the username's counted failures.

    Past the daily limit only a new password (a reset link, which always works) opens the account.
    Below it, an address that keeps failing waits out its own window, and every address waits a
    delay that doubles with each failure in the window, up to `max_delay`: the owner, at another
    address, is slowed down at worst, never kept out.
    """
    newest_first = sorted(failures, key=lambda f: f.occurred_at, reverse=True)
    if len(newest_first) >= limits.failures_per_day:
        oldest_counted = newest_first[limits.failures_per_day - 1].occurred_at
        return LoginRefusal("PASSWORD_RESET_REQUIRED", seconds_until(oldest_counted + timedelta(days=1), now))
    recent = [f for f in newest_first if f.occurred_at > now - limits.window]
    from_address = [f for f in recent if address is not None and f.client_address == address]
    if len(from_address) >= limits.failures_per_address:
        leaves = from_address[limits.failures_per_address - 1].occurred_at + limits.window
        return LoginRefusal("TOO_MANY_ATTEMPTS", seconds_until(leaves, now))
    if len(recent) >= limits.free_failures:
        doublings = min(len(recent) - limits.free_failures, 16)  # 2 ** 16 s is past any max_delay already
        delay = min(limits.max_delay, timedelta(seconds=2 ** doublings))
        if recent[0].occurred_at + delay > now:
            return LoginRefusal("LOGIN_SLOWED_DOWN", seconds_until(recent[0].occurred_at + delay, now))
    return None


# --- links and sessions -------------------------------------------------------------------------

@dataclass(frozen=True)
class SetupLink:
    link_id: str
    account_id: str
    purpose: LinkPurpose
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    voided_at: datetime | None = None

    def usable_at(self, now: datetime) -> bool:
        return self.used_at is None and self.voided_at is None and self.expires_at > now


@dataclass(frozen=True)
class RefreshToken:
    token_id: str
    family_id: str
    account_id: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class EmailChange:
    """A new login e-mail, in force only once the new address confirms it."""
    change_id: str
    account_id: str
    new_email: str
    created_at: datetime
    expires_at: datetime
    confirmed_at: datetime | None = None
    voided_at: datetime | None = None

    def usable_at(self, now: datetime) -> bool:
        return self.confirmed_at is None and self.voided_at is None and self.expires_at > now


class SessionEnd(str, enum.Enum):
    """Why a session ended; every one of them refuses its tokens from the next request on."""
    LOGOUT = "logout"
    PASSWORD_SET = "password_set"
    PASSWORD_CHANGED = "password_changed"
    DISABLED = "disabled"
    REFRESH_REUSED = "refresh_reused"


@dataclass(frozen=True)
class Session:
    session_id: str
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    refresh_token_expires_at: datetime
    account: Account


@dataclass(frozen=True)
class AccountEvent:
    event_id: str
    account_id: str
    kind: str
    occurred_at: datetime
    client_address: str | None


def dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
