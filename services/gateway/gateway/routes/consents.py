"""/api/v1/consents: a professional grants, changes and revokes access to their own PE dossier.

There is deliberately no route by which an employer asks for consent: the employer asks its
people in person, and only the professional acts here.
"""
from __future__ import annotations

from datetime import date

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from marshmallow import validate

from gateway import convert
from gateway.api import Blueprint
from gateway.auth import authenticated
from gateway.permissions import PROFESSIONAL, require_kind
from gateway.schemas import IDEMPOTENCY_KEY, LATEST_END_DATE, PageQuerySchema, idempotency_key
from pe.consent.v1 import consent_pb2
from pe.identity.v1 import identity_pb2

blueprint = Blueprint("consents", __name__, url_prefix="/api/v1/consents",
                      description="A professional's consents: grant, change the end date, revoke, history.")
BEARER = [{"bearerAuth": []}]


class GrantSchema(ma.Schema):
    organisation_id = ma.fields.UUID(required=True)
    contact_ids = ma.fields.List(ma.fields.UUID(), required=True, validate=validate.Length(min=1, max=50))
    end_date = ma.fields.Date(load_default=None, allow_none=True, validate=validate.Range(
        max=LATEST_END_DATE, error="must be {max} or earlier; leave it out for access without end"), metadata={
        "description": f"Inclusive, Europe/Amsterdam, at most {LATEST_END_DATE}; leave out for access without end"})


class EndDateSchema(ma.Schema):
    end_date = ma.fields.Date(required=True, allow_none=True, validate=validate.Range(
        max=LATEST_END_DATE, error="must be {max} or earlier; null removes the end date"), metadata={
        "description": f"At most {LATEST_END_DATE}; null removes the end date"})


class ConsentSchema(ma.Schema):
    consent_id = ma.fields.String()
    organisation_id = ma.fields.String()
    contact_id = ma.fields.String()
    valid_from = ma.fields.String()
    end_date = ma.fields.String(allow_none=True)
    state = ma.fields.String(metadata={"enum": ["active", "revoked", "expired", "ended"]})
    end_time = ma.fields.String(allow_none=True)
    end_reason = ma.fields.String(allow_none=True)


class ConsentListSchema(ma.Schema):
    consents = ma.fields.List(ma.fields.Nested(ConsentSchema))
    next_page_token = ma.fields.String()


class ConsentQuerySchema(PageQuerySchema):
    include_ended = ma.fields.Boolean(load_default=False)


