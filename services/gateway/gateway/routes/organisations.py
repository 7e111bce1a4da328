"""/api/v1/organisations: organisation data, the operator's decisions, and the public list."""
from __future__ import annotations

import marshmallow as ma
from flask import abort, current_app
from flask.views import MethodView
from marshmallow import validate

from gateway import convert
from gateway.api import Blueprint
from gateway.auth import authenticated
from gateway.permissions import (OPERATOR, PROFESSIONAL, is_visible_to_professionals, principal,
                                 require_kind, require_manager, require_manager_or_operator)
from gateway.schemas import (NAME, NO_NUL, PHONE_RULES, AddressSchema, Email, OrganisationSchema, PageQuerySchema,
                             PublicOrganisationSchema, ReasonSchema)
from pe.organisation.v1 import organisation_pb2

blueprint = Blueprint("organisations", __name__, url_prefix="/api/v1/organisations",
                      description="Employer organisations: data, authorisation, and the list professionals pick from.")
BEARER = [{"bearerAuth": []}]
STATUSES = ["pending", "authorised", "rejected", "suspended"]


class OrganisationQuerySchema(PageQuerySchema):
    status = ma.fields.String(validate=validate.OneOf(STATUSES),
                              metadata={"description": "Operator only; professionals always see authorised ones"})
    name = ma.fields.String(load_default="", validate=[validate.Length(max=200), NO_NUL])
    city = ma.fields.String(load_default="", validate=[validate.Length(max=100), NO_NUL])


class OrganisationPageSchema(ma.Schema):
    organisations = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "Full organisations for the operator; name and city for professionals",
        "items": {"oneOf": [{"$ref": "#/components/schemas/Organisation"},
                            {"$ref": "#/components/schemas/PublicOrganisation"}]}})
    next_page_token = ma.fields.String()


class OrganisationUpdateSchema(ma.Schema):
    name = ma.fields.String(validate=NAME)
    visiting_address = ma.fields.Nested(AddressSchema)
    phone = ma.fields.String(validate=PHONE_RULES)
    email = Email()


