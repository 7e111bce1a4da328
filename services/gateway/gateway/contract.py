"""The errors every operation of the OpenAPI document can answer, documented alike.

An apispec plugin, so the routes say only what is particular to them (a 409 and its reason); what
follows from an operation's shape is added here, the same way for all:

- every operation calls a service behind the gateway: 502, 503 (with Retry-After) and 504;
- a request body: 400 (invalid), 413 (too large) and 415 (not JSON, or not the type it takes);
- query or header parameters: 400;
- a path parameter: 404 (no such resource, or not the caller's to know of);
- an access token: 401 (with WWW-Authenticate) and 403;
- the routes counted per client address, and the routes that check a password: 429 (with Retry-After).

Each error is RFC 9457 application/problem+json with the shared Problem schema. The links between
operations (LINKS) are added here too, as they name operations by operationId.
"""
from __future__ import annotations

from http import HTTPStatus

import marshmallow as ma
from apispec import BasePlugin

from gateway import ratelimits
from gateway.problems import PROBLEM_JSON

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
METHODS = ("get", "post", "put", "patch", "delete")
# Identity slows down password guessing (RESOURCE_EXHAUSTED) wherever a password is checked.
PASSWORD_CHECKS = {("post", "/api/v1/me/password"), ("post", "/api/v1/me/email-changes")}
RATE_LIMITED = {(limit.method.lower(), limit.rule) for limit in ratelimits.LIMITS}

RETRY_AFTER = {"description": "Seconds to wait before trying again", "schema": {"type": "integer", "minimum": 0}}
HEADERS = {
    401: {"WWW-Authenticate": {"description": "How to authenticate: Bearer",
                               "schema": {"type": "string", "example": 'Bearer realm="pe-insight"'}}},
    429: {"Retry-After": RETRY_AFTER},
    503: {"Retry-After": RETRY_AFTER},
}
DESCRIPTIONS = {
    400: "The request is malformed or has invalid fields (named in `errors`)",
    401: "No valid access token, or the credentials sent are wrong",
    403: "The caller's account or role may not do this",
    404: "No such resource, or none the caller may know of",
    409: "The request conflicts with the resource's state",
    413: "The request body is too large",
    415: "The request body is not of the media type this operation takes",
    429: "Too many requests; see Retry-After",
    502: "A service behind the gateway failed",
    503: "A service behind the gateway is unavailable; see Retry-After",
    504: "A service behind the gateway did not answer in time",
}


def _link(operation_id: str, **parameters: str) -> dict:
    return {"operationId": operation_id, "parameters": parameters}


_ORGANISATION = "$response.body#/organisation_id"
_MY_ORGANISATION = "$response.body#/memberships/0/organisation_id"
_NEW_CONTACT = {"organisation_id": "$request.path.organisation_id", "contact_id": "$response.body#/contact_id"}
_FIRST_CONSENT = "$response.body#/consents/0/consent_id"
# What a client does next with what an answer names (OpenAPI links), by operationId and status.
# Only resources the same flow made are changed or removed through a link.
LINKS = {
    "createRegistration": {"201": {
        "GetOrganisation": _link("getOrganisation", organisation_id=_ORGANISATION),
        "AuthoriseOrganisation": _link("authoriseOrganisation", organisation_id=_ORGANISATION),
        "RejectOrganisation": _link("rejectOrganisation", organisation_id=_ORGANISATION),
        "ListOrganisationTransitions": _link("listOrganisationTransitions", organisation_id=_ORGANISATION)}},
    "getMe": {"200": {
        "GetOrganisation": _link("getOrganisation", organisation_id=_MY_ORGANISATION),
        "UpdateOrganisation": _link("updateOrganisation", organisation_id=_MY_ORGANISATION),
        "ListContacts": _link("listContacts", organisation_id=_MY_ORGANISATION),
        "CreateContact": _link("createContact", organisation_id=_MY_ORGANISATION),
        "GetOverviewReport": _link("getOverviewReport", organisation_id=_MY_ORGANISATION)}},
    "createContact": {"201": {
        "GetContact": _link("getContact", **_NEW_CONTACT),
        "UpdateContact": _link("updateContact", **_NEW_CONTACT),
        "DeleteContact": _link("deleteContact", **_NEW_CONTACT)}},
    "grantConsents": {"201": {
        "UpdateConsent": _link("updateConsent", consent_id=_FIRST_CONSENT),
        "RevokeConsent": _link("revokeConsent", consent_id=_FIRST_CONSENT)}},
}


class FieldErrorSchema(ma.Schema):
    field = ma.fields.String(required=True, metadata={"example": "organisation.visiting_address.postcode"})
    message = ma.fields.String(required=True)


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details; further members may be added (RFC 9457 extensions)."""

    class Meta:
        unknown = ma.INCLUDE

    type = ma.fields.String(required=True, metadata={"example": "urn:pe-insight:problem:validation-error"})
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String()
    errors = ma.fields.List(ma.fields.Nested(FieldErrorSchema), metadata={"description": "The fields at fault"})


def possible_errors(path: str, method: str, operation: dict) -> set[int]:
    statuses = {502, 503, 504}
    if "requestBody" in operation:
        statuses |= {400, 413, 415}
    if any(p.get("in") in ("query", "header") for p in operation.get("parameters", [])):
        statuses.add(400)
    if "{" in path:
        statuses.add(404)
    if operation.get("security"):
        statuses |= {401, 403}
    if (method, path) in RATE_LIMITED | PASSWORD_CHECKS:
        statuses.add(429)
    return statuses


def problem_response(status: int, description: str | None = None) -> dict:
    response = {"description": description or DESCRIPTIONS.get(status) or HTTPStatus(status).phrase,
                "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}}
    if status in HEADERS:
        response["headers"] = HEADERS[status]
    return response


class ErrorResponsesPlugin(BasePlugin):
    """Documents the errors each operation can answer as problem+json, keeping a route's own
    description of an error (its reason) where it gives one."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            responses.pop("default", None)
            for status, links in LINKS.get(operation.get("operationId"), {}).items():
                responses[status if status in responses else int(status)]["links"] = links
            declared = {int(code) for code in responses if str(code).isdigit() and int(code) >= 400}
            for status in sorted(declared | possible_errors(path, method, operation)):
                given = responses.pop(status, None) or responses.get(str(status))
                # A route's own words for the error; a reference (flask-smorest's generic one) has none.
                described = given.get("description") if isinstance(given, dict) and "$ref" not in given else None
                responses[str(status)] = problem_response(status, described)
