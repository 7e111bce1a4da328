"""Integration fixtures: a real database, the real service on an in-process gRPC server (port 0),
and a fake identity service on another, reached through the real client."""
from __future__ import annotations

import os
import threading
import uuid
from concurrent import futures
from dataclasses import dataclass, field

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from prometheus_client import CollectorRegistry

from organisation import config
from organisation.__main__ import bootstrap
from pe.identity.v1 import identity_pb2, identity_pb2_grpc
from pe.organisation.v1 import organisation_pb2_grpc
from svckit.config import DEFAULT_AMQP_URL
from svckit.process import Worker
from svckit.server import GrpcHost


class FakeIdentity(identity_pb2_grpc.IdentityServiceServicer):
    """identity's gRPC API as far as organisation uses it; records what it was asked and with what metadata."""

    def __init__(self):
        self.lock = threading.Lock()
        self.accounts: dict[str, identity_pb2.Account] = {}
        self.keys: dict[str, str] = {}
        self.deleted: set[str] = set()
        self.disabled: set[str] = set()
        self.links: list[identity_pb2.IssuePasswordSetupLinkRequest] = []
        self.calls: list[tuple[str, dict]] = []
        self.deadlines: list[float | None] = []
        self.refuse: dict[str, grpc.StatusCode] = {}

    def _enter(self, method, context):
        with self.lock:
            self.calls.append((method, dict(context.invocation_metadata())))
            self.deadlines.append(context.time_remaining())
            code = self.refuse.get(method)
        if code is not None:
            context.abort(code, f"{method} refused by the test")

    def CreateAccount(self, request, context):
        self._enter("CreateAccount", context)
        new = request.account
        with self.lock:
            if request.idempotency_key in self.keys:
                return identity_pb2.CreateAccountResponse(account=self.accounts[self.keys[request.idempotency_key]])
            taken = any(a.username.lower() == new.username.lower() for a in self.accounts.values())
            if not taken:
                account = identity_pb2.Account(account_id=str(uuid.uuid4()), username=new.username, email=new.email,
                                               display_name=new.display_name, kind=new.kind, language=new.language,
                                               status=identity_pb2.ACCOUNT_STATUS_AWAITING_PASSWORD)
                self.accounts[account.account_id] = account
                self.keys[request.idempotency_key] = account.account_id
                return identity_pb2.CreateAccountResponse(account=account)
        context.abort_with_status(_username_taken())

    def DeleteAccount(self, request, context):
        self._enter("DeleteAccount", context)
        with self.lock:
            account = self.accounts.pop(request.account_id, None)
            if account is None:
                context.abort(grpc.StatusCode.NOT_FOUND, "no such account")
            self.keys = {key: value for key, value in self.keys.items() if value != request.account_id}
            self.deleted.add(request.account_id)
        return identity_pb2.DeleteAccountResponse()

    def IssuePasswordSetupLink(self, request, context):
        self._enter("IssuePasswordSetupLink", context)
        with self.lock:
            self.links.append(request)
        return identity_pb2.IssuePasswordSetupLinkResponse()

    def UpdateAccount(self, request, context):
        self._enter("UpdateAccount", context)
        with self.lock:
            account = self.accounts.get(request.account_id)
            if account is None:
                context.abort(grpc.StatusCode.NOT_FOUND, "no such account")
            if account.status == identity_pb2.ACCOUNT_STATUS_ACTIVE and request.email != account.email:
                context.abort_with_status(_email_owned_by_holder())
            account.email, account.display_name = request.email, request.display_name
            return identity_pb2.UpdateAccountResponse(account=account)

    def GetAccount(self, request, context):
        self._enter("GetAccount", context)
        with self.lock:
            account = self.accounts.get(request.account_id)
        if account is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "no such account")
        return identity_pb2.GetAccountResponse(account=account)

    def DisableAccount(self, request, context):
        self._enter("DisableAccount", context)
        with self.lock:
            self.disabled.add(request.account_id)
        return identity_pb2.DisableAccountResponse(account=self.accounts.get(request.account_id))

    def methods(self) -> list[str]:
        return [method for method, _ in self.calls]


def _email_owned_by_holder() -> grpc.Status:
    """As identity refuses to move the e-mail of an account whose password is set."""
    proto = status_pb2.Status(code=code_pb2.FAILED_PRECONDITION, message="changed only by its holder")
    packed = any_pb2.Any()
    packed.Pack(error_details_pb2.ErrorInfo(reason="EMAIL_CHANGED_BY_HOLDER_ONLY", domain="pe-insight"))
    proto.details.append(packed)
    return rpc_status.to_status(proto)


def _username_taken() -> grpc.Status:
    """As identity answers a taken username: ALREADY_EXISTS with a violation on `username`."""
    proto = status_pb2.Status(code=code_pb2.ALREADY_EXISTS, message="this username is taken")
    packed = any_pb2.Any()
    packed.Pack(error_details_pb2.BadRequest(field_violations=[
        error_details_pb2.BadRequest.FieldViolation(field="username", description="is taken")]))
    proto.details.append(packed)
    return rpc_status.to_status(proto)


@pytest.fixture
def identity():
    fake = FakeIdentity()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    identity_pb2_grpc.add_IdentityServiceServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    fake.address = f"127.0.0.1:{port}"
    yield fake
    server.stop(0).wait()


@pytest.fixture
def engine(databases, migrated):
    return migrated(databases.new("organisation"))


@dataclass
class Service:
    stub: organisation_pb2_grpc.OrganisationServiceStub
    workers: dict[str, Worker]
    engine: object
    identity: FakeIdentity
    threads: list = field(default_factory=list)

    def start(self, *names: str) -> None:
        """Run these background workers (event-relay, mail-relay, identity-follow-ups) for the test."""
        for name in names:
            thread = threading.Thread(target=self.workers[name].run, name=name, daemon=True)
            thread.start()
            self.threads.append((self.workers[name], thread))

    def stop(self) -> None:
        for worker, thread in self.threads:
            worker.stop()
            thread.join(10)


@pytest.fixture
def service_env(identity, tmp_path, port_factory) -> dict[str, str]:
    """Settings of the service under test; tests add AMQP_URL, SMTP_PORT and so on."""
    return {"IDENTITY_ADDR": identity.address, "IDENTITY_TIMEOUT_SECONDS": "5", "VAR_DIR": str(tmp_path),
            "SMTP_PORT": str(port_factory()), "PUBLIC_URL": "https://pe-insight.example",
            "AMQP_URL": os.environ.get("AMQP_URL", DEFAULT_AMQP_URL)}


@pytest.fixture
def service(service_env, engine, identity):
    registry = CollectorRegistry()
    parts = bootstrap(config.load(service_env), engine, registry, tls=None, follow_up_poll_seconds=0.1,
                      mail_poll_seconds=0.1)
    host = GrpcHost(port=0, registrations=parts.registrations, registry=registry, credentials=None, max_workers=16,
                    bind_host="127.0.0.1")
    host.start()
    host.mark_ready()
    channel = grpc.insecure_channel(f"127.0.0.1:{host.port}")
    running = Service(organisation_pb2_grpc.OrganisationServiceStub(channel),
                      {worker.name: worker for worker in parts.workers}, engine, identity)
    yield running
    running.stop()
    channel.close()
    host.drain(0)
