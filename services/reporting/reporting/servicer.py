"""gRPC servicer of the reporting service: proto in, use case, proto out."""
from pe.reporting.v1 import reporting_pb2_grpc


class ReportingService(reporting_pb2_grpc.ReportingServiceServicer):
    """The v1 API of the reporting service.

    Methods not yet defined here answer UNIMPLEMENTED (the generated base class),
    so callers can tell an absent feature from a failure.
    """
