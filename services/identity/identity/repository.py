"""Persistence of the identity service (SQLAlchemy 2 Core). Its tables are its own.

Instants are UtcDateTime columns (aware UTC on both databases); `utc` also covers aggregates.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

from sqlalchemy import (BigInteger, Column, ForeignKey, Index, Integer, LargeBinary, MetaData,
                        String, Table, Text, and_, bindparam, delete, func, insert, or_, select, update)
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError

from identity.domain import (Account, AccountEvent, AccountKind, AccountStatus, EmailChange, Language, LinkPurpose,
                             LoginFailure, RefreshToken, SetupLink)
from svckit.claims import Claim
from svckit.event_outbox import OutboundEvent, add_event, event_outbox_table
from svckit.mail_outbox import OutgoingMail, enqueue_mail, mail_outbox_table
from svckit.types import UtcDateTime

metadata = MetaData()

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a bigint identity.
Sequence_ = BigInteger().with_variant(Integer(), "sqlite")

signing_keys = Table(
    "signing_keys", metadata,
    Column("key_id", String(64), primary_key=True),
    Column("public_key", LargeBinary(32), nullable=False),
    # Encrypted with the key-encryption key (identity.keys); the public half is public.
    Column("private_key", LargeBinary(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("retired_at", UtcDateTime(), nullable=True),
)

accounts = Table(
    "accounts", metadata,
    Column("account_id", String(36), primary_key=True),
    Column("username", String(64), nullable=False),
    Column("username_lower", String(64), nullable=False),
    Column("email", String(320), nullable=False),
    Column("email_lower", String(320), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("language", String(2), nullable=False),
    Column("pe_registration_number", String(32), nullable=True),
    Column("password_hash", String(255), nullable=True),
    Column("idempotency_key", String(200), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("last_login_at", UtcDateTime(), nullable=True),
    Column("password_changed_at", UtcDateTime(), nullable=True),
    Index("ux_accounts_username_lower", "username_lower", unique=True),
    Index("ux_accounts_pe_registration_number", "pe_registration_number", unique=True),
    Index("ux_accounts_idempotency_key", "idempotency_key", unique=True),
    Index("ix_accounts_email_lower", "email_lower"),
)

password_links = Table(
    "password_links", metadata,
    Column("link_id", String(36), primary_key=True),
    Column("account_id", String(36), ForeignKey("accounts.account_id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("purpose", String(30), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("used_at", UtcDateTime(), nullable=True),
    Column("voided_at", UtcDateTime(), nullable=True),
    Column("mail_id", String(36), nullable=True),
    Index("ux_password_links_token_hash", "token_hash", unique=True),
    Index("ix_password_links_account_id", "account_id"),
)

# 'Forgot password' requests wait here; a worker answers them, so that the request itself does
# the same work whether or not the account exists.
link_requests = Table(
    "link_requests", metadata,
    Column("request_id", String(36), primary_key=True),
    Column("account_id", String(36), nullable=True),
    Column("username_or_email", String(320), nullable=True),
    Column("purpose", String(30), nullable=False),
    Column("mail_context", Text, nullable=False),
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("claimed_until", UtcDateTime(), nullable=True),
    Index("ix_link_requests_requested_at", "requested_at"),
)

# A login session: what access tokens name (claim `sid`) and refresh tokens belong to (family_id).
sessions = Table(
    "sessions", metadata,
    Column("session_id", String(36), primary_key=True),
    Column("account_id", String(36), ForeignKey("accounts.account_id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("ended_at", UtcDateTime(), nullable=True),
    Column("end_reason", String(30), nullable=True),
    Index("ix_sessions_account_id", "account_id"),
)

# A login e-mail change waiting for the new address to confirm it.
email_changes = Table(
    "email_changes", metadata,
    Column("change_id", String(36), primary_key=True),
    Column("account_id", String(36), ForeignKey("accounts.account_id", ondelete="CASCADE"), nullable=False),
    Column("new_email", String(320), nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("confirmed_at", UtcDateTime(), nullable=True),
    Column("voided_at", UtcDateTime(), nullable=True),
    Index("ux_email_changes_token_hash", "token_hash", unique=True),
    Index("ix_email_changes_account_id", "account_id"),
)

refresh_tokens = Table(
    "refresh_tokens", metadata,
    Column("token_id", String(36), primary_key=True),
    Column("family_id", String(36), nullable=False),
    Column("account_id", String(36), ForeignKey("accounts.account_id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("used_at", UtcDateTime(), nullable=True),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Index("ux_refresh_tokens_token_hash", "token_hash", unique=True),
    Index("ix_refresh_tokens_family_id", "family_id"),
    Index("ix_refresh_tokens_account_id", "account_id"),
)

account_events = Table(
    "account_events", metadata,
    Column("seq", Sequence_, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    Column("account_id", String(36), ForeignKey("accounts.account_id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("client_address", String(100), nullable=True),
    Column("actor_account_id", String(36), nullable=True),
    Column("detail", String(500), nullable=True),
    Index("ux_account_events_event_id", "event_id", unique=True),
    Index("ix_account_events_account_id_seq", "account_id", "seq"),
)

# Failed logins, by the username tried (known or not, so that a lock does not reveal which
# usernames exist) and by the client's address.
login_failures = Table(
    "login_failures", metadata,
    Column("failure_id", Sequence_, primary_key=True, autoincrement=True),
    Column("username_lower", String(64), nullable=False),
    Column("client_address", String(100), nullable=True),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Index("ix_login_failures_username_lower_occurred_at", "username_lower", "occurred_at"),
    Index("ix_login_failures_client_address_occurred_at", "client_address", "occurred_at"),
)

mail_outbox = mail_outbox_table(metadata)
event_outbox = event_outbox_table(metadata)

_CLAIM_LINK_REQUESTS = Claim(link_requests, due=link_requests.c.request_id.is_not(None),
                             order_by=link_requests.c.requested_at)

# The session check, which the gateway asks on most requests: built once, as building the
# statement cost SQLAlchemy more than running it.
_LIVE_SESSION = (select(sessions.c.session_id).join(accounts, accounts.c.account_id == sessions.c.account_id)
                 .where(sessions.c.session_id == bindparam("session_id"),
                        sessions.c.account_id == bindparam("account_id"),
                        sessions.c.ended_at.is_(None), sessions.c.expires_at > bindparam("now", type_=UtcDateTime()),
                        accounts.c.status == AccountStatus.ACTIVE.value, accounts.c.password_hash.is_not(None)))


def utc(moment: datetime | None) -> datetime | None:
    """Aware UTC, whether the driver gave a naive (SQLite) or an aware (PostgreSQL) datetime."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


