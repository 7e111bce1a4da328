"""Use cases of the identity service: each a short function of a command and injected dependencies.

Slow work (Argon2) is done outside transactions; every change and the mail it causes commit together.
"""
from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from identity.domain import (Account, AccountEvent, AccountStatus, AlreadyExists, EventKind,
                             InvalidInput, Language, LinkInvalid, LinkPurpose, LoginLimits, NewAccount, NotAllowed,
                             NotAuthenticated, NotFound, PasswordPolicy, Session, SessionEnd, SessionInvalid,
                             Throttled, check_display_name, check_email, check_mail_context, dedupe,
                             failures_counted_since, is_uuid, login_refusal, validate_new_account)
from identity.events import email_changed
from identity.mails import MailComposer
from identity.passwords import Hasher
from identity.repository import Conflict, Repository, UnitOfWork
from identity.tokens import AccessTokenIssuer, digest, new_secret
from svckit.clock import Clock
from svckit.logs import get_logger

log = get_logger(__name__)

MAX_BATCH = 1000
MAX_IDEMPOTENCY_KEY = 200
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 50, 200
MAX_USERNAME = 64
MAX_LOGIN_PASSWORD = 1024     # no valid password is longer; longer ones are not even hashed


@dataclass
class Deps:
    uow: Callable[[], UnitOfWork]
    clock: Clock
    hasher: Hasher
    policy: PasswordPolicy
    access_tokens: AccessTokenIssuer
    mails: MailComposer
    link_ttl: timedelta = timedelta(hours=72)
    refresh_ttl: timedelta = timedelta(hours=12)
    limits: LoginLimits = field(default_factory=LoginLimits)
    # Link mails one account may be sent in an hour on request ('forgot password'); more are not sent.
    link_mails_per_hour: int = 3
    email_change_ttl: timedelta = timedelta(hours=24)
    # Wakes the event relay once a transaction with events has committed.
    events_committed: Callable[[], None] = lambda: None

    def now(self) -> datetime:
        return self.clock.now().astimezone(timezone.utc)


# --- commands -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class CreateAccount:
    account: NewAccount
    idempotency_key: str = ""


@dataclass(frozen=True)
class UpdateAccount:
    account_id: str
    update_mask: Sequence[str]
    display_name: str = ""
    email: str = ""
    language: Language | None = None


@dataclass(frozen=True)
class DisableAccount:
    account_id: str
    actor_account_id: str = ""
    reason: str = ""


@dataclass(frozen=True)
class IssueLink:
    account_id: str = ""
    username_or_email: str = ""
    purpose: LinkPurpose | None = None
    mail_context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CompletePasswordSetup:
    token: str
    password: str


@dataclass(frozen=True)
class Authenticate:
    username: str
    password: str
    client_address: str = ""


@dataclass(frozen=True)
class ListEvents:
    account_id: str
    page_size: int = 0
    page_token: str = ""


# --- accounts -----------------------------------------------------------------------------------

def create_account(command: CreateAccount, deps: Deps) -> Account:
    """A new account awaiting its password; a repeat of an idempotency key answers the first account."""
    try:
        return _create_account(command, deps)
    except _Repeat as repeat:
        return repeat.account


def _create_account(command: CreateAccount, deps: Deps) -> Account:
    key = command.idempotency_key.strip() or None
    if key and len(key) > MAX_IDEMPOTENCY_KEY:
        raise InvalidInput({"idempotency_key": f"must be at most {MAX_IDEMPOTENCY_KEY} characters"})
    if key:
        with deps.uow() as uow:
            first = uow.repo.account_by_idempotency_key(key)
        if first:
            return first
    new, faults = validate_new_account(command.account)
    if faults:
        raise InvalidInput(faults)
    now = deps.now()
    account = Account(account_id=str(uuid.uuid4()), username=new.username, email=new.email,
                      display_name=new.display_name, kind=new.kind, status=AccountStatus.AWAITING_PASSWORD,
                      language=new.language, pe_registration_number=new.pe_registration_number or None,
                      created_at=now, updated_at=now)
    try:
        with deps.uow() as uow:
            _refuse_clash(uow.repo, account, key)
            uow.repo.add_account(account, key)
            uow.repo.add_event(account.account_id, EventKind.CREATED, now)
            if new.link_purpose:
                _issue_link(uow.repo, account, new.link_purpose, new.mail_context, deps, now)
            uow.commit()
    except Conflict:  # another transaction took the username (or key) between our check and insert
        with deps.uow() as uow:
            _refuse_clash(uow.repo, account, key)
        raise
    log.info("account created", account_id=account.account_id, kind=account.kind.value)
    return account


