"""Persistence of the organisation service (SQLAlchemy 2 Core). Its tables are its own.

`SqlUnitOfWork` is one database transaction: the change, its status transition, its events
and its mail commit together or not at all. Instants are stored in UTC (svckit's UtcDateTime,
naive UTC on SQLite) and always read back timezone-aware.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import (CheckConstraint, Column, ForeignKey, Index, Integer, MetaData, String,
                        Table, Text, and_, delete, func, insert, or_, select, text, update)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from organisation import outbox
from organisation.domain import (Address, ConcurrentChange, Contact, ContactRole, DomainEvent, Language,
                                 Membership, Organisation, OrganisationDetails, OrganisationStatus,
                                 Transition, search_key)
from svckit.claims import Claim
from svckit.event_outbox import Position, add_event, event_outbox_table
from svckit.mail_outbox import OutgoingMail, enqueue_mail, mail_outbox_table
from svckit.types import UtcDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

STATUSES = tuple(status.value for status in OrganisationStatus)
ROLES = tuple(role.value for role in ContactRole)
LANGUAGES = tuple(language.value for language in Language)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


organisations = Table(
    "organisations", metadata,
    Column("organisation_id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("name_key", String(200), nullable=False),
    Column("chamber_of_commerce_number", String(8), nullable=False, unique=True),
    Column("street", String(200), nullable=False),
    Column("postcode", String(7), nullable=False),
    Column("city", String(100), nullable=False),
    Column("city_key", String(100), nullable=False, index=True),
    Column("phone", String(32), nullable=False),
    Column("email", String(254), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    CheckConstraint(_one_of("status", STATUSES), name="status"),
    Index(None, "name_key", "organisation_id"),
)

# follow_up: what identity still has to hear about this contact ('link': mail the password-setup
# link; 'disable': disable the removed contact's account). claimed_until leases it to one worker,
# and doubles as the time of the next attempt after a failure.
contacts = Table(
    "contacts", metadata,
    Column("contact_id", String(36), primary_key=True),
    Column("organisation_id", String(36), ForeignKey("organisations.organisation_id"), nullable=False),
    Column("account_id", String(64), nullable=False, index=True),
    Column("role", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("email", String(254), nullable=False),
    Column("phone", String(32), nullable=False),
    Column("department_name", String(100), nullable=False),
    Column("language", String(2), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("removed_at", UtcDateTime(), nullable=True),
    Column("removed_by", String(64), nullable=True),
    Column("link_issued_at", UtcDateTime(), nullable=True),
    Column("account_disabled_at", UtcDateTime(), nullable=True),
    Column("follow_up", String(10), nullable=True, index=True),
    Column("follow_up_attempts", Integer, nullable=False),
    Column("claimed_until", UtcDateTime(), nullable=True),
    # When identity last announced the holder's confirmed login e-mail (an older one arriving late is ignored).
    Column("login_email_at", UtcDateTime(), nullable=True),
    CheckConstraint(_one_of("role", ROLES), name="role"),
    CheckConstraint(_one_of("language", LANGUAGES), name="language"),
    CheckConstraint("follow_up IS NULL OR follow_up IN ('link', 'profile', 'email', 'disable')", name="follow_up"),
    Index(None, "organisation_id", "created_at", "contact_id"),
)

# At most one (active) second contact and one administrator per organisation: the last line of
# defence behind the use cases' own check under the organisation's row lock.
_ONE_SECOND_CONTACT = text("role = 'second_contact' AND removed_at IS NULL")
_ONE_ADMINISTRATOR = text("role = 'administrator'")
Index("uq_contacts_one_second_contact", contacts.c.organisation_id, unique=True,
      sqlite_where=_ONE_SECOND_CONTACT, postgresql_where=_ONE_SECOND_CONTACT)
Index("uq_contacts_one_administrator", contacts.c.organisation_id, unique=True,
      sqlite_where=_ONE_ADMINISTRATOR, postgresql_where=_ONE_ADMINISTRATOR)

transitions = Table(
    "organisation_transitions", metadata,
    Column("position", Position, primary_key=True, autoincrement=True),
    Column("organisation_id", String(36), ForeignKey("organisations.organisation_id"), nullable=False,
           index=True),
    Column("from_status", String(16), nullable=True),
    Column("to_status", String(16), nullable=False),
    Column("actor_account_id", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
)

# One row per idempotency key: the registration or contact it created, or the step it is at.
requests = Table(
    "idempotent_requests", metadata,
    Column("scope", String(80), primary_key=True),
    Column("request_key", String(200), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("identity_key", String(36), nullable=False),
    Column("state", String(10), nullable=False),
    Column("claimed_until", UtcDateTime(), nullable=True),
    Column("organisation_id", String(36), nullable=True),
    Column("contact_id", String(36), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    CheckConstraint("state IN ('started', 'completed')", name="state"),
)

mail_outbox = mail_outbox_table(metadata)
event_outbox = event_outbox_table(metadata)

_CLAIM_FOLLOW_UPS = Claim(contacts, due=contacts.c.follow_up.is_not(None), order_by=contacts.c.created_at)


def utc(moment: datetime | None) -> datetime | None:
    """Stored instants as aware UTC, whatever the database hands back."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