_ACCOUNT_COLUMNS = (accounts,)


def _account(row: Row) -> Account:
    return Account(
        account_id=row.account_id, username=row.username, email=row.email, display_name=row.display_name,
        kind=AccountKind(row.kind), status=AccountStatus(row.status), language=Language(row.language),
        pe_registration_number=row.pe_registration_number, created_at=utc(row.created_at),
        updated_at=utc(row.updated_at), password_hash=row.password_hash)


class Conflict(Exception):
    """An insert clashed with a row another transaction wrote first."""


class Repository:
    """Every query of the service, on one connection inside one transaction."""

    def __init__(self, connection: Connection):
        self.connection = connection

    # --- accounts ----------------------------------------------------------------------------

    def _one_account(self, condition) -> Account | None:
        row = self.connection.execute(select(*_ACCOUNT_COLUMNS).where(condition)).first()
        return _account(row) if row else None

    def account(self, account_id: str) -> Account | None:
        return self._one_account(accounts.c.account_id == account_id)

    def account_by_username(self, username: str) -> Account | None:
        return self._one_account(accounts.c.username_lower == username.lower())

    def account_by_idempotency_key(self, key: str) -> Account | None:
        return self._one_account(accounts.c.idempotency_key == key)

    def accounts_by_email(self, email: str) -> list[Account]:
        rows = self.connection.execute(select(*_ACCOUNT_COLUMNS).where(accounts.c.email_lower == email.lower())
                                       .order_by(accounts.c.created_at)).all()
        return [_account(row) for row in rows]

    def accounts_by_ids(self, account_ids: Sequence[str]) -> list[Account]:
        if not account_ids:
            return []
        rows = self.connection.execute(select(*_ACCOUNT_COLUMNS).where(accounts.c.account_id.in_(account_ids))).all()
        return [_account(row) for row in rows]

    def username_taken(self, username: str) -> bool:
        return self.connection.execute(select(accounts.c.account_id).where(
            accounts.c.username_lower == username.lower())).first() is not None

    def registration_number_taken(self, number: str) -> bool:
        return self.connection.execute(select(accounts.c.account_id).where(
            accounts.c.pe_registration_number == number)).first() is not None

    def add_account(self, account: Account, idempotency_key: str | None) -> None:
        """Insert; a clash on a unique column raises Conflict (and `clash` in a new transaction says which)."""
        try:
            self._insert_account(account, idempotency_key)
        except IntegrityError:
            raise Conflict() from None

    def _insert_account(self, account: Account, idempotency_key: str | None) -> None:
        self.connection.execute(insert(accounts).values(
            account_id=account.account_id, username=account.username, username_lower=account.username_lower,
            email=account.email, email_lower=account.email.lower(), display_name=account.display_name,
            kind=account.kind.value, status=account.status.value, language=account.language.value,
            pe_registration_number=account.pe_registration_number or None, password_hash=None,
            idempotency_key=idempotency_key, created_at=account.created_at, updated_at=account.updated_at))

    def clash(self, account: Account, idempotency_key: str | None) -> str | None:
        """Which unique column an account would clash on: idempotency_key, username or
        pe_registration_number; None if it would not."""
        if idempotency_key and self.account_by_idempotency_key(idempotency_key):
            return "idempotency_key"
        if self.username_taken(account.username):
            return "username"
        if account.pe_registration_number and self.registration_number_taken(account.pe_registration_number):
            return "pe_registration_number"
        return None

    def update_account(self, account_id: str, now: datetime, **changes) -> None:
        values = {"updated_at": now}
        for name, value in changes.items():
            if name == "email":
                values["email_lower"] = value.lower()
            values[name] = value.value if isinstance(value, (Language, AccountStatus)) else value
        self.connection.execute(update(accounts).where(accounts.c.account_id == account_id).values(**values))

    def set_password(self, account_id: str, password_hash: str, now: datetime) -> bool:
        """Set the hash and make the account active; False if it was disabled meanwhile."""
        result = self.connection.execute(
            update(accounts).where(and_(accounts.c.account_id == account_id,
                                        accounts.c.status != AccountStatus.DISABLED.value))
            .values(password_hash=password_hash, status=AccountStatus.ACTIVE.value, updated_at=now,
                    password_changed_at=now))
        return result.rowcount == 1

    def change_password(self, account_id: str, old_hash: str, new_hash: str, now: datetime) -> bool:
        """Replace the hash, only if the password did not change meanwhile and the account is active."""
        return self.connection.execute(update(accounts).where(and_(
            accounts.c.account_id == account_id, accounts.c.password_hash == old_hash,
            accounts.c.status == AccountStatus.ACTIVE.value))
            .values(password_hash=new_hash, updated_at=now, password_changed_at=now)).rowcount == 1

    def replace_hash(self, account_id: str, old_hash: str, new_hash: str) -> None:
        """A rehash with newer parameters, only if the password did not change meanwhile."""
        self.connection.execute(update(accounts).where(and_(
            accounts.c.account_id == account_id, accounts.c.password_hash == old_hash))
            .values(password_hash=new_hash))

    def record_login(self, account_id: str, now: datetime) -> None:
        self.connection.execute(update(accounts).where(accounts.c.account_id == account_id)
                                .values(last_login_at=now))

    def login_resets(self, account_id: str) -> tuple[datetime | None, datetime | None]:
        """The last login and the last new password: failures before either no longer count."""
        row = self.connection.execute(select(accounts.c.last_login_at, accounts.c.password_changed_at).where(
            accounts.c.account_id == account_id)).first()
        return (utc(row.last_login_at), utc(row.password_changed_at)) if row else (None, None)

    def delete_awaiting_account(self, account_id: str, now: datetime) -> bool:
        """Delete an account that never set its password, with its links, events and the mail not
        yet sent to it; False (and nothing deleted) if it is not such an account."""
        held = self.connection.execute(update(accounts).where(and_(
            accounts.c.account_id == account_id, accounts.c.status == AccountStatus.AWAITING_PASSWORD.value))
            .values(updated_at=now))
        if held.rowcount != 1:
            return False
        mail_ids = self.connection.execute(select(password_links.c.mail_id).where(and_(
            password_links.c.account_id == account_id, password_links.c.mail_id.is_not(None)))).scalars().all()
        if mail_ids:
            self.connection.execute(delete(mail_outbox).where(and_(
                mail_outbox.c.mail_id.in_(mail_ids), mail_outbox.c.sent_at.is_(None))))
        for table in (password_links, refresh_tokens, sessions, email_changes, account_events):
            self.connection.execute(delete(table).where(table.c.account_id == account_id))
        self.connection.execute(delete(accounts).where(accounts.c.account_id == account_id))
        return True

    # --- password-setup links ----------------------------------------------------------------

    def add_link(self, *, account_id: str, token_hash: str, purpose: LinkPurpose, now: datetime,
                 expires_at: datetime, mail_id: str | None) -> str:
        link_id = str(uuid.uuid4())
        self.connection.execute(insert(password_links).values(
            link_id=link_id, account_id=account_id, token_hash=token_hash, purpose=purpose.value,
            created_at=now, expires_at=expires_at, mail_id=mail_id))
        return link_id

    def void_links(self, account_id: str, now: datetime) -> int:
        """Void every unused link of the account, so only the newest can be used."""
        return self.connection.execute(update(password_links).where(and_(
            password_links.c.account_id == account_id, password_links.c.used_at.is_(None),
            password_links.c.voided_at.is_(None))).values(voided_at=now)).rowcount

    def link_by_token_hash(self, token_hash: str) -> SetupLink | None:
        row = self.connection.execute(select(password_links).where(
            password_links.c.token_hash == token_hash)).first()
        if row is None:
            return None
        return SetupLink(link_id=row.link_id, account_id=row.account_id, purpose=LinkPurpose(row.purpose),
                         created_at=utc(row.created_at), expires_at=utc(row.expires_at),
                         used_at=utc(row.used_at), voided_at=utc(row.voided_at))

    def links_issued_since(self, account_id: str, since: datetime) -> int:
        return self.connection.execute(select(func.count()).select_from(password_links).where(and_(
            password_links.c.account_id == account_id, password_links.c.created_at > since))).scalar_one()

    def consume_link(self, token_hash: str, now: datetime) -> str | None:
        """Mark the link used if it still can be: one conditional UPDATE, so exactly one caller wins.

        Answers the link's account id for the winner, None for everyone else.
        """
        link = self.connection.execute(select(password_links.c.link_id, password_links.c.account_id).where(
            password_links.c.token_hash == token_hash)).first()
        if link is None:
            return None
        won = self.connection.execute(update(password_links).where(and_(
            password_links.c.link_id == link.link_id, password_links.c.used_at.is_(None),
            password_links.c.voided_at.is_(None), password_links.c.expires_at > now)).values(used_at=now))
        return link.account_id if won.rowcount == 1 else None

    # --- link requests -----------------------------------------------------------------------

    def add_link_request(self, *, account_id: str | None, username_or_email: str | None,
                         purpose: LinkPurpose, mail_context: dict[str, str], now: datetime) -> None:
        self.connection.execute(insert(link_requests).values(
            request_id=str(uuid.uuid4()), account_id=account_id, username_or_email=username_or_email,
            purpose=purpose.value, mail_context=json.dumps(mail_context), requested_at=now))

    def claim_link_requests(self, now: datetime, lease: timedelta, limit: int) -> list[Row]:
        return _CLAIM_LINK_REQUESTS(self.connection, now=now, lease=lease, limit=limit)

    def delete_link_request(self, request_id: str) -> None:
        self.connection.execute(delete(link_requests).where(link_requests.c.request_id == request_id))

    # --- mail --------------------------------------------------------------------------------

    def enqueue_mail(self, mail: OutgoingMail, now: datetime) -> str:
        return enqueue_mail(self.connection, mail_outbox, mail, now)

    # --- sessions and refresh tokens ---------------------------------------------------------

    def add_session(self, *, session_id: str, account_id: str, now: datetime, expires_at: datetime) -> None:
        self.connection.execute(insert(sessions).values(
            session_id=session_id, account_id=account_id, created_at=now, expires_at=expires_at))

    def live_session(self, session_id: str, account_id: str, now: datetime) -> bool:
        """Not ended, not expired, of this account, and the account may still log in."""
        return self.connection.execute(
            _LIVE_SESSION, {"session_id": session_id, "account_id": account_id, "now": now}).first() is not None

    def session_ended(self, session_id: str) -> bool:
        return self.connection.execute(select(sessions.c.ended_at).where(
            sessions.c.session_id == session_id)).scalar() is not None

    def session_owner(self, session_id: str) -> str | None:
        return self.connection.execute(select(sessions.c.account_id).where(
            sessions.c.session_id == session_id)).scalar()

    def end_session(self, session_id: str, now: datetime, reason: str) -> bool:
        """End the session and spend its refresh tokens; False if it had ended already."""
        ended = self.connection.execute(update(sessions).where(and_(
            sessions.c.session_id == session_id, sessions.c.ended_at.is_(None)))
            .values(ended_at=now, end_reason=reason)).rowcount == 1
        self.connection.execute(update(refresh_tokens).where(and_(
            refresh_tokens.c.family_id == session_id, refresh_tokens.c.revoked_at.is_(None)))
            .values(revoked_at=now))
        return ended

    def end_all_sessions(self, account_id: str, now: datetime, reason: str) -> None:
        self.connection.execute(update(sessions).where(and_(
            sessions.c.account_id == account_id, sessions.c.ended_at.is_(None)))
            .values(ended_at=now, end_reason=reason))
        self.connection.execute(update(refresh_tokens).where(and_(
            refresh_tokens.c.account_id == account_id, refresh_tokens.c.revoked_at.is_(None)))
            .values(revoked_at=now))

    def add_refresh_token(self, *, family_id: str, account_id: str, token_hash: str, now: datetime,
                          expires_at: datetime) -> None:
        self.connection.execute(insert(refresh_tokens).values(
            token_id=str(uuid.uuid4()), family_id=family_id, account_id=account_id, token_hash=token_hash,
            created_at=now, expires_at=expires_at))

    def refresh_token(self, token_hash: str) -> RefreshToken | None:
        row = self.connection.execute(select(refresh_tokens).where(
            refresh_tokens.c.token_hash == token_hash)).first()
        if row is None:
            return None
        return RefreshToken(token_id=row.token_id, family_id=row.family_id, account_id=row.account_id,
                            created_at=utc(row.created_at), expires_at=utc(row.expires_at),
                            used_at=utc(row.used_at), revoked_at=utc(row.revoked_at))

    def use_refresh_token(self, token_id: str, now: datetime) -> bool:
        """Mark the token rotated; False if another call rotated or revoked it first."""
        return self.connection.execute(update(refresh_tokens).where(and_(
            refresh_tokens.c.token_id == token_id, refresh_tokens.c.used_at.is_(None),
            refresh_tokens.c.revoked_at.is_(None))).values(used_at=now)).rowcount == 1

    # --- e-mail changes ----------------------------------------------------------------------

    def add_email_change(self, *, account_id: str, new_email: str, token_hash: str, now: datetime,
                         expires_at: datetime) -> None:
        self.connection.execute(insert(email_changes).values(
            change_id=str(uuid.uuid4()), account_id=account_id, new_email=new_email, token_hash=token_hash,
            created_at=now, expires_at=expires_at))

    def email_change(self, token_hash: str) -> EmailChange | None:
        row = self.connection.execute(select(email_changes).where(
            email_changes.c.token_hash == token_hash)).first()
        if row is None:
            return None
        return EmailChange(change_id=row.change_id, account_id=row.account_id, new_email=row.new_email,
                           created_at=utc(row.created_at), expires_at=utc(row.expires_at),
                           confirmed_at=utc(row.confirmed_at), voided_at=utc(row.voided_at))

    def confirm_email_change(self, change_id: str, now: datetime) -> bool:
        """One conditional UPDATE: exactly one of concurrent confirmations wins."""
        return self.connection.execute(update(email_changes).where(and_(
            email_changes.c.change_id == change_id, email_changes.c.confirmed_at.is_(None),
            email_changes.c.voided_at.is_(None), email_changes.c.expires_at > now))
            .values(confirmed_at=now)).rowcount == 1

    def void_email_changes(self, account_id: str, now: datetime) -> int:
        return self.connection.execute(update(email_changes).where(and_(
            email_changes.c.account_id == account_id, email_changes.c.confirmed_at.is_(None),
            email_changes.c.voided_at.is_(None))).values(voided_at=now)).rowcount

    # --- events for other services -----------------------------------------------------------

    def add_outbound_event(self, event: OutboundEvent) -> None:
        add_event(self.connection, event_outbox, event)

    # --- audit events ------------------------------------------------------------------------

    def add_event(self, account_id: str, kind: str, now: datetime, *, client_address: str | None = None,
                  actor_account_id: str | None = None, detail: str | None = None) -> None:
        self.connection.execute(insert(account_events).values(
            event_id=str(uuid.uuid4()), account_id=account_id, kind=kind, occurred_at=now,
            client_address=client_address or None, actor_account_id=actor_account_id or None,
            detail=(detail or None) and detail[:500]))

    def events(self, account_id: str, *, before_seq: int | None, limit: int) -> list[tuple[int, AccountEvent]]:
        """Newest first; `before_seq` continues a page."""
        query = select(account_events).where(account_events.c.account_id == account_id)
        if before_seq is not None:
            query = query.where(account_events.c.seq < before_seq)
        rows = self.connection.execute(query.order_by(account_events.c.seq.desc()).limit(limit)).all()
        return [(row.seq, AccountEvent(event_id=row.event_id, account_id=row.account_id, kind=row.kind,
                                       occurred_at=utc(row.occurred_at), client_address=row.client_address))
                for row in rows]

    # --- login limits ------------------------------------------------------------------------

    def add_login_failure(self, username_lower: str, client_address: str | None, now: datetime) -> None:
        self.connection.execute(insert(login_failures).values(
            username_lower=username_lower, client_address=client_address or None, occurred_at=now))

    def counted_failures(self, username_lower: str, since: datetime, limit: int) -> list[LoginFailure]:
        """The newest failures of the username after `since`, at most `limit` of them."""
        rows = self.connection.execute(select(login_failures.c.occurred_at, login_failures.c.client_address)
                                       .where(and_(login_failures.c.username_lower == username_lower,
                                                   login_failures.c.occurred_at > since))
                                       .order_by(login_failures.c.occurred_at.desc()).limit(limit)).all()
        return [LoginFailure(utc(row.occurred_at), row.client_address) for row in rows]

    def forget_old_logins(self, before: datetime) -> None:
        """Failures, sessions and e-mail changes that can no longer matter."""
        self.connection.execute(delete(login_failures).where(login_failures.c.occurred_at < before))
        self.connection.execute(delete(refresh_tokens).where(or_(
            refresh_tokens.c.expires_at < before, refresh_tokens.c.revoked_at < before)))
        self.connection.execute(delete(sessions).where(or_(
            sessions.c.expires_at < before, sessions.c.ended_at < before)))
        self.connection.execute(delete(email_changes).where(email_changes.c.expires_at < before))


class UnitOfWork:
    """One transaction: `with uow:` begins it, `uow.commit()` ends it well, leaving the block rolls back."""

    def __init__(self, engine: Engine):
        self._engine = engine
        self._connection: Connection | None = None
        self.repo: Repository

    def __enter__(self) -> UnitOfWork:
        self._connection = self._engine.connect()
        self._transaction = self._connection.begin()
        self.repo = Repository(self._connection)
        return self

    def commit(self) -> None:
        self._transaction.commit()

    def __exit__(self, *exc) -> None:
        if self._transaction.is_active:
            self._transaction.rollback()
        self._connection.close()