def _refuse_clash(repo: Repository, account: Account, key: str | None) -> None:
    clash = repo.clash(account, key)
    if clash == "idempotency_key":
        raise _Repeat(repo.account_by_idempotency_key(key))
    if clash == "username":
        raise AlreadyExists("username", "is taken; choose another username")
    if clash == "pe_registration_number":
        raise AlreadyExists("pe_registration_number", "already belongs to another account")


class _Repeat(Exception):
    def __init__(self, account: Account):
        super().__init__()
        self.account = account


def batch_create_accounts(accounts: Sequence[NewAccount], deps: Deps) -> list[tuple[Account | None, str]]:
    """Each row on its own: (account, "") or (None, what was wrong)."""
    if len(accounts) > MAX_BATCH:
        raise InvalidInput({"accounts": f"at most {MAX_BATCH} accounts at once"})
    results = []
    for new in accounts:
        try:
            results.append((create_account(CreateAccount(new), deps), ""))
        except InvalidInput as error:
            results.append((None, "; ".join(f"{name}: {text}" for name, text in error.violations.items())))
        except AlreadyExists as error:
            results.append((None, f"{error.field}: {error.message}"))
    return results


def get_account(account_id: str, deps: Deps) -> Account:
    if not is_uuid(account_id):
        raise NotFound("no such account")
    with deps.uow() as uow:
        account = uow.repo.account(account_id)
    if account is None:
        raise NotFound("no such account")
    return account


def batch_get_accounts(account_ids: Sequence[str], deps: Deps) -> list[Account]:
    """The accounts that exist, in the order asked; unknown ids are left out."""
    if len(account_ids) > MAX_BATCH:
        raise InvalidInput({"account_ids": f"at most {MAX_BATCH} ids at once"})
    wanted = dedupe(i for i in account_ids if is_uuid(i))
    with deps.uow() as uow:
        found = {account.account_id: account for account in uow.repo.accounts_by_ids(wanted)}
    return [found[i] for i in wanted if i in found]


UPDATABLE = ("display_name", "email", "language")


def update_account(command: UpdateAccount, deps: Deps) -> Account:
    mask = [path.strip() for path in command.update_mask if path.strip()]
    if not mask:  # AIP-134: without a mask, every field that is given
        mask = [name for name, given in (("display_name", command.display_name), ("email", command.email),
                                         ("language", command.language)) if given]
        if not mask:
            raise InvalidInput({"update_mask": "name the fields to change: display_name, email, language"})
    faults, changes = {}, {}
    for path in dedupe(mask):
        if path == "display_name":
            changes[path], fault = check_display_name(command.display_name)
        elif path == "email":
            changes[path], fault = check_email(command.email)
        elif path == "language":
            changes[path], fault = command.language, None if command.language else "choose nl or en"
        else:
            path, fault = "update_mask", f"{path!r} cannot be changed; only display_name, email, language"
        if fault:
            faults[path] = fault
    if faults:
        raise InvalidInput(faults)
    account = get_account(command.account_id, deps)
    moves = "email" in changes and changes["email"].lower() != account.email.lower()
    if moves and account.password_hash is not None:
        # Whoever could change it could send themselves a reset link: only the holder changes it,
        # through request_email_change.
        raise NotAllowed("EMAIL_CHANGED_BY_HOLDER_ONLY", "the e-mail of an account whose password is set is "
                                                         "changed only by its holder")
    now = deps.now()
    with deps.uow() as uow:
        uow.repo.update_account(account.account_id, now, **changes)
        if moves:
            # A link mailed to the old address must not set the password any more.
            uow.repo.void_links(account.account_id, now)
        account = uow.repo.account(account.account_id)
        uow.commit()
    return account


