"""/api/v1/dossiers: contacts open the dossiers granted to them; professionals see their own read log.

Access is checked live with the consent service on every request, so a revoked or expired
consent stops access on the very next request.
"""
from __future__ import annotations

import marshmallow as ma
from flask import abort, current_app, g
from flask.views import MethodView

from gateway import convert
from gateway.api import Blueprint
from gateway.auth import authenticated
from gateway.permissions import EMPLOYER_CONTACT, PROFESSIONAL, memberships, require_kind
from gateway.schemas import PageQuerySchema
from pe.consent.v1 import consent_pb2
from pe.organisation.v1 import organisation_pb2
from pe.reporting.v1 import reporting_pb2

blueprint = Blueprint("dossiers", __name__, url_prefix="/api/v1",
                      description="PE dossiers, read by contacts under a valid consent, and who read them.")
BEARER = [{"bearerAuth": []}]


class ActivitySchema(ma.Schema):
    title = ma.fields.String()
    provider = ma.fields.String()
    completion_date = ma.fields.String(allow_none=True)
    points = ma.fields.Float()
    category = ma.fields.String()


class ProgressSchema(ma.Schema):
    pe_registration_number = ma.fields.String()
    period_start = ma.fields.String(allow_none=True)
    period_end = ma.fields.String(allow_none=True)
    points_required = ma.fields.Float()
    points_earned = ma.fields.Float()
    renewal_submitted_date = ma.fields.String(allow_none=True)
    activities = ma.fields.List(ma.fields.Nested(ActivitySchema))


class DossierSchema(ma.Schema):
    professional_id = ma.fields.String()
    display_name = ma.fields.String()
    consent_id = ma.fields.String()
    consent_end_date = ma.fields.String(allow_none=True)
    progress = ma.fields.Nested(ProgressSchema, allow_none=True)


class DossierListSchema(ma.Schema):
    dossiers = ma.fields.List(ma.fields.Nested(DossierSchema))


class AccessEntrySchema(ma.Schema):
    kind = ma.fields.String(metadata={"enum": ["dossier_read", "report_inclusion"]})
    occur_time = ma.fields.String()
    reader_account_id = ma.fields.String(allow_none=True)
    organisation_id = ma.fields.String(allow_none=True)
    consent_id = ma.fields.String(allow_none=True)
    report_id = ma.fields.String(allow_none=True)


class AccessLogSchema(ma.Schema):
    entries = ma.fields.List(ma.fields.Nested(AccessEntrySchema))
    next_page_token = ma.fields.String()


def progress(message: reporting_pb2.Progress) -> dict | None:
    if not message.pe_registration_number:
        return None
    return {"pe_registration_number": message.pe_registration_number,
            "period_start": convert.calendar_date(message.period_start),
            "period_end": convert.calendar_date(message.period_end),
            "points_required": message.points_required, "points_earned": message.points_earned,
            "renewal_submitted_date": convert.calendar_date(message.renewal_submitted_date),
            "activities": [{"title": a.title, "provider": a.provider,
                            "completion_date": convert.calendar_date(a.completion_date), "points": a.points,
                            "category": a.category} for a in message.activities]}


def dossier(message: reporting_pb2.Dossier) -> dict:
    return {"professional_id": message.professional_id, "display_name": message.display_name,
            "consent_id": message.consent_id, "consent_end_date": convert.calendar_date(message.consent_end_date),
            "progress": progress(message.progress)}


def call(service: str, method: str, message):
    return current_app.extensions["pe.backends"].call(service, method, message)


def _active_memberships():
    return [m for m in memberships() if m.organisation_status == organisation_pb2.ORGANISATION_STATUS_AUTHORISED]


@blueprint.route("/dossiers")
class Dossiers(MethodView):
    @authenticated
    @blueprint.doc(security=BEARER)
    @blueprint.response(200, DossierListSchema)
    def get(self):
        """The professionals who granted the caller (as contact of an authorised organisation) access."""
        require_kind(EMPLOYER_CONTACT)
        found = []
        for membership in _active_memberships():
            reply = call("reporting", "ListDossiers", reporting_pb2.ListDossiersRequest(
                contact_id=membership.contact_id, page_size=500))
            found += [dossier(d) for d in reply.dossiers]
        return {"dossiers": found}


@blueprint.route("/dossiers/<uuid:professional_id>")
class DossierResource(MethodView):
    @authenticated
    @blueprint.doc(security=BEARER)
    @blueprint.response(200, DossierSchema)
    @blueprint.alt_response(404, description="No dossier granted to the caller (absent and refused look alike)")
    def get(self, professional_id):
        """A professional's dossier, after a live access check; the read is logged for the professional."""
        require_kind(EMPLOYER_CONTACT)
        professional_id = str(professional_id)
        for membership in _active_memberships():
            check = call("consent", "CheckAccess", consent_pb2.CheckAccessRequest(
                contact_id=membership.contact_id, professional_id=professional_id))
            if check.allowed:
                reply = call("reporting", "GetDossier", reporting_pb2.GetDossierRequest(
                    professional_id=professional_id, reader_account_id=g.principal.account_id,
                    reader_contact_id=membership.contact_id, consent_id=check.consent.consent_id))
                return dossier(reply.dossier)
        abort(404, description="no dossier is granted to you for this professional")


@blueprint.route("/me/access-log")
class AccessLog(MethodView):
    @authenticated
    @blueprint.doc(security=BEARER)
    @blueprint.arguments(PageQuerySchema, location="query")
    @blueprint.response(200, AccessLogSchema)
    def get(self, query):
        """Professional: who read my dossier, and which overview reports included me."""
        caller = require_kind(PROFESSIONAL)
        reply = call("reporting", "ListAccessLog", reporting_pb2.ListAccessLogRequest(
            professional_id=caller.account_id, page_size=query["page_size"], page_token=query["page_token"]))
        kind = reporting_pb2.AccessKind
        return {"entries": [{
            "kind": convert.enum_word(kind, e.kind), "occur_time": convert.timestamp(e.occur_time),
            "reader_account_id": e.reader_account_id or None, "organisation_id": e.organisation_id or None,
            "consent_id": e.consent_id or None, "report_id": e.report_id or None} for e in reply.entries],
            "next_page_token": reply.next_page_token}
