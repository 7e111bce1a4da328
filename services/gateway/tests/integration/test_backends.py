"""The gateway's channels against real gRPC servers on this machine, over mutual TLS: what /readyz
reports, and that each worker keeps one channel and stub per service."""
import os
import time
from concurrent import futures

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from gateway import config
from gateway.backends import PROBE_TIMEOUT_SECONDS, SERVICES, Backends

pytestmark = pytest.mark.integration


def _serving_health_server(port: int, service_tls) -> grpc.Server:
    server = grpc.server(futures.ThreadPoolExecutor(2))
    servicer = health.HealthServicer()
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    server.add_secure_port(f"127.0.0.1:{port}", service_tls.server_credentials())
    server.start()
    return server


@pytest.fixture
def backends(port_factory, certificates):
    ports = {service: port_factory() for service in SERVICES}
    settings = config.load({**{f"{service.upper()}_ADDR": f"127.0.0.1:{port}" for service, port in ports.items()},
                            **certificates.env("gateway")})
    return Backends(settings), ports


def test_a_service_that_came_up_is_ready_at_once_though_the_channel_was_backing_off(backends, certificates):
    backends, ports = backends
    # Nothing listens yet: the channels fail and back off to their longest wait (1 s) between
    # attempts, as a gateway worker's do when its first readiness probe beats the services' start.
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        assert set(backends.health(timeout=0.2).values()) == {"UNREACHABLE"}
    servers = [_serving_health_server(port, certificates.tls(service)) for service, port in ports.items()]
    try:
        assert backends.health() == {service: "SERVING" for service in SERVICES}
    finally:
        for server in servers:
            server.stop(0)


def test_a_service_that_is_down_is_unreachable_within_the_probes_timeout(backends):
    backends, _ = backends
    started = time.monotonic()
    assert backends.health() == {service: "UNREACHABLE" for service in SERVICES}
    assert time.monotonic() - started < PROBE_TIMEOUT_SECONDS + 0.5  # the four are probed at once


def test_a_service_with_a_certificate_of_another_ca_is_unreachable(backends, certificates, other_certificates):
    backends, ports = backends
    servers = [_serving_health_server(port, (other_certificates if service == "consent" else certificates).tls(service))
               for service, port in ports.items()]
    try:
        assert backends.health() == {**{service: "SERVING" for service in SERVICES}, "consent": "UNREACHABLE"}
    finally:
        for server in servers:
            server.stop(0)
def test_a_worker_makes_each_services_channel_and_stub_once_and_anew_after_a_fork(backends, monkeypatch):
    backends, _ = backends
    stub, channel = backends.stub("identity"), backends.channel("identity")
    assert backends.stub("identity") is stub and backends.identity is stub and backends.channel("identity") is channel
    assert backends.stub("consent") is not stub

    forked = os.getpid() + 1
    monkeypatch.setattr("gateway.backends.os.getpid", lambda: forked)  # a worker forked from this process
    assert backends.stub("identity") is not stub and backends.channel("identity") is not channel
    assert backends.stub("identity") is backends.stub("identity")


def _token_from_a_key_the_gateway_must_fetch() -> str:
    import jwt
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    return jwt.encode({"sub": "someone", "kind": "operator"}, Ed25519PrivateKey.generate(), algorithm="EdDSA",
                      headers={"kid": "a-key-id"})


@pytest.mark.parametrize("method, path, headers, body", [
    ("POST", "/api/v1/sessions", {}, {"username": "someone", "password": "a password"}),  # waits for the service
    ("GET", "/api/v1/session", {"Authorization": f"Bearer {_token_from_a_key_the_gateway_must_fetch()}"}, None),
])
def test_a_stopped_service_is_reported_without_its_address_or_grpcs_words(port_factory, certificates, method, path,
                                                                          headers, body):
    from gateway.app import create_app
    ports = {service: port_factory() for service in SERVICES}  # nothing listens on any of them
    settings = config.load({"RPC_TIMEOUT_SECONDS": "0.5", **certificates.env("gateway"),
                            **{f"{service.upper()}_ADDR": f"127.0.0.1:{port}" for service, port in ports.items()}})
    client = create_app(settings).test_client()
    response = client.open(path, method=method, headers=headers, json=body)
    assert response.status_code in (503, 504)
    assert response.mimetype == "application/problem+json"
    text = response.get_data(as_text=True)
    for leak in ("127.0.0.1", str(ports["identity"]), "ipv4", "connect", "Deadline", "last error"):
        assert leak not in text, text