def disable_account(command: DisableAccount, deps: Deps) -> Account:
    """Disabled for good: sessions end and unused links stop working."""
    if command.actor_account_id and not is_uuid(command.actor_account_id):
        raise InvalidInput({"actor_account_id": "must be an account id"})
    account = get_account(command.account_id, deps)
    now = deps.now()
    with deps.uow() as uow:
        if account.status is not AccountStatus.DISABLED:
            uow.repo.update_account(account.account_id, now, status=AccountStatus.DISABLED)
            uow.repo.end_all_sessions(account.account_id, now, SessionEnd.DISABLED)
            uow.repo.void_links(account.account_id, now)
            uow.repo.add_event(account.account_id, EventKind.DISABLED, now,
                               actor_account_id=command.actor_account_id, detail=command.reason.strip())
        account = uow.repo.account(account.account_id)
        uow.commit()
    log.info("account disabled", account_id=account.account_id, actor_account_id=command.actor_account_id)
    return account


def delete_account(account_id: str, deps: Deps) -> None:
    """Only an account that never set its password: it undoes a registration step that failed later."""
    account = get_account(account_id, deps)
    with deps.uow() as uow:
        if not uow.repo.delete_awaiting_account(account.account_id, deps.now()):
            raise NotAllowed("ACCOUNT_IN_USE", "only an account that is still awaiting its password can be deleted")
        uow.commit()
    log.info("account deleted", account_id=account.account_id)


# --- password-setup links -----------------------------------------------------------------------

def _issue_link(repo: Repository, account: Account, purpose: LinkPurpose, context: Mapping[str, str],
                deps: Deps, now: datetime) -> None:
    """A new link voids the older unused ones; its mail is queued in the same transaction."""
    token = new_secret()
    expires_at = now + deps.link_ttl
    mail = deps.mails.setup_link_mail(account, purpose, token, expires_at, context)
    repo.void_links(account.account_id, now)
    mail_id = repo.enqueue_mail(mail, now)
    repo.add_link(account_id=account.account_id, token_hash=digest(token), purpose=purpose, now=now,
                  expires_at=expires_at, mail_id=mail_id)
    repo.add_event(account.account_id, EventKind.LINK_ISSUED, now, detail=purpose.value)


def issue_password_setup_link(command: IssueLink, deps: Deps) -> None:
    """Queue the request and answer at once: the same work whether or not the account exists.

    `process_link_requests` finds the account(s) and sends the link.
    """
    account_id, wanted = command.account_id.strip(), command.username_or_email.strip()
    if bool(account_id) == bool(wanted):
        message = "give either account_id or username_or_email"
        raise InvalidInput({"account_id": message, "username_or_email": message})
    if len(wanted) > 320:
        raise InvalidInput({"username_or_email": "must be at most 320 characters"})
    fault = check_mail_context(command.mail_context)
    if fault:
        raise InvalidInput({"mail_context": fault})
    with deps.uow() as uow:
        uow.repo.add_link_request(account_id=account_id[:36] or None, username_or_email=wanted or None,
                                  purpose=command.purpose or LinkPurpose.PASSWORD_RESET,
                                  mail_context=dict(command.mail_context), now=deps.now())
        uow.commit()


