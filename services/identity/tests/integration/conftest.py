"""The identity service for real: its database (SQLite or PostgreSQL), its servicer on a gRPC server
in this process, and an SMTP server that keeps what it receives. Time is a ManualClock."""
from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage

import grpc
import pytest
from aiosmtpd.controller import Controller
from prometheus_client import CollectorRegistry

from identity import config, handlers
from identity.keys import KeyEncryptionKey
from identity.__main__ import MIGRATIONS, SERVICE_NAME, Service, build
from pe.common.v1 import common_pb2
from pe.identity.v1 import identity_pb2, identity_pb2_grpc
from svckit.clock import ManualClock
from svckit.config import DEFAULT_AMQP_URL
from svckit.process import open_database
from svckit.server import GrpcHost, Registration

pytestmark = pytest.mark.integration

TOKEN = re.compile(r"/set-password\?token=([A-Za-z0-9_-]+)")
PASSWORD = "paarse olifant danst op zolder"


class Inbox:
    """An SMTP handler that keeps every mail it accepts."""

    def __init__(self):
        self.mails: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, _server, _session, envelope):
        with self._lock:
            self.mails.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [mail for mail in self.mails if mail["To"] == address]


class SmtpServer:
    def __init__(self, port: int):
        self.port, self.inbox, self._controller = port, Inbox(), None

    def start(self) -> None:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller:
            self._controller.stop()
            self._controller = None


@dataclass
class Harness:
    service: Service
    stub: identity_pb2_grpc.IdentityServiceStub
    clock: ManualClock
    smtp: SmtpServer
    engine: object

    def deliver(self) -> None:
        """What the background workers do: answer link requests, send queued mail."""
        handlers.process_link_requests(self.service.deps)
        self.service.mail_relay.deliver_due()

    def mails_to(self, address: str) -> list[EmailMessage]:
        return self.smtp.inbox.to(address)

    def last_token(self, address: str) -> str:
        mail = self.mails_to(address)[-1]
        return TOKEN.search(mail.get_body(preferencelist=("plain",)).get_content()).group(1)

    def create(self, username="j.jansen", email="jan@example.org", *, kind=identity_pb2.ACCOUNT_KIND_EMPLOYER_CONTACT,
               language=common_pb2.LANGUAGE_NL, purpose=identity_pb2.LINK_PURPOSE_REGISTRATION, number="",
               context=None, key="") -> identity_pb2.Account:
        new = identity_pb2.NewAccount(username=username, email=email, display_name="Jan Jansen", kind=kind,
                                      language=language, pe_registration_number=number, link_purpose=purpose,
                                      mail_context=context or {"organisation_name": "Acme"})
        return self.stub.CreateAccount(identity_pb2.CreateAccountRequest(account=new, idempotency_key=key),
                                       timeout=10).account

    def active(self, username="j.jansen", email="jan@example.org", password=PASSWORD, **kwargs) -> identity_pb2.Account:
        """An account whose password is set, through its setup mail."""
        self.create(username, email, **kwargs)
        self.deliver()
        return self.stub.CompletePasswordSetup(identity_pb2.CompletePasswordSetupRequest(
            token=self.last_token(email), password=password), timeout=10).account

    def login(self, username="j.jansen", password=PASSWORD, address="192.0.2.10") -> identity_pb2.Session:
        return self.stub.Authenticate(identity_pb2.AuthenticateRequest(
            username=username, password=password, client_address=address), timeout=10).session


@pytest.fixture
def settings(port_factory) -> config.Settings:
    # The broker is only reached by tests that publish (they ask for the amqp_url fixture).
    return config.load({"SMTP_PORT": str(port_factory()), "PUBLIC_URL": "https://pe.example.org",
                        "SIGNING_KEY_ENCRYPTION_KEY": KeyEncryptionKey.new_text(),
                        "AMQP_URL": os.environ.get("AMQP_URL", DEFAULT_AMQP_URL)})


@pytest.fixture
def clock() -> ManualClock:
    # Real time, held still: access tokens must verify against today's date.
    return ManualClock(datetime.now(timezone.utc).replace(microsecond=0))


@pytest.fixture
def engine(databases):
    engine = open_database(databases.new("identity"), MIGRATIONS)
    yield engine
    engine.dispose()


@pytest.fixture
def smtp(settings):
    server = SmtpServer(settings.smtp_port)
    server.start()
    yield server
    server.stop()


def serve_in_process(service: Service) -> tuple[GrpcHost, grpc.Channel]:
    host = GrpcHost(port=0, bind_host="127.0.0.1", registry=CollectorRegistry(), credentials=None, registrations=[
        Registration(SERVICE_NAME, identity_pb2_grpc.add_IdentityServiceServicer_to_server, service.servicer)])
    host.start()
    host.mark_ready()
    return host, grpc.insecure_channel(f"127.0.0.1:{host.port}")


@pytest.fixture
def harness(settings, engine, clock, smtp, fast_hasher):
    service = build(settings, engine, clock=clock, hasher=fast_hasher)
    host, channel = serve_in_process(service)
    yield Harness(service=service, stub=identity_pb2_grpc.IdentityServiceStub(channel), clock=clock,
                  smtp=smtp, engine=engine)
    channel.close()
    host.drain(0)
