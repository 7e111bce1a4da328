"""One server interceptor for what every call needs: its request id, RED metrics, and the
threads that serve it.

It runs on every RPC, so it is built for speed: the wrapped handler is made once per
method and cached, metric children for the OK code are resolved up front, and a request
id is only made if something logs or calls onward without one from the caller.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent import futures

import grpc

from svckit.grpc_metrics import GrpcServerMetrics
from svckit.logs import REQUEST_ID, current_request_id

REQUEST_ID_KEY = "x-request-id"

_SHAPES = (
    ("unary", grpc.unary_unary_rpc_method_handler, "unary_unary", False),
    ("server_stream", grpc.unary_stream_rpc_method_handler, "unary_stream", True),
    ("client_stream", grpc.stream_unary_rpc_method_handler, "stream_unary", False),
    ("bidi_stream", grpc.stream_stream_rpc_method_handler, "stream_stream", True),
)


def _incoming_request_id(context) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == REQUEST_ID_KEY and value and len(value) <= 128:
            return value
    return None


class ObservingInterceptor(grpc.ServerInterceptor):
    """Observes every call; a method named in `thread_pools` (by full name) runs on that pool."""

    def __init__(self, metrics: GrpcServerMetrics,
                 thread_pools: Mapping[str, futures.ThreadPoolExecutor] | None = None):
        self._metrics = metrics
        self._pools = dict(thread_pools or {})
        self._handlers: dict[str, grpc.RpcMethodHandler] = {}

    def intercept_service(self, continuation, handler_call_details):
        method = handler_call_details.method
        wrapped = self._handlers.get(method)
        if wrapped is None:
            handler = continuation(handler_call_details)
            if handler is None:
                return None
            wrapped = self._handlers.setdefault(method, self._wrap(handler, method))
        return wrapped

    def _wrap(self, handler, full_method: str):
        service, _, method = full_method.lstrip("/").rpartition("/")
        for kind, factory, attribute, streams in _SHAPES:
            behaviour = getattr(handler, attribute)
            if behaviour is not None:
                observed = self._observed(behaviour, streams, (kind, service, method))
                pool = self._pools.get(full_method)
                if pool is not None:  # how grpc lets a method choose its pool (its health service does too)
                    observed.experimental_thread_pool = pool
                return factory(observed, request_deserializer=handler.request_deserializer,
                               response_serializer=handler.response_serializer)
        return handler

    def _observed(self, behaviour, streams: bool, labels: tuple[str, str, str]):
        started_total = self._metrics.started.labels(*labels)
        handled_ok = self._metrics.handled.labels(*labels, "OK")
        seconds_ok = self._metrics.seconds.labels(*labels, "OK")
        metrics = self._metrics

        def finish(context, started, failed):
            elapsed = time.perf_counter() - started
            code = context.code()
            if code is None and not failed:
                handled_ok.inc()
                seconds_ok.observe(elapsed)
                return
            name = code.name if code is not None else "UNKNOWN"
            metrics.handled.labels(*labels, name).inc()
            metrics.seconds.labels(*labels, name).observe(elapsed)

        def unary(request, context):
            token = REQUEST_ID.set(_incoming_request_id(context) or "")
            started_total.inc()
            started, failed = time.perf_counter(), False
            try:
                return behaviour(request, context)
            except BaseException:
                failed = True
                raise
            finally:
                finish(context, started, failed)
                REQUEST_ID.reset(token)

        def stream(request, context):
            token = REQUEST_ID.set(_incoming_request_id(context) or "")
            started_total.inc()
            started, failed = time.perf_counter(), False
            try:
                yield from behaviour(request, context)
            except BaseException:
                failed = True
                raise
            finally:
                finish(context, started, failed)
                REQUEST_ID.reset(token)

        return stream if streams else unary


def outgoing_metadata() -> tuple[tuple[str, str], ...]:
    """Metadata that carries the current request id on to the next hop."""
    request_id = current_request_id()
    return ((REQUEST_ID_KEY, request_id),) if request_id else ()