def process_link_requests(deps: Deps, limit: int = 20) -> int:
    """One pass over queued link requests; answers how many were handled."""
    with deps.uow() as uow:
        requests = uow.repo.claim_link_requests(deps.now(), timedelta(seconds=60), limit)
        uow.commit()
    for request in requests:
        try:
            _answer_link_request(request, deps)
        except Exception as error:  # this one waits for its lease to run out; the others go on
            # Without the error's text: a failed statement's parameters can hold a mail body.
            log.error("link request failed; it will be tried again", request_id=request.request_id,
                      error=type(error).__name__)
    return len(requests)


def _answer_link_request(request, deps: Deps) -> None:
    now, purpose = deps.now(), LinkPurpose(request.purpose)
    with deps.uow() as uow:
        for account in _link_targets(uow.repo, request.account_id, request.username_or_email):
            if account.status is AccountStatus.DISABLED:
                continue
            if purpose is LinkPurpose.PASSWORD_RESET and _link_mails_spent(uow.repo, account, deps, now):
                # Anyone can ask on anyone's behalf: past the limit nothing is sent, and the asker
                # was answered exactly as always.
                log.warning("password link not sent: the account's hourly limit is reached",
                            account_id=account.account_id)
                continue
            _issue_link(uow.repo, account, purpose, json.loads(request.mail_context), deps, now)
        uow.repo.delete_link_request(request.request_id)
        uow.commit()


def _link_mails_spent(repo: Repository, account: Account, deps: Deps, now: datetime) -> bool:
    return repo.links_issued_since(account.account_id, now - timedelta(hours=1)) >= deps.link_mails_per_hour


def _link_targets(repo: Repository, account_id: str | None, wanted: str | None) -> list[Account]:
    if account_id:
        account = repo.account(account_id) if is_uuid(account_id) else None
        return [account] if account else []
    account = repo.account_by_username(wanted)
    return [account] if account else repo.accounts_by_email(wanted)


def complete_password_setup(command: CompletePasswordSetup, deps: Deps) -> Account:
    """Set the password with a link token. The policy is checked before the token is spent."""
    if not command.token.strip():
        raise InvalidInput({"token": "is required"})
    token_hash, now = digest(command.token.strip()), deps.now()
    with deps.uow() as uow:
        link = uow.repo.link_by_token_hash(token_hash)
        account = uow.repo.account(link.account_id) if link else None
    if link is None or account is None or not link.usable_at(now) or account.status is AccountStatus.DISABLED:
        raise LinkInvalid()
    deps.policy.check(command.password, username=account.username, email=account.email)
    password_hash = deps.hasher.hash(command.password)
    with deps.uow() as uow:
        # The one conditional UPDATE decides which of concurrent attempts wins.
        if uow.repo.consume_link(token_hash, now) != account.account_id:
            raise LinkInvalid()
        if not uow.repo.set_password(account.account_id, password_hash, now):
            raise LinkInvalid()
        uow.repo.void_links(account.account_id, now)
        uow.repo.void_email_changes(account.account_id, now)  # one asked by whoever knew the old password
        uow.repo.end_all_sessions(account.account_id, now, SessionEnd.PASSWORD_SET)
        uow.repo.add_event(account.account_id, EventKind.PASSWORD_SET, now)
        account = uow.repo.account(account.account_id)
        uow.commit()
    log.info("password set", account_id=account.account_id)
    return account


# --- login and sessions -------------------------------------------------------------------------

def authenticate(command: Authenticate, deps: Deps) -> Session:
    username, password = command.username.strip(), command.password
    faults = {}
    # No username is longer (domain.USERNAME); a longer one is not even looked up, nor counted as a failure.
    if not username or len(username) > MAX_USERNAME:
        faults["username"] = "is required" if not username else f"must be at most {MAX_USERNAME} characters"
    if not password or len(password) > MAX_LOGIN_PASSWORD:
        faults["password"] = "is required" if not password else "is too long"
    if faults:
        raise InvalidInput(faults)
    address = command.client_address.strip()[:100] or None
    key, now = username.lower(), deps.now()
    with deps.uow() as uow:
        account = uow.repo.account_by_username(key)
        _refuse_if_throttled(uow.repo, key, account, address, deps, now)
    # Argon2 runs for unknown usernames too (against a dummy hash), so both take as long.
    verified = deps.hasher.verify(account.password_hash if account else None, password)
    if verified and account is not None and account.may_log_in:
        return _start_session(account, password, address, deps, now)
    _record_failure(key, account, address, deps, now)
    raise NotAuthenticated()


