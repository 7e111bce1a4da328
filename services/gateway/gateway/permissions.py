"""Who may do what, per the permission table of the domain, checked live on every request.

Memberships come from the organisation service on each request (never from the token), so a
removed contact or a suspended organisation loses its rights on the very next request.
Where telling 'forbidden' from 'absent' would reveal that something exists, the answer is 404.
"""
from __future__ import annotations

from flask import abort, current_app, g

from gateway.auth import Principal
from pe.organisation.v1 import organisation_pb2

OPERATOR = "operator"
PROFESSIONAL = "professional"
EMPLOYER_CONTACT = "employer_contact"

MANAGER_ROLES = (organisation_pb2.CONTACT_ROLE_ADMINISTRATOR, organisation_pb2.CONTACT_ROLE_SECOND_CONTACT)


def principal() -> Principal:
    return g.principal


def require_kind(*kinds: str) -> Principal:
    caller = principal()
    if caller.kind not in kinds:
        abort(403, description="your account may not do this")
    return caller


def memberships() -> list[organisation_pb2.Membership]:
    """The caller's memberships, asked once per request."""
    if "memberships" not in g:
        caller = principal()
        if caller.kind != EMPLOYER_CONTACT:
            g.memberships = []
        else:
            reply = current_app.extensions["pe.backends"].call(
                "organisation", "ListMemberships", organisation_pb2.ListMembershipsRequest(account_id=caller.account_id))
            g.memberships = list(reply.memberships)
    return g.memberships


def membership_in(organisation_id: str) -> organisation_pb2.Membership | None:
    return next((m for m in memberships() if m.organisation_id == organisation_id), None)


def require_manager(organisation_id: str) -> organisation_pb2.Membership:
    """Administrator or second contact of this organisation.

    Its other contacts, the operator and professionals get 403; employer contacts of other
    organisations get 404, as they have no business knowing which organisations exist.
    """
    membership = membership_in(organisation_id)
    if membership is not None and membership.role in MANAGER_ROLES:
        return membership
    if membership is not None or principal().kind != EMPLOYER_CONTACT:
        abort(403, description="only the administrator and the second contact may do this")
    abort(404, description="no such organisation")


def require_manager_or_operator(organisation_id: str) -> None:
    if principal().kind != OPERATOR:
        require_manager(organisation_id)


def is_visible_to_professionals(organisation: organisation_pb2.Organisation) -> bool:
    return organisation.status == organisation_pb2.ORGANISATION_STATUS_AUTHORISED