# --------------------------------------------------------------------------- rows <-> entities


def _organisation(row) -> Organisation:
    return Organisation(
        organisation_id=row.organisation_id,
        details=OrganisationDetails(
            name=row.name, chamber_of_commerce_number=row.chamber_of_commerce_number,
            visiting_address=Address(row.street, row.postcode, row.city), phone=row.phone, email=row.email),
        status=OrganisationStatus(row.status), created_at=utc(row.created_at), updated_at=utc(row.updated_at))


def _organisation_values(organisation: Organisation) -> dict:
    details = organisation.details
    return dict(
        name=details.name, name_key=search_key(details.name),
        chamber_of_commerce_number=details.chamber_of_commerce_number,
        street=details.visiting_address.street, postcode=details.visiting_address.postcode,
        city=details.visiting_address.city, city_key=search_key(details.visiting_address.city),
        phone=details.phone, email=details.email, status=organisation.status.value,
        created_at=organisation.created_at, updated_at=organisation.updated_at)


def _contact(row) -> Contact:
    return Contact(
        contact_id=row.contact_id, organisation_id=row.organisation_id, account_id=row.account_id,
        role=ContactRole(row.role), name=row.name, email=row.email, phone=row.phone,
        department_name=row.department_name, language=Language(row.language),
        created_at=utc(row.created_at), updated_at=utc(row.updated_at), removed_at=utc(row.removed_at))


def _contact_values(contact: Contact) -> dict:
    return dict(
        organisation_id=contact.organisation_id, account_id=contact.account_id, role=contact.role.value,
        name=contact.name, email=contact.email, phone=contact.phone, department_name=contact.department_name,
        language=contact.language.value, created_at=contact.created_at, updated_at=contact.updated_at,
        removed_at=contact.removed_at)


# --------------------------------------------------------------------------- repositories


class OrganisationRepository:
    def __init__(self, connection: Connection):
        self._c = connection

    def add(self, organisation: Organisation) -> None:
        self._c.execute(insert(organisations).values(organisation_id=organisation.organisation_id,
                                                     **_organisation_values(organisation)))

    def get(self, organisation_id: str) -> Organisation | None:
        row = self._c.execute(select(organisations).where(
            organisations.c.organisation_id == organisation_id)).first()
        return _organisation(row) if row else None

    def lock(self, organisation_id: str) -> Organisation | None:
        """The organisation, locked against concurrent changes until the transaction ends.

        A no-op UPDATE takes the row lock on PostgreSQL and the write lock on SQLite (where the
        transaction only begins with the first write), so what is read next is current.
        """
        locked = self._c.execute(update(organisations).where(organisations.c.organisation_id == organisation_id)
                                 .values(organisation_id=organisations.c.organisation_id)).rowcount
        return self.get(organisation_id) if locked else None

    def save(self, organisation: Organisation) -> None:
        self._c.execute(update(organisations).where(organisations.c.organisation_id == organisation.organisation_id)
                        .values(**_organisation_values(organisation)))

    def kvk_number_in_use(self, number: str) -> bool:
        return self._c.execute(select(organisations.c.organisation_id).where(
            organisations.c.chamber_of_commerce_number == number)).first() is not None

    def page(self, *, status: OrganisationStatus | None, name_query: str, city: str,
             after: tuple[str, str] | None, limit: int) -> list[Organisation]:
        """Organisations by name (case-folded), then id, after the given (name_key, id)."""
        query = select(organisations)
        if status is not None:
            query = query.where(organisations.c.status == status.value)
        if name_query:
            query = query.where(organisations.c.name_key.contains(search_key(name_query), autoescape=True))
        if city:
            query = query.where(organisations.c.city_key == search_key(city))
        if after is not None:
            name_key, organisation_id = after
            query = query.where(or_(organisations.c.name_key > name_key,
                                    and_(organisations.c.name_key == name_key,
                                         organisations.c.organisation_id > organisation_id)))
        query = query.order_by(organisations.c.name_key, organisations.c.organisation_id).limit(limit)
        return [_organisation(row) for row in self._c.execute(query)]