def _refuse_if_throttled(repo: Repository, key: str, account: Account | None, address: str | None, deps: Deps,
                         now: datetime) -> None:
    """Raise Throttled when this attempt must not even be evaluated (see domain.login_refusal)."""
    resets = repo.login_resets(account.account_id) if account else ()
    failures = repo.counted_failures(key, failures_counted_since(now, *resets), deps.limits.failures_per_day)
    refusal = login_refusal(failures, address, now, deps.limits)
    if refusal:
        raise Throttled(refusal.reason, refusal.retry_after_seconds)


def _record_failure(key: str, account: Account | None, address: str | None, deps: Deps, now: datetime) -> None:
    with deps.uow() as uow:
        uow.repo.add_login_failure(key, address, now)
        if account:
            uow.repo.add_event(account.account_id, EventKind.LOGIN_FAILED, now, client_address=address)
        uow.commit()


def _start_session(account: Account, password: str, address: str | None, deps: Deps,
                   now: datetime) -> Session:
    rehashed = deps.hasher.hash(password) if deps.hasher.needs_rehash(account.password_hash) else None
    session_id, refresh, expires_at = str(uuid.uuid4()), new_secret(), now + deps.refresh_ttl
    with deps.uow() as uow:
        uow.repo.add_session(session_id=session_id, account_id=account.account_id, now=now, expires_at=expires_at)
        uow.repo.add_refresh_token(family_id=session_id, account_id=account.account_id,
                                   token_hash=digest(refresh), now=now, expires_at=expires_at)
        uow.repo.record_login(account.account_id, now)
        uow.repo.add_event(account.account_id, EventKind.LOGIN_SUCCEEDED, now, client_address=address)
        if rehashed:
            uow.repo.replace_hash(account.account_id, account.password_hash, rehashed)
        uow.commit()
    access, access_expires_at = deps.access_tokens.issue(account, session_id, now)
    return Session(session_id, access, access_expires_at, refresh, expires_at, account)


def refresh_session(refresh_token: str, deps: Deps) -> Session:
    """Rotate: the token is spent and a new one of the same session (and the same end) replaces it.

    A spent token coming back means it was stolen or copied: the whole session ends.
    """
    if not refresh_token.strip():
        raise InvalidInput({"refresh_token": "is required"})
    now = deps.now()
    with deps.uow() as uow:
        token = uow.repo.refresh_token(digest(refresh_token.strip()))
        if token is None or token.expires_at <= now or token.revoked_at or uow.repo.session_ended(token.family_id):
            raise SessionInvalid()
        if token.used_at is not None or not uow.repo.use_refresh_token(token.token_id, now):
            uow.repo.end_session(token.family_id, now, SessionEnd.REFRESH_REUSED)
            uow.commit()
            log.warning("a rotated refresh token was used again; its session is ended",
                        account_id=token.account_id, session_id=token.family_id)
            raise SessionInvalid()
        account = uow.repo.account(token.account_id)
        if account is None or not account.may_log_in:
            raise SessionInvalid()
        successor = new_secret()
        uow.repo.add_refresh_token(family_id=token.family_id, account_id=account.account_id,
                                   token_hash=digest(successor), now=now, expires_at=token.expires_at)
        uow.commit()
    access, access_expires_at = deps.access_tokens.issue(account, token.family_id, now)
    return Session(token.family_id, access, access_expires_at, successor, token.expires_at, account)


@dataclass(frozen=True)
class EndSession:
    """Logout, by the refresh token or by the session an access token names (with its account)."""
    refresh_token: str = ""
    session_id: str = ""
    account_id: str = ""


