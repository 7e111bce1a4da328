"""The gateway's channels against real gRPC servers on this machine."""
import time
from concurrent import futures

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from gateway import config
from gateway.backends import PROBE_TIMEOUT_SECONDS, SERVICES, Backends

pytestmark = pytest.mark.integration


def _serving_health_server(port: int) -> grpc.Server:
    server = grpc.server(futures.ThreadPoolExecutor(2))
    servicer = health.HealthServicer()
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    return server


@pytest.fixture
def backends(port_factory):
    ports = {service: port_factory() for service in SERVICES}
    settings = config.load({f"{service.upper()}_ADDR": f"127.0.0.1:{port}" for service, port in ports.items()})
    return Backends(settings), ports


def test_a_service_that_came_up_is_ready_at_once_though_the_channel_was_backing_off(backends):
    backends, ports = backends
    # Nothing listens yet: the channels fail and back off to their longest wait (1 s) between
    # attempts, as a gateway worker's do when its first readiness probe beats the services' start.
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        assert set(backends.health(timeout=0.2).values()) == {"UNREACHABLE"}
    servers = [_serving_health_server(port) for port in ports.values()]
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
