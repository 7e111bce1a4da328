"""gRPC server bootstrap: mutual TLS, peer authorisation, health, reflection, interceptors,
metrics endpoint, graceful drain.

A service builds its servicers in its composition root, hands them to `GrpcHost`, and
marks the host ready only once everything it depends on has been checked.
"""
from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection as grpc_reflection
from prometheus_client import CollectorRegistry, start_http_server

from svckit.grpc_metrics import GrpcServerMetrics
from svckit.interceptors import ObservingInterceptor
from svckit.logs import get_logger
from svckit.peer_auth import PeerAuthorisation

log = get_logger(__name__)

# Clients find the replicas of a service by DNS when they connect (svckit.balancing), so a
# replica added later gets calls only once they look again. Each connection is closed after this
# long (gRPC adds up to 10% either way; calls in flight finish first), and the client, reconnecting,
# resolves the name anew.
MAX_CONNECTION_AGE_SECONDS = 300
# Clients ping every connection every few seconds to notice a replica that vanished
# (svckit.balancing.KEEPALIVE_TIME_MS); without these the server would count those pings as abuse
# and close the connection (GOAWAY too_many_pings).
KEEPALIVE_SERVER_OPTIONS = [("grpc.keepalive_permit_without_calls", 1),
                            ("grpc.http2.min_ping_interval_without_data_ms", 1000),
                            ("grpc.http2.max_ping_strikes", 0)]


@dataclass(frozen=True)
class Registration:
    """One servicer: its full service name and the generated add_..._to_server function.

    `peers` is the service's allow-list (method name: the names of the peers that may call it,
    see svckit.peer_auth); a method not in it is refused to every peer.
    `own_workers` gives methods threads of their own (method name: how many). A short call that
    comes in bursts then waits its turn in order on a few threads, instead of sharing the pool,
    and the interpreter, with every other call; and slow calls cannot hold it up.
    """
    service_name: str
    add_to_server: Callable[[object, grpc.Server], None]
    servicer: object
    own_workers: Mapping[str, int] = field(default_factory=dict)
    peers: Mapping[str, Collection[str]] = field(default_factory=dict)

    def __post_init__(self):
        for method, peers in self.peers.items():
            if isinstance(peers, str):
                raise ValueError(f"{self.service_name}/{method}: name the peers in a set, not as one string")
            if self.servicer is not None and not callable(getattr(self.servicer, method, None)):
                raise ValueError(f"{self.service_name} has no method {method} to name the peers of")
        for method, workers in self.own_workers.items():
            if workers < 1:
                raise ValueError(f"{self.service_name}/{method} needs at least one worker, not {workers}")
            if self.servicer is not None and not callable(getattr(self.servicer, method, None)):
                raise ValueError(f"{self.service_name} has no method {method} to give workers of its own")


class GrpcHost:
    """A gRPC server on `bind_host:port`.

    `credentials` is required, so that serving without TLS is always a choice made in code: with
    server credentials (svckit.tls.Tls.server_credentials) only peers with a certificate of the CA
    are answered, and each only for the methods its name is allowed; `credentials=None` serves in
    plain text to anyone, which in-process tests and benchmarks choose, and a process only with
    GRPC_TLS=off on a developer's machine (svckit.config.tls_files). Reflection only if asked for.
    """

    def __init__(self, *, port: int, registrations: Sequence[Registration], registry: CollectorRegistry,
                 credentials: grpc.ServerCredentials | None, max_workers: int = 16,
                 bind_host: str = "127.0.0.1", reflection: bool = False):
        self._health = health.HealthServicer()
        self._names = [r.service_name for r in registrations]
        self._own_pools = {
            f"/{r.service_name}/{method}": futures.ThreadPoolExecutor(workers, thread_name_prefix=f"grpc-{method}")
            for r in registrations for method, workers in r.own_workers.items()}
        interceptors = [ObservingInterceptor(GrpcServerMetrics(registry), self._own_pools)]
        open_services = [health.SERVICE_NAME, *([grpc_reflection.SERVICE_NAME] if reflection else [])]
        if credentials is not None:
            # Without TLS no peer has a name to check, so there is no allow-list to apply.
            interceptors.append(PeerAuthorisation(
                {f"/{r.service_name}/{method}": peers for r in registrations for method, peers in r.peers.items()},
                open_services))
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc"),
            interceptors=interceptors,
            options=[("grpc.so_reuseport", 0), ("grpc.max_connection_age_ms", MAX_CONNECTION_AGE_SECONDS * 1000),
                     *KEEPALIVE_SERVER_OPTIONS],
        )
        for registration in registrations:
            registration.add_to_server(registration.servicer, self._server)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._server)
        if reflection:
            grpc_reflection.enable_server_reflection([*self._names, *open_services], self._server)
        address = f"[{bind_host}]:{port}" if ":" in bind_host else f"{bind_host}:{port}"
        if credentials is None:
            self.port = self._server.add_insecure_port(address)
        else:
            self.port = self._server.add_secure_port(address, credentials)
        self._set_all(health_pb2.HealthCheckResponse.NOT_SERVING)

    def _set_all(self, status) -> None:
        for name in ("", *self._names):
            self._health.set(name, status)

    def start(self) -> None:
        self._server.start()

    def mark_ready(self) -> None:
        """Health answers SERVING only from here on."""
        self._set_all(health_pb2.HealthCheckResponse.SERVING)

    def set_serving(self, serving: bool) -> None:
        """SERVING or NOT_SERVING after being ready, as what the service needs comes and goes
        (svckit.database_watch); once draining, it stays NOT_SERVING."""
        self._set_all(health_pb2.HealthCheckResponse.SERVING if serving
                      else health_pb2.HealthCheckResponse.NOT_SERVING)

    def drain(self, grace_seconds: float) -> None:
        """Say NOT_SERVING so balancers stop sending, then finish calls in flight."""
        self._health.enter_graceful_shutdown()
        self._server.stop(grace_seconds).wait()
        for pool in self._own_pools.values():
            pool.shutdown(wait=True)

    def wait(self) -> None:
        self._server.wait_for_termination()


def start_metrics_server(port: int, registry: CollectorRegistry, host: str = "127.0.0.1") -> None:
    """/metrics for Prometheus on its own port."""
    start_http_server(port, addr=host, registry=registry)


def run_until_signalled(host: GrpcHost, grace_seconds: float, on_stop: Callable[[], None] = lambda: None) -> None:
    """Serve until SIGTERM or SIGINT, then drain and stop the service's own workers."""
    stop = threading.Event()

    def request_stop(signum, _frame):
        log.info("stopping", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    # A signal may be delivered to any thread; Python runs its handler only when the main thread
    # next executes bytecode, which a wait without a timeout (blocked in the lock) may never do.
    while not stop.wait(timeout=0.25):
        pass
    host.drain(grace_seconds)
    on_stop()
    log.info("stopped")
