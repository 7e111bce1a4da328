"""Server interceptors: request ids bound to logs, and RED metrics per method and code."""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import grpc
import structlog

from svckit.grpc_metrics import GrpcServerMetrics

REQUEST_ID_KEY = "x-request-id"

_FACTORIES = {
    "unary": (grpc.unary_unary_rpc_method_handler, "unary_unary", False),
    "server_stream": (grpc.unary_stream_rpc_method_handler, "unary_stream", True),
    "client_stream": (grpc.stream_unary_rpc_method_handler, "stream_unary", False),
    "bidi_stream": (grpc.stream_stream_rpc_method_handler, "stream_stream", True),
}


def _rewrap(handler, wrap: Callable) -> grpc.RpcMethodHandler:
    """The same handler with its behaviour passed through wrap(behaviour, kind, streams)."""
    for kind, (factory, attribute, streams) in _FACTORIES.items():
        behaviour = getattr(handler, attribute)
        if behaviour is not None:
            return factory(wrap(behaviour, kind, streams),
                           request_deserializer=handler.request_deserializer,
                           response_serializer=handler.response_serializer)
    return handler


def _around(behaviour, streams: bool, before, after):
    """Call before(), then the behaviour, then after(context, failed), for either shape of RPC."""
    def unary(request, context):
        token, failed = before(), False
        try:
            return behaviour(request, context)
        except BaseException:
            failed = True
            raise
        finally:
            after(token, context, failed)

    def stream(request, context):
        token, failed = before(), False
        try:
            yield from behaviour(request, context)
        except BaseException:
            failed = True
            raise
        finally:
            after(token, context, failed)
    return stream if streams else unary


class RequestIdInterceptor(grpc.ServerInterceptor):
    """Binds the caller's x-request-id (or a new one) to every log line of the call."""

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        request_id = _incoming_request_id(handler_call_details)

        def before():
            return structlog.contextvars.bind_contextvars(request_id=request_id)

        def after(tokens, _context, _failed):
            structlog.contextvars.reset_contextvars(**tokens)

        return _rewrap(handler, lambda behaviour, _kind, streams: _around(behaviour, streams, before, after))


def _incoming_request_id(handler_call_details) -> str:
    for key, value in handler_call_details.invocation_metadata or ():
        if key == REQUEST_ID_KEY and value and len(value) <= 128:
            return value
    return str(uuid.uuid4())


class MetricsInterceptor(grpc.ServerInterceptor):
    def __init__(self, metrics: GrpcServerMetrics):
        self._metrics = metrics

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        service, _, method = handler_call_details.method.lstrip("/").rpartition("/")

        def wrap(behaviour, kind, streams):
            labels = (kind, service, method)

            def before():
                self._metrics.started.labels(*labels).inc()
                return time.perf_counter()

            def after(started, context, failed):
                code = context.code()
                name = code.name if code is not None else ("UNKNOWN" if failed else "OK")
                self._metrics.handled.labels(*labels, name).inc()
                self._metrics.seconds.labels(*labels, name).observe(time.perf_counter() - started)
            return _around(behaviour, streams, before, after)

        return _rewrap(handler, wrap)


def outgoing_metadata() -> tuple[tuple[str, str], ...]:
    """Metadata that carries the current request id on to the next hop."""
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    return ((REQUEST_ID_KEY, request_id),) if request_id else ()