@dataclass(frozen=True)
class FollowUp:
    contact_id: str
    kind: str  # 'link' or 'disable'
    attempts: int


@dataclass(frozen=True)
class FollowUpContext:
    account_id: str
    role: ContactRole
    organisation_name: str
    removed_by: str | None
    follow_up: str | None
    email: str
    name: str
    updated_at: datetime


class ContactRepository:
    def __init__(self, connection: Connection):
        self._c = connection

    def add(self, contact: Contact, *, claimed_until: datetime) -> None:
        """A new contact, whose password-setup link is still to be sent (by the caller first)."""
        self._c.execute(insert(contacts).values(
            contact_id=contact.contact_id, **_contact_values(contact), follow_up="link", follow_up_attempts=0,
            claimed_until=claimed_until))

    def get(self, contact_id: str, *, include_removed: bool = False) -> Contact | None:
        query = select(contacts).where(contacts.c.contact_id == contact_id)
        if not include_removed:
            query = query.where(contacts.c.removed_at.is_(None))
        row = self._c.execute(query).first()
        return _contact(row) if row else None

    def save(self, contact: Contact) -> None:
        self._c.execute(update(contacts).where(contacts.c.contact_id == contact.contact_id)
                        .values(**_contact_values(contact)))

    def mark_removed(self, contact: Contact, *, actor_account_id: str, now: datetime,
                     claimed_until: datetime) -> bool:
        """Removed, kept for history; its account is to be disabled next (by the caller first)."""
        return self._c.execute(update(contacts).where(and_(contacts.c.contact_id == contact.contact_id,
                                                           contacts.c.removed_at.is_(None)))
                               .values(removed_at=now, removed_by=actor_account_id or None, updated_at=now,
                                       follow_up="disable", follow_up_attempts=0,
                                       claimed_until=claimed_until)).rowcount == 1

    def count_active(self, organisation_id: str, role: ContactRole, *, excluding: str | None = None) -> int:
        query = select(func.count()).select_from(contacts).where(and_(
            contacts.c.organisation_id == organisation_id, contacts.c.role == role.value,
            contacts.c.removed_at.is_(None)))
        if excluding is not None:
            query = query.where(contacts.c.contact_id != excluding)
        return self._c.execute(query).scalar_one()

    def active_with_roles(self, organisation_id: str, roles: tuple[ContactRole, ...]) -> list[Contact]:
        query = select(contacts).where(and_(
            contacts.c.organisation_id == organisation_id, contacts.c.removed_at.is_(None),
            contacts.c.role.in_([role.value for role in roles]))).order_by(contacts.c.created_at)
        return [_contact(row) for row in self._c.execute(query)]

    def page(self, organisation_id: str, *, after: tuple[datetime, str] | None, limit: int) -> list[Contact]:
        """Active contacts in the order they were added (the administrator first)."""
        query = select(contacts).where(and_(contacts.c.organisation_id == organisation_id,
                                            contacts.c.removed_at.is_(None)))
        if after is not None:
            created_at, contact_id = after
            query = query.where(or_(contacts.c.created_at > created_at,
                                    and_(contacts.c.created_at == created_at, contacts.c.contact_id > contact_id)))
        query = query.order_by(contacts.c.created_at, contacts.c.contact_id).limit(limit)
        return [_contact(row) for row in self._c.execute(query)]

    def adopt_login_email(self, account_id: str, email: str, *, changed_at: datetime, now: datetime) -> int:
        """The holder's confirmed login e-mail becomes the contacts' address, unless a newer one did."""
        newer = or_(contacts.c.login_email_at.is_(None), contacts.c.login_email_at < changed_at)
        return self._c.execute(update(contacts).where(and_(contacts.c.account_id == account_id, newer))
                               .values(email=email, login_email_at=changed_at, updated_at=now)).rowcount

    def memberships(self, account_id: str) -> list[Membership]:
        query = (select(contacts.c.organisation_id, contacts.c.contact_id, contacts.c.role, organisations.c.status)
                 .join(organisations, organisations.c.organisation_id == contacts.c.organisation_id)
                 .where(and_(contacts.c.account_id == account_id, contacts.c.removed_at.is_(None)))
                 .order_by(contacts.c.created_at, contacts.c.contact_id))
        return [Membership(row.organisation_id, row.contact_id, ContactRole(row.role), OrganisationStatus(row.status))
                for row in self._c.execute(query)]

    # ---- follow-ups towards identity

    def claim_follow_up(self, contact_id: str, kind: str, *, now: datetime, lease: timedelta) -> bool:
        free = or_(contacts.c.claimed_until.is_(None), contacts.c.claimed_until < now)
        return self._c.execute(update(contacts).where(and_(
            contacts.c.contact_id == contact_id, contacts.c.follow_up == kind, free))
            .values(claimed_until=now + lease)).rowcount == 1

    def claim_due_follow_ups(self, *, now: datetime, lease: timedelta, limit: int) -> list[FollowUp]:
        rows = _CLAIM_FOLLOW_UPS(self._c, now=now, lease=lease, limit=limit)
        return [FollowUp(row.contact_id, row.follow_up, row.follow_up_attempts) for row in rows]

    def follow_up_context(self, contact_id: str) -> FollowUpContext | None:
        row = self._c.execute(
            select(contacts.c.account_id, contacts.c.role, contacts.c.removed_by, contacts.c.follow_up,
                   organisations.c.name.label("organisation_name"), contacts.c.email, contacts.c.name,
                   contacts.c.updated_at)
            .join(organisations, organisations.c.organisation_id == contacts.c.organisation_id)
            .where(contacts.c.contact_id == contact_id)).first()
        if row is None:
            return None
        return FollowUpContext(row.account_id, ContactRole(row.role), row.organisation_name, row.removed_by,
                               row.follow_up, row.email, row.name, utc(row.updated_at))

    def request_profile_sync(self, contact_id: str, *, email_changed: bool) -> str:
        """Identity is to hear the contact's new name or address; answer the follow-up now due.

        'email' also sends a link while the password is not set, so it takes over a pending link.
        """
        current = self._c.execute(select(contacts.c.follow_up).where(contacts.c.contact_id == contact_id)).scalar()
        kind = "email" if email_changed or current in ("link", "email") else "profile"
        self._c.execute(update(contacts).where(contacts.c.contact_id == contact_id)
                        .values(follow_up=kind, follow_up_attempts=0))
        return kind

    def finish_follow_up(self, contact_id: str, kind: str, *, now: datetime, seen: datetime,
                         link_sent: bool = False) -> bool:
        """Done, unless the contact changed after `seen` (then it is released, to run again)."""
        done = {"account_disabled_at": now} if kind == "disable" else {}
        if link_sent:
            done["link_issued_at"] = now
        mine = and_(contacts.c.contact_id == contact_id, contacts.c.follow_up == kind)
        if self._c.execute(update(contacts).where(and_(mine, contacts.c.updated_at == seen))
                           .values(follow_up=None, claimed_until=None, **done)).rowcount == 1:
            return True
        self._c.execute(update(contacts).where(mine).values(claimed_until=None))
        return False

    def retry_follow_up(self, contact_id: str, kind: str, *, at: datetime | None) -> None:
        """Failed: try again from `at` (None: as soon as anyone asks)."""
        self._c.execute(update(contacts).where(and_(contacts.c.contact_id == contact_id,
                                                    contacts.c.follow_up == kind))
                        .values(claimed_until=at, follow_up_attempts=contacts.c.follow_up_attempts + 1))