def end_session(command: EndSession, deps: Deps) -> None:
    """Every token of the session stops working. An unknown session is no error (it has ended)."""
    if bool(command.refresh_token.strip()) == bool(command.session_id.strip()):
        message = "give either refresh_token or session_id"
        raise InvalidInput({"refresh_token": message, "session_id": message})
    now = deps.now()
    with deps.uow() as uow:
        if command.refresh_token.strip():
            token = uow.repo.refresh_token(digest(command.refresh_token.strip()))
            session_id, account_id = (token.family_id, token.account_id) if token else ("", "")
        else:
            session_id = command.session_id.strip()
            owner = uow.repo.session_owner(session_id) if is_uuid(session_id) else None
            # Only the holder's own session: an id alone ends nothing of anybody else's.
            account_id = owner if owner and owner == command.account_id.strip() else ""
        if account_id and uow.repo.end_session(session_id, now, SessionEnd.LOGOUT):
            uow.repo.add_event(account_id, EventKind.LOGOUT, now)
            uow.commit()


def check_session(session_id: str, account_id: str, deps: Deps) -> None:
    """Raise SessionInvalid unless the session is live and its account may still log in."""
    if not (is_uuid(session_id) and is_uuid(account_id)):
        raise SessionInvalid()
    with deps.uow() as uow:
        if not uow.repo.live_session(session_id, account_id, deps.now()):
            raise SessionInvalid()


# --- the holder's own password and e-mail ---------------------------------------------------------

@dataclass(frozen=True)
class ChangePassword:
    account_id: str
    current_password: str
    new_password: str
    client_address: str = ""


@dataclass(frozen=True)
class RequestEmailChange:
    account_id: str
    current_password: str
    new_email: str
    client_address: str = ""


def change_password(command: ChangePassword, deps: Deps) -> Account:
    """A new password from the logged-in holder, who proves the current one; every session ends."""
    account = _holder_with_password(command.account_id, command.current_password, command.client_address, deps)
    if command.new_password == command.current_password:
        raise InvalidInput({"new_password": "must differ from the current password"})
    try:
        deps.policy.check(command.new_password, username=account.username, email=account.email)
    except InvalidInput as error:
        raise InvalidInput({"new_password": error.violations["password"]}) from None
    new_hash, now = deps.hasher.hash(command.new_password), deps.now()
    with deps.uow() as uow:
        if not uow.repo.change_password(account.account_id, account.password_hash, new_hash, now):
            raise NotAllowed("PASSWORD_CHANGED_MEANWHILE", "the password changed meanwhile; log in again")
        uow.repo.void_links(account.account_id, now)
        uow.repo.void_email_changes(account.account_id, now)
        uow.repo.end_all_sessions(account.account_id, now, SessionEnd.PASSWORD_CHANGED)
        uow.repo.add_event(account.account_id, EventKind.PASSWORD_CHANGED, now,
                           client_address=command.client_address.strip()[:100] or None)
        account = uow.repo.account(account.account_id)
        uow.commit()
    log.info("password changed", account_id=account.account_id)
    return account


def request_email_change(command: RequestEmailChange, deps: Deps) -> None:
    """The holder asks for a new login e-mail. It takes effect when the new address confirms;
    meanwhile the old address is told, and links already sent to it stop working."""
    new_email, fault = check_email(command.new_email)
    if fault:
        raise InvalidInput({"new_email": fault})
    account = _holder_with_password(command.account_id, command.current_password, command.client_address, deps)
    if new_email.lower() == account.email.lower():
        raise InvalidInput({"new_email": "is the address the account has already"})
    token, now = new_secret(), deps.now()
    expires_at = now + deps.email_change_ttl
    with deps.uow() as uow:
        uow.repo.void_email_changes(account.account_id, now)
        uow.repo.void_links(account.account_id, now)
        uow.repo.add_email_change(account_id=account.account_id, new_email=new_email, token_hash=digest(token),
                                  now=now, expires_at=expires_at)
        uow.repo.enqueue_mail(deps.mails.email_change_confirmation(account, new_email, token, expires_at), now)
        uow.repo.enqueue_mail(deps.mails.email_change_notice(account, new_email), now)
        uow.repo.add_event(account.account_id, EventKind.EMAIL_CHANGE_REQUESTED, now,
                           client_address=command.client_address.strip()[:100] or None)
        uow.commit()
    log.info("e-mail change requested", account_id=account.account_id)


