"""Mutual TLS and the allow-list, over real TLS on loopback: only a certificate of the CA gets an
answer, and only a peer on a method's list gets through."""
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from prometheus_client import CollectorRegistry

from svckit import tls
from svckit.peer_auth import PEER_NOT_ALLOWED
from svckit.rpc_errors import error_reason
from svckit.server import GrpcHost, Registration

SERVICE = "test.Vault"


class Vault:
    """Stands in for a generated servicer: Open is listed, Count streams, Forget has no entry."""

    def Open(self, request, context):
        return request

    def Count(self, request, context):
        yield from (str(i).encode() for i in range(int(request)))

    def Forget(self, request, context):
        return b"forgotten"


def _add_vault(servicer, server):
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, {
        "Open": grpc.unary_unary_rpc_method_handler(servicer.Open),
        "Count": grpc.unary_stream_rpc_method_handler(servicer.Count),
        "Forget": grpc.unary_unary_rpc_method_handler(servicer.Forget),
    })])


PEERS = {"Open": {"gateway", "organisation"}, "Count": {"gateway"}}


@pytest.fixture(scope="module")
def vault(certificates):
    registry = CollectorRegistry()
    host = GrpcHost(port=0, registrations=[Registration(SERVICE, _add_vault, Vault(), peers=PEERS)],
                    registry=registry, credentials=certificates.tls("identity").server_credentials())
    host.start()
    host.mark_ready()
    host.registry = registry
    yield host
    host.drain(0)


def _call(host, peer_tls, method="Open", request=b"x"):
    with tls.open_channel(f"127.0.0.1:{host.port}", peer_tls) as channel:
        if method == "Count":
            return list(channel.unary_stream(f"/{SERVICE}/Count")(request, timeout=5))
        return channel.unary_unary(f"/{SERVICE}/{method}")(request, timeout=5)


def _refused(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


def test_a_peer_on_the_list_gets_through(vault, certificates):
    assert _call(vault, certificates.tls("gateway")) == b"x"
    assert _call(vault, certificates.tls("organisation")) == b"x"
    assert _call(vault, certificates.tls("gateway"), "Count", b"3") == [b"0", b"1", b"2"]


def test_a_peer_with_a_good_certificate_but_not_on_the_list_is_refused(vault, certificates):
    error = _refused(lambda: _call(vault, certificates.tls("consent")))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_reason(error) == PEER_NOT_ALLOWED
    assert "consent may not call /test.Vault/Open" in error.details()
    streamed = _refused(lambda: _call(vault, certificates.tls("organisation"), "Count", b"3"))
    assert streamed.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_method_without_an_entry_is_refused_to_everyone(vault, certificates):
    for peer in ("gateway", "identity", "reporting"):
        error = _refused(lambda: _call(vault, certificates.tls(peer), "Forget"))
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        assert error_reason(error) == PEER_NOT_ALLOWED


def test_refusals_are_counted_with_their_code(vault, certificates):
    _refused(lambda: _call(vault, certificates.tls("stranger")))
    assert vault.registry.get_sample_value("grpc_server_handled_total", {
        "grpc_type": "unary", "grpc_service": SERVICE, "grpc_method": "Open",
        "grpc_code": "PERMISSION_DENIED"}) >= 1


def test_health_is_open_to_every_peer_with_a_certificate_of_the_ca(vault, certificates):
    for peer in ("gateway", "consent", "stranger"):
        with tls.open_channel(f"127.0.0.1:{vault.port}", certificates.tls(peer)) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_a_client_without_a_certificate_gets_no_answer(vault, certificates):
    with grpc.secure_channel(f"127.0.0.1:{vault.port}",
                             grpc.ssl_channel_credentials(root_certificates=certificates.tls("gateway").ca)) as channel:
        error = _refused(lambda: channel.unary_unary(f"/{SERVICE}/Open")(b"x", timeout=5))
    assert error.code() == grpc.StatusCode.UNAVAILABLE


def test_a_client_without_tls_gets_no_answer(vault):
    error = _refused(lambda: _call(vault, None))
    assert error.code() == grpc.StatusCode.UNAVAILABLE


def test_a_certificate_of_another_ca_gets_no_answer_whatever_its_name(vault, other_certificates):
    error = _refused(lambda: _call(vault, other_certificates.tls("gateway")))
    assert error.code() == grpc.StatusCode.UNAVAILABLE


def test_the_client_refuses_a_server_with_a_certificate_of_another_ca(other_certificates, certificates):
    host = GrpcHost(port=0, registrations=[Registration(SERVICE, _add_vault, Vault(), peers=PEERS)],
                    registry=CollectorRegistry(), credentials=other_certificates.tls("identity").server_credentials())
    host.start()
    try:
        error = _refused(lambda: _call(host, certificates.tls("gateway")))
    finally:
        host.drain(0)
    assert error.code() == grpc.StatusCode.UNAVAILABLE


def test_reflection_is_off_unless_asked_for(vault, certificates):
    with tls.open_channel(f"127.0.0.1:{vault.port}", certificates.tls("gateway")) as channel:
        replies = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5)
        error = _refused(lambda: list(replies))
    assert error.code() == grpc.StatusCode.UNIMPLEMENTED


def test_the_allow_list_names_methods_the_servicer_has_and_peers_as_a_set():
    with pytest.raises(ValueError, match="test.Vault has no method Opne to name the peers of"):
        Registration(SERVICE, _add_vault, Vault(), peers={"Opne": {"gateway"}})
    with pytest.raises(ValueError, match="test.Vault/Open: name the peers in a set, not as one string"):
        Registration(SERVICE, _add_vault, Vault(), peers={"Open": "gateway"})