class ChangeSchema(ma.Schema):
    consent_id = ma.fields.String()
    kind = ma.fields.String(metadata={"enum": ["granted", "changed", "revoked", "expired", "ended"]})
    occur_time = ma.fields.String()
    end_date = ma.fields.String(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    organisation_id = ma.fields.String()
    contact_id = ma.fields.String()


class HistorySchema(ma.Schema):
    changes = ma.fields.List(ma.fields.Nested(ChangeSchema))
    next_page_token = ma.fields.String()


def consent(message: consent_pb2.Consent) -> dict:
    return {"consent_id": message.consent_id, "organisation_id": message.organisation_id,
            "contact_id": message.contact_id, "valid_from": convert.timestamp(message.valid_from),
            "end_date": convert.calendar_date(message.end_date) if message.HasField("end_date") else None,
            "state": convert.enum_word(consent_pb2.ConsentState, message.state),
            "end_time": convert.timestamp(message.end_time), "end_reason": message.end_reason or None}


def change(message: consent_pb2.ConsentChange) -> dict:
    return {"consent_id": message.consent_id, "kind": convert.enum_word(consent_pb2.ChangeKind, message.kind),
            "occur_time": convert.timestamp(message.occur_time),
            "end_date": convert.calendar_date(message.end_date) if message.HasField("end_date") else None,
            "reason": message.reason or None, "organisation_id": message.organisation_id,
            "contact_id": message.contact_id}


def call(service: str, method: str, message):
    return current_app.extensions["pe.backends"].call(service, method, message)


def _date(value: date | None):
    return convert.to_date(value.isoformat()) if value else None


@blueprint.route("")
class Consents(MethodView):
    @authenticated
    @blueprint.doc(operationId="listConsents", security=BEARER)
    @blueprint.arguments(ConsentQuerySchema, location="query")
    @blueprint.response(200, ConsentListSchema)
    def get(self, query):
        """The caller's consents: the valid ones, or with include_ended=true all of them."""
        caller = require_kind(PROFESSIONAL)
        reply = call("consent", "ListConsents", consent_pb2.ListConsentsRequest(
            professional_id=caller.account_id, include_ended=query["include_ended"],
            page_size=query["page_size"], page_token=query["page_token"]))
        return {"consents": [consent(c) for c in reply.consents], "next_page_token": reply.next_page_token}

    @authenticated
    @blueprint.doc(operationId="grantConsents", security=BEARER, parameters=[IDEMPOTENCY_KEY])
    @blueprint.arguments(GrantSchema)
    @blueprint.response(201, ConsentListSchema)
    @blueprint.alt_response(409, description="The organisation is not authorised")
    def post(self, form):
        """Grant one or more contacts of one authorised organisation access, optionally until a date.

        A contact that already holds a valid consent keeps it: the answer then holds that consent.
        """
        caller = require_kind(PROFESSIONAL)
        account = call("identity", "GetAccount", identity_pb2.GetAccountRequest(account_id=caller.account_id)).account
        reply = call("consent", "GrantConsents", consent_pb2.GrantConsentsRequest(
            professional_id=caller.account_id, pe_registration_number=account.pe_registration_number,
            organisation_id=str(form["organisation_id"]), contact_ids=[str(c) for c in form["contact_ids"]],
            end_date=_date(form["end_date"]), idempotency_key=idempotency_key()))
        return {"consents": [consent(c) for c in reply.consents], "next_page_token": ""}


@blueprint.route("/history")
class ConsentHistory(MethodView):
    @authenticated
    @blueprint.doc(operationId="listConsentHistory", security=BEARER)
    @blueprint.arguments(PageQuerySchema, location="query")
    @blueprint.response(200, HistorySchema)
    def get(self, query):
        """Every change to the caller's consents, oldest first: granted, changed, revoked, expired, ended."""
        caller = require_kind(PROFESSIONAL)
        reply = call("consent", "ListConsentHistory", consent_pb2.ListConsentHistoryRequest(
            professional_id=caller.account_id, page_size=query["page_size"], page_token=query["page_token"]))
        return {"changes": [change(c) for c in reply.changes], "next_page_token": reply.next_page_token}


@blueprint.route("/<uuid:consent_id>")
class ConsentResource(MethodView):
    @authenticated
    @blueprint.doc(operationId="updateConsent", security=BEARER)
    @blueprint.arguments(EndDateSchema)
    @blueprint.response(200, ConsentSchema)
    @blueprint.alt_response(409, description="The consent has already ended (revoked, expired or ended)")
    def patch(self, form, consent_id):
        """Extend, shorten or remove the end date (null: without end)."""
        caller = require_kind(PROFESSIONAL)
        reply = call("consent", "ChangeConsentEndDate", consent_pb2.ChangeConsentEndDateRequest(
            consent_id=str(consent_id), professional_id=caller.account_id, end_date=_date(form["end_date"])))
        return consent(reply.consent)


@blueprint.route("/<uuid:consent_id>/revoke")
class ConsentRevoke(MethodView):
    @authenticated
    @blueprint.doc(operationId="revokeConsent", security=BEARER)
    @blueprint.response(200, ConsentSchema)
    @blueprint.alt_response(409, description="The consent has already ended (revoked, expired or ended)")
    def post(self, consent_id):
        """Revoke from now on. What was seen while the consent held stays legitimately seen."""
        caller = require_kind(PROFESSIONAL)
        reply = call("consent", "RevokeConsent", consent_pb2.RevokeConsentRequest(
            consent_id=str(consent_id), professional_id=caller.account_id))
        return consent(reply.consent)