def confirm_email_change(token: str, deps: Deps) -> Account:
    """The new address proves it receives mail: the login e-mail changes, once."""
    if not token.strip():
        raise InvalidInput({"token": "is required"})
    now = deps.now()
    with deps.uow() as uow:
        change = uow.repo.email_change(digest(token.strip()))
        account = uow.repo.account(change.account_id) if change else None
        if change is None or account is None or not change.usable_at(now) or not account.may_log_in:
            raise LinkInvalid()
        if not uow.repo.confirm_email_change(change.change_id, now):
            raise LinkInvalid()
        uow.repo.update_account(account.account_id, now, email=change.new_email)
        uow.repo.void_links(account.account_id, now)
        uow.repo.add_event(account.account_id, EventKind.EMAIL_CHANGED, now)
        uow.repo.enqueue_mail(deps.mails.email_changed_notice(account, change.new_email), now)
        uow.repo.add_outbound_event(email_changed(account, change.new_email, now))
        changed = uow.repo.account(account.account_id)
        uow.commit()
    deps.events_committed()
    log.info("e-mail changed", account_id=account.account_id)
    return changed


def _holder_with_password(account_id: str, password: str, client_address: str, deps: Deps) -> Account:
    """The account, once its holder has re-entered the password: a wrong one counts as a failed
    login, and a throttled account is not even checked, so this is no way around the login limits."""
    if not password or len(password) > MAX_LOGIN_PASSWORD:
        raise InvalidInput({"current_password": "is required" if not password else "is too long"})
    account = get_account(account_id, deps)
    if not account.may_log_in:
        raise NotAllowed("ACCOUNT_NOT_ACTIVE", "the account cannot do this in its present state")
    address, now = client_address.strip()[:100] or None, deps.now()
    with deps.uow() as uow:
        _refuse_if_throttled(uow.repo, account.username_lower, account, address, deps, now)
    if not deps.hasher.verify(account.password_hash, password):
        _record_failure(account.username_lower, account, address, deps, now)
        raise InvalidInput({"current_password": "is not the account's current password"})
    return account


# --- audit trail --------------------------------------------------------------------------------

def list_account_events(command: ListEvents, deps: Deps) -> tuple[list[AccountEvent], str]:
    """Newest first; the page token is opaque to callers."""
    if command.page_size < 0:
        raise InvalidInput({"page_size": "must not be negative"})
    size = min(command.page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    before = _read_page_token(command.page_token, command.account_id) if command.page_token else None
    account = get_account(command.account_id, deps)
    with deps.uow() as uow:
        rows = uow.repo.events(account.account_id, before_seq=before, limit=size + 1)
    page = rows[:size]
    next_token = _page_token(account.account_id, page[-1][0]) if len(rows) > size else ""
    return [event for _, event in page], next_token


def _page_token(account_id: str, seq: int) -> str:
    raw = json.dumps({"a": account_id, "s": seq}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_page_token(token: str, account_id: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if data["a"] == account_id and isinstance(data["s"], int):
            return data["s"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        pass
    raise InvalidInput({"page_token": "is not a token this list gave out"})


def forget_stale_records(deps: Deps) -> None:
    """Failed logins, locks and refresh tokens past any window that could still count them."""
    with deps.uow() as uow:
        uow.repo.forget_old_logins(deps.now() - timedelta(days=2))
        uow.commit()