class TransitionRepository:
    def __init__(self, connection: Connection):
        self._c = connection

    def add(self, transition: Transition) -> None:
        self._c.execute(insert(transitions).values(
            organisation_id=transition.organisation_id,
            from_status=transition.from_status.value if transition.from_status else None,
            to_status=transition.to_status.value, actor_account_id=transition.actor_account_id,
            reason=transition.reason, occurred_at=transition.occurred_at))

    def of(self, organisation_id: str) -> list[Transition]:
        query = select(transitions).where(transitions.c.organisation_id == organisation_id).order_by(
            transitions.c.position)
        return [Transition(row.organisation_id, OrganisationStatus(row.from_status) if row.from_status else None,
                           OrganisationStatus(row.to_status), row.actor_account_id, row.reason,
                           utc(row.occurred_at))
                for row in self._c.execute(query)]


@dataclass(frozen=True)
class IdempotentRequest:
    scope: str
    key: str
    fingerprint: str
    identity_key: str
    completed: bool
    organisation_id: str | None
    contact_id: str | None


class RequestRepository:
    """Idempotency keys: the step a registration or added contact is at, and what it made."""

    def __init__(self, connection: Connection):
        self._c = connection

    def _key(self, scope: str, key: str):
        return and_(requests.c.scope == scope, requests.c.request_key == key)

    def get(self, scope: str, key: str) -> IdempotentRequest | None:
        row = self._c.execute(select(requests).where(self._key(scope, key))).first()
        if row is None:
            return None
        return IdempotentRequest(row.scope, row.request_key, row.fingerprint, row.identity_key,
                                 row.state == "completed", row.organisation_id, row.contact_id)

    def start(self, scope: str, key: str, *, fingerprint: str, identity_key: str, now: datetime,
              claimed_until: datetime) -> None:
        self._c.execute(insert(requests).values(
            scope=scope, request_key=key, fingerprint=fingerprint, identity_key=identity_key, state="started",
            claimed_until=claimed_until, created_at=now, updated_at=now))

    def claim(self, scope: str, key: str, *, now: datetime, claimed_until: datetime) -> bool:
        free = or_(requests.c.claimed_until.is_(None), requests.c.claimed_until < now)
        return self._c.execute(update(requests).where(and_(self._key(scope, key), requests.c.state == "started",
                                                           free))
                               .values(claimed_until=claimed_until, updated_at=now)).rowcount == 1

    def complete(self, scope: str, key: str, *, identity_key: str, organisation_id: str, contact_id: str,
                 now: datetime) -> None:
        done = self._c.execute(update(requests).where(and_(
            self._key(scope, key), requests.c.state == "started", requests.c.identity_key == identity_key))
            .values(state="completed", claimed_until=None, organisation_id=organisation_id,
                    contact_id=contact_id, updated_at=now)).rowcount
        if done != 1:
            raise ConcurrentChange("the request was completed or abandoned by another attempt")

    def release(self, scope: str, key: str, identity_key: str) -> None:
        self._c.execute(update(requests).where(and_(self._key(scope, key), requests.c.state == "started",
                                                    requests.c.identity_key == identity_key))
                        .values(claimed_until=None))

    def drop(self, scope: str, key: str, identity_key: str) -> None:
        self._c.execute(delete(requests).where(and_(self._key(scope, key), requests.c.state == "started",
                                                    requests.c.identity_key == identity_key)))


