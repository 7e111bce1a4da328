"""Every error as RFC 9457 application/problem+json, with the fields at fault for bad input."""
from __future__ import annotations

from http import HTTPStatus

import grpc
from flask import Response, json

from svckit.rpc_errors import error_reason, field_violations

PROBLEM_JSON = "application/problem+json"

# gRPC status to HTTP status, as conventions.md settles it.
_HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.UNIMPLEMENTED: 501,
}


def problem_type(slug: str) -> str:
    return f"urn:pe-insight:problem:{slug}"


def problem(status: int, detail: str | None = None, *, title: str | None = None, slug: str | None = None,
            errors: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None,
            **extra) -> Response:
    body = {
        "type": problem_type(slug) if slug else "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def flatten_validation_messages(messages, prefix: str = "") -> list[dict[str, str]]:
    """webargs/marshmallow messages ({"json": {"name": ["..."]}}) as [{field, message}]."""
    found = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key in ("json", "query", "headers", "form", "files", "view_args") and not prefix:
                found += flatten_validation_messages(value, "")
                continue
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                name = prefix or "body"
            found += flatten_validation_messages(value, name)
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        found += [{"field": prefix or "body", "message": message} for message in messages]
    elif isinstance(messages, list):
        for value in messages:
            found += flatten_validation_messages(value, prefix)
    else:
        found.append({"field": prefix or "body", "message": str(messages)})
    return found


def _retry_after(error: grpc.RpcError) -> str:
    for key, value in error.trailing_metadata() or ():
        if key == "retry-after" and str(value).isdigit():
            return str(value)
    return "5"


# A failure on the services' side is told in the gateway's own words: gRPC's details there name
# backend addresses and transport errors ("failed to connect to all addresses; last error: ...
# 127.0.0.1:50051"), which are for the logs, not for callers.
_SERVER_SIDE = {
    501: ("not-implemented", "this is not supported by the service behind the gateway"),
    502: ("upstream-failure", "a service behind the gateway failed"),
    503: ("service-unavailable", "a service behind the gateway is unavailable; try again shortly"),
    504: ("service-timeout", "a service behind the gateway did not answer in time; try again"),
}


def from_rpc_error(error: grpc.RpcError) -> Response:
    code = error.code()
    status = _HTTP_STATUS.get(code, 502)
    if status >= 500:
        slug, detail = _SERVER_SIDE[status]
        headers = {"Retry-After": _retry_after(error)} if status == 503 else None
        return problem(status, detail, slug=slug, headers=headers)
    violations = field_violations(error)
    errors = [{"field": name, "message": text} for name, text in violations.items()] or None
    reason = error_reason(error)
    headers = {"Retry-After": _retry_after(error)} if status in (429, 503) else None
    if status == 401:  # RFC 9110: a 401 says how to authenticate
        headers = {"WWW-Authenticate": 'Bearer realm="pe-insight"'}
    slug = reason.lower().replace("_", "-") if reason else None
    return problem(status, error.details() or None, slug=slug, errors=errors, headers=headers)
