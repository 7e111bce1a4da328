"""The gRPC bootstrap: health only when ready, reflection, RED metrics per method and code."""
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from prometheus_client import CollectorRegistry

from svckit.rpc_errors import error_reason, failure, field_violations, invalid_argument
from svckit.server import GrpcHost

ECHO_SERVICE = "test.Echo"


class EchoServicer:
    """A raw generic handler standing in for a generated servicer."""


def _add_echo(_servicer, server):
    def echo(request: bytes, context):
        if request == b"bad":
            context.abort_with_status(invalid_argument({"name": "must not be empty"}))
        if request == b"gone":
            context.abort_with_status(failure(grpc.StatusCode.NOT_FOUND, "NOT_THERE", "no such thing"))
        return request

    def count(request: bytes, context):
        for index in range(int(request)):
            yield str(index).encode()

    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(ECHO_SERVICE, {
        "Echo": grpc.unary_unary_rpc_method_handler(echo),
        "Count": grpc.unary_stream_rpc_method_handler(count),
    })])


@pytest.fixture
def host():
    from svckit.server import Registration
    registry = CollectorRegistry()
    host = GrpcHost(port=0, registrations=[Registration(ECHO_SERVICE, _add_echo, EchoServicer())],
                    registry=registry, credentials=None, bind_host="127.0.0.1", reflection=True)
    host.start()
    host.registry = registry
    yield host
    host.drain(0)


@pytest.fixture
def channel(host):
    with grpc.insecure_channel(f"127.0.0.1:{host.port}") as channel:
        yield channel


def _health(channel, service=""):
    return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=2).status


def test_health_is_serving_only_once_marked_ready(host, channel):
    assert _health(channel) == health_pb2.HealthCheckResponse.NOT_SERVING
    assert _health(channel, ECHO_SERVICE) == health_pb2.HealthCheckResponse.NOT_SERVING
    host.mark_ready()
    assert _health(channel) == health_pb2.HealthCheckResponse.SERVING
    assert _health(channel, ECHO_SERVICE) == health_pb2.HealthCheckResponse.SERVING


def test_drain_says_not_serving_then_stops(host, channel):
    host.mark_ready()
    host.drain(0.1)
    with pytest.raises(grpc.RpcError) as caught:
        _health(channel)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_reflection_lists_the_services(host, channel):
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    replies = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    names = {s.name for reply in replies for s in reply.list_services_response.service}
    assert {ECHO_SERVICE, "grpc.health.v1.Health"} <= names


def _sample(registry, name, **labels):
    return registry.get_sample_value(name, labels) or 0.0


def test_metrics_count_each_call_by_method_and_code(host, channel):
    echo = channel.unary_unary(f"/{ECHO_SERVICE}/Echo")
    assert echo(b"hello", timeout=2) == b"hello"
    with pytest.raises(grpc.RpcError):
        echo(b"bad", timeout=2)
    assert list(channel.unary_stream(f"/{ECHO_SERVICE}/Count")(b"3", timeout=2)) == [b"0", b"1", b"2"]

    labels = dict(grpc_type="unary", grpc_service=ECHO_SERVICE, grpc_method="Echo")
    assert _sample(host.registry, "grpc_server_handled_total", **labels, grpc_code="OK") == 1
    assert _sample(host.registry, "grpc_server_handled_total", **labels, grpc_code="INVALID_ARGUMENT") == 1
    assert _sample(host.registry, "grpc_server_handling_seconds_count", **labels, grpc_code="OK") == 1
    assert _sample(host.registry, "grpc_server_handled_total", grpc_type="server_stream",
                   grpc_service=ECHO_SERVICE, grpc_method="Count", grpc_code="OK") == 1


def test_errors_carry_field_violations_and_reasons(host, channel):
    echo = channel.unary_unary(f"/{ECHO_SERVICE}/Echo")
    with pytest.raises(grpc.RpcError) as bad:
        echo(b"bad", timeout=2)
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(bad.value) == {"name": "must not be empty"}
    with pytest.raises(grpc.RpcError) as gone:
        echo(b"gone", timeout=2)
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
    assert error_reason(gone.value) == "NOT_THERE"


