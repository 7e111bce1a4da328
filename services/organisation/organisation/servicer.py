"""gRPC servicer of the organisation service: proto in, use case, proto out."""
from pe.organisation.v1 import organisation_pb2_grpc


class OrganisationService(organisation_pb2_grpc.OrganisationServiceServicer):
    """The v1 API of the organisation service.

    Methods not yet defined here answer UNIMPLEMENTED (the generated base class),
    so callers can tell an absent feature from a failure.
    """
