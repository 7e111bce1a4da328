"""Which peers may call which method, checked on every call by the name in the peer's certificate.

Each service keeps its allow-list in one module (`<service>/peers.py`): a dict of method name to
the names of the processes that may call it, handed to svckit with its `Registration`. What is not
on the list is refused: a method without an entry is refused to every peer, with PERMISSION_DENIED
and the reason PEER_NOT_ALLOWED. The standard health service (and reflection, when turned on) is
open to every peer, since the TLS handshake has already required a certificate of the CA.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping

import grpc

from svckit.rpc_errors import failure
from svckit.tls import peer_name

# The names the processes' certificates carry (svckit.pki makes one per name).
PROCESSES = frozenset({"gateway", "identity", "organisation", "consent", "reporting"})
PEER_NOT_ALLOWED = "PEER_NOT_ALLOWED"

AllowList = Mapping[str, Collection[str]]  # method name -> names of the peers that may call it

_SHAPES = (
    (grpc.unary_unary_rpc_method_handler, "unary_unary", False),
    (grpc.unary_stream_rpc_method_handler, "unary_stream", True),
    (grpc.stream_unary_rpc_method_handler, "stream_unary", False),
    (grpc.stream_stream_rpc_method_handler, "stream_stream", True),
)


class PeerAuthorisation(grpc.ServerInterceptor):
    """Lets a call through only if its peer is on the list of its method (by full method name,
    '/pe.identity.v1.IdentityService/CreateAccount'); services in `open_services` are open to all."""

    def __init__(self, allowed: Mapping[str, Collection[str]], open_services: Collection[str]):
        self._allowed = {method: frozenset(peers) for method, peers in allowed.items()}
        self._open = frozenset(open_services)
        self._handlers: dict[str, grpc.RpcMethodHandler] = {}

    def intercept_service(self, continuation, handler_call_details):
        method = handler_call_details.method
        if method.lstrip("/").rpartition("/")[0] in self._open:
            return continuation(handler_call_details)
        checked = self._handlers.get(method)
        if checked is None:
            handler = continuation(handler_call_details)
            if handler is None:  # no such method: grpc answers UNIMPLEMENTED
                return None
            checked = self._handlers.setdefault(method, _checked(handler, method, self._allowed.get(method, ())))
        return checked


def _checked(handler: grpc.RpcMethodHandler, method: str, allowed: frozenset[str]) -> grpc.RpcMethodHandler:
    def refuse_unless_allowed(context) -> None:
        peer = peer_name(context)
        if peer not in allowed:
            context.abort_with_status(failure(
                grpc.StatusCode.PERMISSION_DENIED, PEER_NOT_ALLOWED,
                f"{peer or 'a peer without a certificate'} may not call {method}"))

    for factory, attribute, streams in _SHAPES:
        behaviour = getattr(handler, attribute)
        if behaviour is None:
            continue

        def unary(request, context, behaviour=behaviour):
            refuse_unless_allowed(context)
            return behaviour(request, context)

        def stream(request, context, behaviour=behaviour):
            refuse_unless_allowed(context)
            yield from behaviour(request, context)

        return factory(stream if streams else unary, request_deserializer=handler.request_deserializer,
                       response_serializer=handler.response_serializer)
    return handler