def test_request_id_from_the_caller_reaches_the_handler_and_onward(host, channel):
    from svckit.interceptors import outgoing_metadata
    seen = []

    def add_probe(_servicer, server):
        def probe(request, context):
            seen.append(outgoing_metadata())
            return request
        server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
            "test.Probe", {"Probe": grpc.unary_unary_rpc_method_handler(probe)})])

    # a second host with the probe, so the first fixture's cached handlers stay as they are
    from svckit.server import Registration
    other = GrpcHost(port=0, registrations=[Registration("test.Probe", add_probe, None)],
                     registry=CollectorRegistry(), credentials=None, bind_host="127.0.0.1")
    other.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{other.port}") as probe_channel:
            call = probe_channel.unary_unary("/test.Probe/Probe")
            call(b"x", timeout=2, metadata=(("x-request-id", "abc-123"),))
            call(b"x", timeout=2)
    finally:
        other.drain(0)
    assert seen[0] == (("x-request-id", "abc-123"),)
    assert seen[1][0][0] == "x-request-id" and len(seen[1][0][1]) == 32


def test_a_method_with_workers_of_its_own_runs_on_them_and_is_still_observed():
    import threading
    from svckit.server import Registration
    served_by = {}

    def add_named(_servicer, server):
        def note(name):
            def handler(request, context):
                served_by.setdefault(name, set()).add(threading.current_thread().name)
                return request
            return grpc.unary_unary_rpc_method_handler(handler)
        server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
            "test.Split", {"Hot": note("Hot"), "Other": note("Other")})])

    registry = CollectorRegistry()
    split = GrpcHost(port=0, registrations=[Registration("test.Split", add_named, None, own_workers={"Hot": 2})],
                     registry=registry, credentials=None, bind_host="127.0.0.1")
    split.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{split.port}") as channel:
            for _ in range(6):
                assert channel.unary_unary("/test.Split/Hot")(b"x", timeout=2) == b"x"
                assert channel.unary_unary("/test.Split/Other")(b"y", timeout=2) == b"y"
    finally:
        split.drain(0)
    assert served_by["Hot"] and all(name.startswith("grpc-Hot_") for name in served_by["Hot"])
    assert len(served_by["Hot"]) <= 2
    assert not any(name.startswith("grpc-Hot") for name in served_by["Other"])
    assert _sample(registry, "grpc_server_handled_total", grpc_type="unary", grpc_service="test.Split",
                   grpc_method="Hot", grpc_code="OK") == 6
    # drained: the method's own threads have ended too
    assert not [t for t in threading.enumerate() if t.name.startswith("grpc-Hot_")]


def test_a_method_needs_at_least_one_worker_of_its_own_and_must_exist():
    from svckit.server import Registration
    with pytest.raises(ValueError, match="test.Split/Hot needs at least one worker"):
        Registration("test.Split", lambda *_: None, None, own_workers={"Hot": 0})

    class Split:
        def Hot(self, request, context):
            return request
    Registration("test.Split", lambda *_: None, Split(), own_workers={"Hot": 2})
    with pytest.raises(ValueError, match="test.Split has no method Hott"):
        Registration("test.Split", lambda *_: None, Split(), own_workers={"Hott": 2})


def _connects(host: str, port: int) -> bool:
    import socket
    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except OSError:
        return False


def test_by_default_the_server_and_its_metrics_listen_on_loopback_only(port_factory):
    # 127.0.0.2 is this machine too, but not the address bound: a stand-in for every other interface.
    from svckit.server import start_metrics_server
    host = GrpcHost(port=0, registrations=[], registry=CollectorRegistry(), credentials=None)
    metrics_port = port_factory()
    start_metrics_server(metrics_port, CollectorRegistry())
    host.start()
    try:
        assert _connects("127.0.0.1", host.port) and not _connects("127.0.0.2", host.port)
        assert _connects("127.0.0.1", metrics_port) and not _connects("127.0.0.2", metrics_port)
    finally:
        host.drain(0)


def test_the_bind_address_is_a_choice(port_factory):
    from svckit.server import start_metrics_server
    host = GrpcHost(port=0, registrations=[], registry=CollectorRegistry(), credentials=None, bind_host="0.0.0.0")
    metrics_port = port_factory()
    start_metrics_server(metrics_port, CollectorRegistry(), "0.0.0.0")
    host.start()
    try:
        assert _connects("127.0.0.2", host.port) and _connects("127.0.0.2", metrics_port)
    finally:
        host.drain(0)


def test_health_follows_what_the_service_needs_after_ready(host, channel):
    host.mark_ready()
    host.set_serving(False)
    assert _health(channel) == health_pb2.HealthCheckResponse.NOT_SERVING
    assert _health(channel, ECHO_SERVICE) == health_pb2.HealthCheckResponse.NOT_SERVING
    host.set_serving(True)
    assert _health(channel) == health_pb2.HealthCheckResponse.SERVING
