"""The identity service as `python -m identity` serves it, over mutual TLS with its own allow-list:
only the peers that need a method reach it."""
import grpc
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import func, select

from identity.__main__ import bootstrap
from identity.repository import accounts
from pe.identity.v1 import identity_pb2, identity_pb2_grpc
from svckit import tls
from svckit.peer_auth import PEER_NOT_ALLOWED
from svckit.rpc_errors import error_reason, field_violations
from svckit.server import GrpcHost

pytestmark = pytest.mark.integration


@pytest.fixture
def identity(settings, engine, clock, smtp, certificates):
    parts = bootstrap(settings, engine, clock=clock, registry=CollectorRegistry())
    host = GrpcHost(port=0, registrations=parts.registrations, registry=CollectorRegistry(),
                    credentials=certificates.tls("identity").server_credentials())
    host.start()
    host.mark_ready()
    yield f"127.0.0.1:{host.port}"
    host.drain(0)


def _stub(address, peer_tls):
    return identity_pb2_grpc.IdentityServiceStub(tls.open_channel(address, peer_tls))


def _contact(username: str, kind=identity_pb2.ACCOUNT_KIND_EMPLOYER_CONTACT) -> identity_pb2.CreateAccountRequest:
    return identity_pb2.CreateAccountRequest(account=identity_pb2.NewAccount(
        username=username, email=f"{username}@example.org", display_name="Jan Jansen", kind=kind,
        link_purpose=identity_pb2.LINK_PURPOSE_REGISTRATION))


def _count(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(accounts)).scalar()


def test_organisation_creates_a_contact_and_reporting_reads_names(identity, certificates):
    created = _stub(identity, certificates.tls("organisation")).CreateAccount(_contact("j.jansen"), timeout=10)
    names = _stub(identity, certificates.tls("reporting")).BatchGetAccounts(
        identity_pb2.BatchGetAccountsRequest(account_ids=[created.account.account_id]), timeout=10)
    assert [a.display_name for a in names.accounts] == ["Jan Jansen"]


def test_a_peer_not_on_the_list_cannot_create_an_account(identity, certificates, engine):
    for peer in ("consent", "reporting", "identity"):
        with pytest.raises(grpc.RpcError) as caught:
            _stub(identity, certificates.tls(peer)).CreateAccount(_contact(f"by-{peer}"), timeout=10)
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED, peer
        assert error_reason(caught.value) == PEER_NOT_ALLOWED
    assert _count(engine) == 0


def test_not_even_the_gateway_creates_an_operator(identity, certificates, engine):
    with pytest.raises(grpc.RpcError) as caught:
        _stub(identity, certificates.tls("gateway")).CreateAccount(
            _contact("beheer", identity_pb2.ACCOUNT_KIND_OPERATOR), timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(caught.value)) == {"account.kind"}
    assert _count(engine) == 0


def test_a_caller_without_a_certificate_of_the_ca_gets_no_answer(identity, other_certificates, engine):
    for peer_tls in (None, other_certificates.tls("gateway")):
        with pytest.raises(grpc.RpcError) as caught:
            _stub(identity, peer_tls).CreateAccount(_contact("anyone"), timeout=10)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert _count(engine) == 0
