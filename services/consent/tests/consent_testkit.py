"""Fakes and factories for the consent service's tests.

The directory fakes answer like the organisation and identity services do through their protos;
the same data backs both the in-memory fakes (unit tests) and the fake gRPC servicers that run on
in-process servers (integration tests).
"""
from __future__ import annotations

import uuid
from concurrent import futures
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy

import grpc
from sqlalchemy import insert, text
from sqlalchemy.engine import Engine

from pe.common.v1 import common_pb2
from pe.identity.v1 import identity_pb2, identity_pb2_grpc
from pe.organisation.v1 import organisation_pb2, organisation_pb2_grpc
from svckit.clock import ManualClock
from svckit.db import make_engine

from consent.clients import Account, Contact, Organisation
from consent.handlers import Dependencies
from consent.mails import Mails
from consent.repository import ConsentStore, consents, metadata

START = datetime(2027, 1, 4, 9, 0, tzinfo=timezone.utc)   # a Monday, 10:00 in Amsterdam
PUBLIC_URL = "https://pe-insight.test"


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Directory:
    """What the organisation and identity services know, as far as this service asks."""
    organisations: dict[str, Organisation] = field(default_factory=dict)
    contacts: dict[str, Contact] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def add_organisation(self, name: str = "Uitzendbureau De Brug", authorised: bool = True) -> str:
        organisation_id = new_id()
        self.organisations[organisation_id] = Organisation(organisation_id, name, authorised)
        return organisation_id

    def add_contact(self, organisation_id: str, name: str | None = None) -> str:
        contact_id = new_id()
        self.contacts[contact_id] = Contact(contact_id, organisation_id, name or f"Contact {len(self.contacts) + 1}")
        return contact_id

    def add_account(self, name: str = "Jan Jansen", language: str = "nl", email: str | None = None) -> str:
        account_id = new_id()
        self.accounts[account_id] = Account(account_id, email or f"{account_id[:8]}@example.org", name, language)
        return account_id

    def remove_contact(self, contact_id: str) -> None:
        self.contacts.pop(contact_id, None)

    def set_authorised(self, organisation_id: str, authorised: bool) -> None:
        organisation = self.organisations[organisation_id]
        self.organisations[organisation_id] = Organisation(organisation.organisation_id, organisation.name, authorised)


class FakeOrganisations:
    def __init__(self, directory: Directory):
        self._directory = directory

    def get_organisation(self, organisation_id):
        self._directory.calls.append("GetOrganisation")
        return self._directory.organisations.get(organisation_id)

    def get_contacts(self, contact_ids):
        self._directory.calls.extend("GetContact" for _ in contact_ids)
        return {contact_id: self._directory.contacts.get(contact_id) for contact_id in contact_ids}


class FakeAccounts:
    def __init__(self, directory: Directory):
        self._directory = directory

    def get_account(self, account_id):
        self._directory.calls.append("GetAccount")
        return self._directory.accounts.get(account_id)


def migrated_engine(url: str) -> Engine:
    """A database with the schema of the migrations (unit tests may use metadata.create_all)."""
    from svckit.process import open_database
    from consent.__main__ import MIGRATIONS
    return open_database(url, MIGRATIONS)


def memory_engine() -> Engine:
    engine = make_engine("sqlite:///:memory:")
    metadata.create_all(engine)
    return engine


def make_deps(engine: Engine, directory: Directory, clock: ManualClock | None = None, *,
              reminder_days: int = 14) -> Dependencies:
    return Dependencies(store=ConsentStore(engine), clock=clock or ManualClock(START),
                        organisations=FakeOrganisations(directory), accounts=FakeAccounts(directory),
                        mails=Mails(PUBLIC_URL), reminder_days=reminder_days)


# --- fake gRPC servers of the other services ------------------------------------------------------

class FakeOrganisationServicer(organisation_pb2_grpc.OrganisationServiceServicer):
    def __init__(self, directory: Directory):
        self._directory = directory
        self.metadata: list[dict] = []

    def GetOrganisation(self, request, context):
        self.metadata.append(dict(context.invocation_metadata()))
        organisation = self._directory.organisations.get(request.organisation_id)
        if organisation is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "no such organisation")
        status = (organisation_pb2.ORGANISATION_STATUS_AUTHORISED if organisation.authorised
                  else organisation_pb2.ORGANISATION_STATUS_SUSPENDED)
        return organisation_pb2.GetOrganisationResponse(organisation=organisation_pb2.Organisation(
            organisation_id=organisation.organisation_id, name=organisation.name, status=status))

    def GetContact(self, request, context):
        self.metadata.append(dict(context.invocation_metadata()))
        contact = self._directory.contacts.get(request.contact_id)
        if contact is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "no such contact")
        return organisation_pb2.GetContactResponse(contact=organisation_pb2.Contact(
            contact_id=contact.contact_id, organisation_id=contact.organisation_id, name=contact.name,
            role=organisation_pb2.CONTACT_ROLE_CONTACT))


class FakeIdentityServicer(identity_pb2_grpc.IdentityServiceServicer):
    def __init__(self, directory: Directory):
        self._directory = directory
        self.metadata: list[dict] = []

    def GetAccount(self, request, context):
        self.metadata.append(dict(context.invocation_metadata()))
        account = self._directory.accounts.get(request.account_id)
        if account is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "no such account")
        language = common_pb2.LANGUAGE_EN if account.language == "en" else common_pb2.LANGUAGE_NL
        return identity_pb2.GetAccountResponse(account=identity_pb2.Account(
            account_id=account.account_id, email=account.email, display_name=account.display_name,
            kind=identity_pb2.ACCOUNT_KIND_PROFESSIONAL, language=language))


def start_server(add_to_server, servicer, port: int) -> grpc.Server:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    add_to_server(servicer, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    return server


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, _server, _session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def received_messages(channel, queue) -> list:
    """Everything waiting in a queue, as (method, properties, body), taken off it."""
    found = []
    while True:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            return found
        found.append((method, properties, body))


def store_many_consents(engine: Engine, count: int) -> list[dict]:
    """`count` consents written straight into the table (every other one revoked), with the
    database's statistics brought up to date, as a table in use would have them; answers the rows."""
    rows = []
    for i in range(count):
        active = i % 2 == 0
        rows.append({
            "consent_id": new_id(), "professional_id": new_id(), "pe_registration_number": f"PE-{i:07d}",
            "organisation_id": new_id(), "contact_id": new_id(), "valid_from": START - timedelta(days=1 + i % 300),
            "end_date": None, "valid_until": None, "state": "active" if active else "revoked",
            "end_time": None if active else START - timedelta(hours=1), "end_reason": None if active else "revoked",
            "sequence": 1 if active else 2, "recipient_email": f"professional.{i}@example.org",
            "recipient_name": f"Professional {i}", "language": "nl", "contact_name": f"Contact {i}",
            "organisation_name": f"Organisation {i} B.V.", "reminder_sent_at": None})
    with engine.begin() as connection:
        connection.execute(insert(consents), rows)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE consents"))
    else:
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    return rows


def access_check_plan_reads_only_its_index(plan: list[str], dialect: str) -> bool:
    """Whether the access check's plan reads ix_consents_access alone, never the table."""
    wanted = ("USING COVERING INDEX ix_consents_access" if dialect == "sqlite"
              else "Index Only Scan using ix_consents_access")
    return any(wanted in line for line in plan)