class TransitionSchema(ma.Schema):
    from_status = ma.fields.String(allow_none=True)
    to_status = ma.fields.String()
    actor_account_id = ma.fields.String(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    occur_time = ma.fields.String()


class TransitionListSchema(ma.Schema):
    transitions = ma.fields.List(ma.fields.Nested(TransitionSchema))


def call(method: str, message):
    return current_app.extensions["pe.backends"].call("organisation", method, message)


def fetch(organisation_id: str) -> organisation_pb2.Organisation:
    return call("GetOrganisation", organisation_pb2.GetOrganisationRequest(organisation_id=organisation_id)).organisation


@blueprint.route("")
class Organisations(MethodView):
    @authenticated
    @blueprint.doc(operationId="listOrganisations", security=BEARER)
    @blueprint.arguments(OrganisationQuerySchema, location="query")
    @blueprint.response(200, OrganisationPageSchema)
    def get(self, query):
        """Operator: every organisation, by status. Professional: authorised ones, by name and city."""
        caller = require_kind(OPERATOR, PROFESSIONAL)
        status = organisation_pb2.ORGANISATION_STATUS_AUTHORISED
        if caller.kind == OPERATOR:
            status = convert.enum_value(organisation_pb2.OrganisationStatus, query["status"]) \
                if query.get("status") else organisation_pb2.ORGANISATION_STATUS_UNSPECIFIED
        reply = call("ListOrganisations", organisation_pb2.ListOrganisationsRequest(
            status=status, name_query=query["name"], city=query["city"], page_size=query["page_size"],
            page_token=query["page_token"]))
        shape = convert.organisation if caller.kind == OPERATOR else convert.public_organisation
        return {"organisations": [shape(o) for o in reply.organisations],
                "next_page_token": reply.next_page_token}


@blueprint.route("/<uuid:organisation_id>")
class OrganisationResource(MethodView):
    @authenticated
    @blueprint.doc(operationId="getOrganisation", security=BEARER, responses={"200": {
        "description": "The organisation; to professionals, its organisation_id, name and city only",
        "content": {"application/json": {"schema": {"oneOf": [
            {"$ref": "#/components/schemas/Organisation"}, {"$ref": "#/components/schemas/PublicOrganisation"}]}}}}})
    @blueprint.response(200)
    @blueprint.alt_response(403, description="A contact without management rights")
    @blueprint.alt_response(404, description="No such organisation, or not visible to the caller")
    def get(self, organisation_id):
        """Administrator, second contact and operator: the organisation's data. Professional: name and city."""
        organisation_id = str(organisation_id)
        if principal().kind == PROFESSIONAL:
            organisation = fetch(organisation_id)
            if not is_visible_to_professionals(organisation):
                abort(404, description="no such organisation")
            return convert.public_organisation(organisation)
        require_manager_or_operator(organisation_id)
        return convert.organisation(fetch(organisation_id))

    @authenticated
    @blueprint.doc(operationId="updateOrganisation", security=BEARER)
    @blueprint.arguments(OrganisationUpdateSchema)
    @blueprint.response(200, OrganisationSchema)
    @blueprint.alt_response(403, description="Not the administrator or second contact")
    def patch(self, changes, organisation_id):
        """Administrator and second contact: change name, visiting address, phone or e-mail (the fields sent;
        an empty body changes nothing)."""
        organisation_id = str(organisation_id)
        require_manager(organisation_id)
        if not changes:  # as a merge patch: nothing to change, the organisation as it is
            return convert.organisation(fetch(organisation_id))
        address = changes.get("visiting_address")
        message = organisation_pb2.Organisation(
            organisation_id=organisation_id, name=changes.get("name", ""), phone=changes.get("phone", ""),
            email=changes.get("email", ""),
            visiting_address=organisation_pb2.Address(**address) if address else None)
        reply = call("UpdateOrganisation", organisation_pb2.UpdateOrganisationRequest(
            organisation=message, update_mask=sorted(changes), actor_account_id=principal().account_id))
        return convert.organisation(reply.organisation)


class OptionalReason(ma.Schema):
    reason = ma.fields.String(load_default="", validate=[validate.Length(max=1000), NO_NUL])


def _operator_decision(action: str, method: str, request_type, form_schema, refused_when: str, summary: str):
    """POST /organisations/{id}/<action>: one of the operator's decisions, recorded with who and why."""
    @authenticated
    @blueprint.doc(operationId=f"{action}Organisation", security=BEARER, summary=summary)
    @blueprint.arguments(form_schema)
    @blueprint.response(200, OrganisationSchema)
    @blueprint.alt_response(409, description=refused_when)
    def post(_view, form, organisation_id):
        require_kind(OPERATOR)
        reply = call(method, request_type(organisation_id=str(organisation_id),
                                          actor_account_id=principal().account_id, reason=form["reason"]))
        return convert.organisation(reply.organisation)

    view = type(f"{action.title()}Organisation", (MethodView,), {"post": post})
    blueprint.route(f"/<uuid:organisation_id>/{action}")(view)


_operator_decision("authorise", "AuthoriseOrganisation", organisation_pb2.AuthoriseOrganisationRequest,
                   OptionalReason, "Not pending or suspended",
                   "Operator: authorise a pending organisation, or re-authorise a suspended one")
_operator_decision("reject", "RejectOrganisation", organisation_pb2.RejectOrganisationRequest, ReasonSchema,
                   "Not pending", "Operator: reject a pending organisation, with a reason")
_operator_decision("suspend", "SuspendOrganisation", organisation_pb2.SuspendOrganisationRequest, ReasonSchema,
                   "Not authorised", "Operator: suspend an authorised organisation, with a reason; its consents end")


@blueprint.route("/<uuid:organisation_id>/transitions")
class Transitions(MethodView):
    @authenticated
    @blueprint.doc(operationId="listOrganisationTransitions", security=BEARER)
    @blueprint.response(200, TransitionListSchema)
    def get(self, organisation_id):
        """Operator, administrator and second contact: who changed the status, when and why."""
        organisation_id = str(organisation_id)
        require_manager_or_operator(organisation_id)
        reply = call("ListOrganisationTransitions",
                     organisation_pb2.ListOrganisationTransitionsRequest(organisation_id=organisation_id))
        return {"transitions": [convert.transition(t) for t in reply.transitions]}