class Outbox:
    """Events and mail, written in the transaction of the change that causes them."""

    def __init__(self, connection: Connection):
        self._c = connection
        self.events_added = 0

    def add_event(self, event: DomainEvent) -> None:
        add_event(self._c, event_outbox, outbox.outbound(event))
        self.events_added += 1

    def add_mail(self, mail: OutgoingMail, now: datetime) -> None:
        enqueue_mail(self._c, mail_outbox, mail, now)


class SqlUnitOfWork:
    """One transaction: commits when the block ends normally, rolls back when it raises.

    A unique rule broken by a concurrent change surfaces as domain.ConcurrentChange, so use
    cases can tell it apart without knowing the database.
    """

    def __init__(self, engine: Engine):
        self._engine = engine
        self._transaction = None

    def __enter__(self) -> SqlUnitOfWork:
        self._transaction = self._engine.begin()
        connection = self._transaction.__enter__()
        self.organisations = OrganisationRepository(connection)
        self.contacts = ContactRepository(connection)
        self.transitions = TransitionRepository(connection)
        self.requests = RequestRepository(connection)
        self.outbox = Outbox(connection)
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        transaction, self._transaction = self._transaction, None
        try:
            transaction.__exit__(kind, error, traceback)
        except IntegrityError as conflict:  # broken on commit
            raise ConcurrentChange(_first_line(conflict)) from conflict
        if isinstance(error, IntegrityError):  # broken by a statement, now rolled back
            raise ConcurrentChange(_first_line(error)) from error
        return False


def _first_line(error: IntegrityError) -> str:
    return (str(error.orig).strip().splitlines() or ["unique rule broken"])[0]
