"""grpc_health: a gRPC health Check round trip through svckit's GrpcHost against a bare grpcio server.

Both servers run in this process on 127.0.0.1; one synchronous grpcio channel each, calls
one after another. The sides are measured alternately, in rounds, so that drift in the
machine (frequency, other load) falls on both alike. The figure to report is
svckit p50 / bare p50: what GrpcHost's interceptors (request id, RED metrics) cost a call.
"""
from __future__ import annotations

from concurrent import futures
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from prometheus_client import CollectorRegistry
from svckit.server import GrpcHost

from bench.harness import Comparison, Samples, Side, benchmark, latency_figures, run_timed, warm_up

FULL = {"warmup": 2_000, "calls": 20_000, "rounds": 4}
QUICK = {"warmup": 200, "calls": 2_000, "rounds": 2}
WORKERS = 16
CALL_TIMEOUT_S = 10.0
SUBJECT, ANCHOR = "svckit", "bare"


@dataclass
class _Target:
    name: str
    port: int
    stop: object  # () -> None
    channel: grpc.Channel | None = None

    def connect(self) -> None:
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        grpc.channel_ready_future(self.channel).result(timeout=CALL_TIMEOUT_S)
        stub = health_pb2_grpc.HealthStub(self.channel)
        request = health_pb2.HealthCheckRequest(service="")
        self.call = lambda: stub.Check(request, timeout=CALL_TIMEOUT_S)
        status = self.call().status
        if status != health_pb2.HealthCheckResponse.SERVING:
            raise RuntimeError(f"{self.name} health says {health_pb2.HealthCheckResponse.ServingStatus.Name(status)}")

    def close(self) -> None:
        if self.channel is not None:
            self.channel.close()
        self.stop()


def _svckit_server() -> _Target:
    # Without TLS, like the anchor: this weighs GrpcHost's interceptors, not the transport.
    host = GrpcHost(port=0, registrations=[], registry=CollectorRegistry(), credentials=None,
                    max_workers=WORKERS, bind_host="127.0.0.1")
    host.start()
    host.mark_ready()
    return _Target(SUBJECT, host.port, lambda: host.drain(0))


def _bare_server() -> _Target:
    server = grpc.server(futures.ThreadPoolExecutor(WORKERS))
    servicer = health.HealthServicer()
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return _Target(ANCHOR, port, lambda: server.stop(0).wait())


@benchmark("grpc_health", "gRPC health Check round trip: svckit GrpcHost vs bare grpcio server")
def grpc_health(quick: bool) -> Comparison:
    sizes = QUICK if quick else FULL
    rounds = sizes["rounds"]
    per_round = [sizes["calls"] // rounds + (1 if r < sizes["calls"] % rounds else 0) for r in range(rounds)]

    targets: list[_Target] = []
    try:
        for make in (_svckit_server, _bare_server):
            targets.append(make())
        for target in targets:
            target.connect()
        for target in targets:
            warm_up(target.call, sizes["warmup"])

        samples: dict[str, list[Samples]] = {t.name: [] for t in targets}
        by_round = []
        for r in range(rounds):
            order = targets if r % 2 == 0 else targets[::-1]
            row = {"order": [t.name for t in order]}
            for target in order:
                part = run_timed(target.call, per_round[r])
                samples[target.name].append(part)
                row[target.name] = latency_figures(part)["p50_us"]
            row["ratio"] = row[SUBJECT] / row[ANCHOR]
            by_round.append(row)
    finally:
        for target in targets:
            target.close()

    sides = {name: latency_figures(Samples.merge(parts)) for name, parts in samples.items()}
    return Comparison(
        subject=Side(SUBJECT, sides[SUBJECT]),
        anchor=Side(ANCHOR, sides[ANCHOR]),
        headline="p50_us",
        parameters={**sizes, "workers": WORKERS, "channel": "one per server, sequential calls",
                    "client": f"grpcio {grpc.__version__} sync", "bind": "127.0.0.1"},
        details={"p50_us_by_round": by_round},
        notes=[
            "svckit = GrpcHost(registrations=[]) with its ObservingInterceptor (request id made only "
            "when something logs or calls onward; a started and a handled counter and a histogram per call); "
            "bare = grpc.server(ThreadPoolExecutor(16)) with only the HealthServicer.",
            "Client and both servers share one process and its GIL; the figures are for comparing "
            "the two sides, not absolute service latency.",
        ],
    )
