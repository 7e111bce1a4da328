"""The standard gRPC server metrics, named as go-grpc-prometheus names them."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class GrpcServerMetrics:
    def __init__(self, registry: CollectorRegistry):
        labels = ("grpc_type", "grpc_service", "grpc_method")
        self.started = Counter("grpc_server_started_total", "RPCs started on the server.",
                               labels, registry=registry)
        self.handled = Counter("grpc_server_handled_total", "RPCs completed on the server, by code.",
                               (*labels, "grpc_code"), registry=registry)
        self.seconds = Histogram("grpc_server_handling_seconds", "Time to handle an RPC, by code.",
                                 (*labels, "grpc_code"), buckets=_BUCKETS, registry=registry)
