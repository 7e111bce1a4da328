"""gRPC errors with google.rpc details, so callers learn which field was at fault and why."""
from __future__ import annotations

from collections.abc import Mapping

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status


def _status(code: grpc.StatusCode, message: str, *details) -> grpc.Status:
    proto = status_pb2.Status(code=getattr(code_pb2, code.name), message=message)
    for detail in details:
        packed = any_pb2.Any()
        packed.Pack(detail)
        proto.details.append(packed)
    return rpc_status.to_status(proto)


def invalid_argument(violations: Mapping[str, str], message: str = "the request has invalid fields") -> grpc.Status:
    bad_request = error_details_pb2.BadRequest(field_violations=[
        error_details_pb2.BadRequest.FieldViolation(field=name, description=text)
        for name, text in violations.items()])
    return _status(grpc.StatusCode.INVALID_ARGUMENT, message, bad_request)


def failure(code: grpc.StatusCode, reason: str, message: str, domain: str = "pe-insight") -> grpc.Status:
    """Any other failure, with a machine-readable reason such as ORGANISATION_NOT_AUTHORISED."""
    return _status(code, message, error_details_pb2.ErrorInfo(reason=reason, domain=domain))


def field_violations(error: grpc.RpcError) -> dict[str, str]:
    """The BadRequest field violations carried by an error, if any (caller side)."""
    status = rpc_status.from_call(error)
    if status is None:
        return {}
    found = {}
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            found.update({v.field: v.description for v in bad_request.field_violations})
    return found


def error_reason(error: grpc.RpcError) -> str | None:
    status = rpc_status.from_call(error)
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason
    return None
