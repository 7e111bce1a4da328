"""The five processes, started for real, serve health, readiness and RED metrics."""
import grpc
import pytest
import requests

from pe.identity.v1 import identity_pb2, identity_pb2_grpc
from support.stack import SERVICES

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
    with grpc.insecure_channel(stack.grpc_address("identity")) as channel:
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


def test_processes_stop_cleanly_on_sigterm(stack):
    codes = stack.stop()
    assert codes == {name: 0 for name in codes}, {n: stack.processes[n].log()[-2000:] for n in codes}
