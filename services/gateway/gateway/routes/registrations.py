"""/api/v1/registrations: an employer applies for an account (public)."""
from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask.views import MethodView

from gateway import convert
from gateway.api import Blueprint
from gateway.schemas import (IDEMPOTENCY_KEY, LANGUAGE, NAME, PHONE_RULES, USERNAME, Email, NewOrganisationSchema,
                             idempotency_key)
from pe.organisation.v1 import organisation_pb2

blueprint = Blueprint("registrations", __name__, url_prefix="/api/v1/registrations",
                      description="Employers apply for an employer account.")


class ApplicantSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=NAME)
    email = Email(required=True)
    phone = ma.fields.String(required=True, validate=PHONE_RULES)
    username = ma.fields.String(required=True, validate=USERNAME)
    language = ma.fields.String(load_default="nl", validate=LANGUAGE)


class RegistrationSchema(ma.Schema):
    organisation = ma.fields.Nested(NewOrganisationSchema, required=True)
    applicant = ma.fields.Nested(ApplicantSchema, required=True)


class RegistrationResultSchema(ma.Schema):
    organisation_id = ma.fields.String()
    status = ma.fields.String()
    username = ma.fields.String()
    detail = ma.fields.String()


def _request(form: dict, key: str) -> organisation_pb2.RegisterOrganisationRequest:
    organisation, applicant = form["organisation"], form["applicant"]
    return organisation_pb2.RegisterOrganisationRequest(
        organisation=organisation_pb2.Organisation(
            name=organisation["name"], chamber_of_commerce_number=organisation["chamber_of_commerce_number"],
            visiting_address=organisation_pb2.Address(**organisation["visiting_address"]),
            phone=organisation["phone"], email=organisation["email"]),
        applicant=organisation_pb2.Applicant(
            name=applicant["name"], email=applicant["email"], phone=applicant["phone"],
            username=applicant["username"], language=convert.language_value(applicant["language"])),
        idempotency_key=key)


@blueprint.route("")
class Registrations(MethodView):
    @blueprint.doc(operationId="createRegistration", parameters=[IDEMPOTENCY_KEY])
    @blueprint.arguments(RegistrationSchema)
    @blueprint.response(201, RegistrationResultSchema)
    @blueprint.alt_response(409, description="Chamber of Commerce number or username already in use")
    def post(self, form):
        """Register an organisation and its administrator; the administrator gets a password-setup mail.

        Send an Idempotency-Key header to make a retry safe: a repeat answers the first result.
        """
        reply = current_app.extensions["pe.backends"].call("organisation", "RegisterOrganisation",
                                                           _request(form, idempotency_key()))
        return {"organisation_id": reply.organisation.organisation_id,
                "status": convert.enum_word(organisation_pb2.OrganisationStatus, reply.organisation.status),
                "username": form["applicant"]["username"],
                "detail": "A mail with a link to set the password is on its way to the applicant."}
