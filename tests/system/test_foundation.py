"""The five processes, started for real, serve health, readiness and RED metrics, and answer over
gRPC only peers with a certificate of the stack's CA, each only for the methods it may call."""
import socket

import grpc
import pytest
import requests
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from pe.identity.v1 import identity_pb2, identity_pb2_grpc
from pe.organisation.v1 import organisation_pb2, organisation_pb2_grpc
from support.certificates import Certificates
from support.stack import SERVICES
from svckit import tls
from svckit.rpc_errors import error_reason, field_violations

pytestmark = pytest.mark.system


def test_every_grpc_service_answers_serving(stack):
    assert {service: stack.health(service) for service in SERVICES} == {s: "SERVING" for s in SERVICES}


def test_gateway_is_ready_and_names_each_service(stack):
    response = requests.get(f"{stack.gateway_url}/readyz", timeout=5)
    assert response.status_code == 200
    assert response.json()["services"] == {s: "SERVING" for s in SERVICES}
    assert requests.get(f"{stack.gateway_url}/healthz", timeout=5).json() == {"status": "ok"}


def test_every_process_shows_red_metrics_of_a_call_made(stack):
    for service in SERVICES:
        stack.health(service)
        text = requests.get(stack.metrics_url(service), timeout=5).text
        assert ('grpc_server_handled_total{grpc_code="OK",grpc_method="Check",'
                'grpc_service="grpc.health.v1.Health",grpc_type="unary"}') in text, service
        assert 'grpc_server_handling_seconds_bucket{grpc_code="OK",grpc_method="Check"' in text, service
    requests.get(f"{stack.gateway_url}/healthz", timeout=5)
    text = requests.get(stack.metrics_url("gateway"), timeout=5).text
    assert 'pe_gateway_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert 'pe_gateway_http_request_duration_seconds_count{method="GET",route="/healthz"}' in text


def test_failed_call_is_counted_with_its_code(stack):
    with stack.channel("identity") as channel:
        with pytest.raises(grpc.RpcError) as caught:
            identity_pb2_grpc.IdentityServiceStub(channel).GetAccount(
                identity_pb2.GetAccountRequest(account_id="x"), timeout=2)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    text = requests.get(stack.metrics_url("identity"), timeout=5).text
    assert 'grpc_code="NOT_FOUND",grpc_method="GetAccount"' in text


def test_gateway_serves_openapi_and_problem_errors(stack):
    document = requests.get(f"{stack.gateway_url}/api/v1/openapi.json", timeout=5).json()
    assert document["openapi"].startswith("3.")
    missing = requests.get(f"{stack.gateway_url}/api/v1/session", timeout=5)
    assert missing.status_code == 401
    assert missing.headers["Content-Type"] == "application/problem+json"


def _refused(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


def test_a_caller_without_a_certificate_of_the_ca_gets_no_answer(stack, tmp_path):
    strangers = Certificates(tmp_path / "other-ca")
    for service in SERVICES:
        for peer_tls in (None, strangers.tls("gateway")):
            with tls.open_channel(stack.grpc_address(service), peer_tls) as channel:
                error = _refused(lambda: health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=5))
            assert error.code() == grpc.StatusCode.UNAVAILABLE, service


def test_a_peer_not_on_a_methods_list_is_refused(stack):
    new = identity_pb2.NewAccount(username="by-consent", email="c@example.org", display_name="C",
                                  kind=identity_pb2.ACCOUNT_KIND_EMPLOYER_CONTACT)
    with stack.channel("identity", as_peer="consent") as channel:
        error = _refused(lambda: identity_pb2_grpc.IdentityServiceStub(channel).CreateAccount(
            identity_pb2.CreateAccountRequest(account=new), timeout=5))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED and error_reason(error) == "PEER_NOT_ALLOWED"
    with stack.channel("organisation", as_peer="stranger") as channel:
        error = _refused(lambda: organisation_pb2_grpc.OrganisationServiceStub(channel).ListOrganisations(
            organisation_pb2.ListOrganisationsRequest(), timeout=5))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED and error_reason(error) == "PEER_NOT_ALLOWED"


def test_not_even_the_gateway_creates_an_operator_over_grpc(stack):
    new = identity_pb2.NewAccount(username="beheer", email="beheer@example.org", display_name="Beheer",
                                  kind=identity_pb2.ACCOUNT_KIND_OPERATOR)
    with stack.channel("identity", as_peer="gateway") as channel:
        error = _refused(lambda: identity_pb2_grpc.IdentityServiceStub(channel).CreateAccount(
            identity_pb2.CreateAccountRequest(account=new), timeout=5))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and set(field_violations(error)) == {"account.kind"}


def test_reflection_is_off(stack):
    for service in SERVICES:
        with stack.channel(service) as channel:
            replies = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5)
            error = _refused(lambda: list(replies))
        assert error.code() == grpc.StatusCode.UNIMPLEMENTED, service


def _connects(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except OSError:
        return False


def test_services_listen_on_loopback_only(stack):
    # 127.0.0.2 is this machine too, but not the address bound: a stand-in for every other interface.
    for service in SERVICES:
        for port in (stack.ports[f"{service}_grpc"], stack.ports[f"{service}_metrics"]):
            assert _connects("127.0.0.1", port) and not _connects("127.0.0.2", port), (service, port)


def test_processes_stop_cleanly_on_sigterm(stack):
    codes = stack.stop()
    assert codes == {name: 0 for name in codes}, {n: stack.processes[n].log()[-2000:] for n in codes}
