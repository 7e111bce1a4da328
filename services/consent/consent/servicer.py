"""gRPC servicer of the consent service: proto in, use case, proto out."""
from pe.consent.v1 import consent_pb2_grpc


class ConsentService(consent_pb2_grpc.ConsentServiceServicer):
    """The v1 API of the consent service.

    Methods not yet defined here answer UNIMPLEMENTED (the generated base class),
    so callers can tell an absent feature from a failure.
    """
