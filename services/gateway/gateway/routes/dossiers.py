"""/api/v1/dossiers: contacts list and open the dossiers granted to them, professionals open their
own and see who read it.

Access is checked live with the consent service on every request, the list's included, so a
revoked or expired consent stops access on the very next request. Every dossier a contact is
shown, listed or opened, is in the professional's access log.
"""
from __future__ import annotations

import base64
import binascii
import json

import marshmallow as ma
from flask import abort, current_app, g
from flask.views import MethodView

from gateway import convert
from gateway.api import Blueprint
from gateway.auth import authenticated
from gateway.permissions import EMPLOYER_CONTACT, PROFESSIONAL, memberships, require_kind
from gateway.schemas import PageQuerySchema, PageToken
from pe.consent.v1 import consent_pb2
from pe.identity.v1 import identity_pb2
from pe.organisation.v1 import organisation_pb2
from pe.reporting.v1 import reporting_pb2

blueprint = Blueprint("dossiers", __name__, url_prefix="/api/v1",
                      description="PE dossiers: read by contacts under a valid consent and by their professional, "
                                  "and who saw them.")
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
    consent_id = ma.fields.String(allow_none=True, metadata={
        "description": "The consent the reader holds; null when professionals read their own"})
    consent_end_date = ma.fields.String(allow_none=True)
    progress = ma.fields.Nested(ProgressSchema, allow_none=True)


class DossierListSchema(ma.Schema):
    dossiers = ma.fields.List(ma.fields.Nested(DossierSchema), metadata={
        "description": "Without activities; a page may hold fewer than page_size, go on while next_page_token "
                       "is not empty"})
    next_page_token = ma.fields.String()


class DossierPageToken(PageToken):
    """Where the next page of a contact's list starts: (contact id, reporting's own page token)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not text:
            return None
        try:
            place = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            place = None
        if not (isinstance(place, list) and len(place) == 2 and all(isinstance(p, str) for p in place)):
            raise ma.ValidationError("is not a token this list handed out")
        return tuple(place)


def encode_page(contact_id: str, inner_token: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([contact_id, inner_token]).encode()).decode().rstrip("=")


class DossierListQuerySchema(PageQuerySchema):
    page_token = DossierPageToken()


class AccessEntrySchema(ma.Schema):
    kind = ma.fields.String(metadata={"enum": ["dossier_read", "dossier_listed", "report_inclusion"]})
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
            "consent_id": message.consent_id or None,
            "consent_end_date": convert.calendar_date(message.consent_end_date),
            "progress": progress(message.progress)}


def call(service: str, method: str, message):
    return current_app.extensions["pe.backends"].call(service, method, message)


def _active_memberships():
    return [m for m in memberships() if m.organisation_status == organisation_pb2.ORGANISATION_STATUS_AUTHORISED]


def _listed_of(membership: organisation_pb2.Membership, page_size: int, token: str) -> tuple[list[dict], str]:
    """One page of a contact's list: candidates from reporting's read model, kept only if consent
    allows them now, read (and logged as listed) by reporting. Three calls, whatever the page holds."""
    contact_id = membership.contact_id
    candidates = call("reporting", "ListDossiers", reporting_pb2.ListDossiersRequest(
        contact_id=contact_id, page_size=page_size, page_token=token))
    shown = []
    if candidates.dossiers:
        allowed = call("consent", "BatchCheckAccess", consent_pb2.BatchCheckAccessRequest(
            contact_id=contact_id, professional_ids=[d.professional_id for d in candidates.dossiers])).consents
        if allowed:
            shown = call("reporting", "BatchGetDossiers", reporting_pb2.BatchGetDossiersRequest(
                reader_account_id=g.principal.account_id, reader_contact_id=contact_id,
                grants=[reporting_pb2.DossierGrant(professional_id=c.professional_id, consent_id=c.consent_id)
                        for c in allowed])).dossiers
    return [dossier(d) for d in shown], candidates.next_page_token


def _list_page(page_size: int, start: tuple[str, str] | None) -> tuple[list[dict], tuple[str, str] | None]:
    """A page of the caller's dossiers over its memberships, by contact id: each membership's list
    in reporting's pages, going on to the next membership while the page has room."""
    contacts = sorted(_active_memberships(), key=lambda m: m.contact_id)
    start_contact, start_token = start or ("", "")
    found: list[dict] = []
    for index, membership in enumerate(contacts):
        if membership.contact_id < start_contact:  # listed on earlier pages
            continue
        token = start_token if membership.contact_id == start_contact else ""
        shown, next_token = _listed_of(membership, page_size - len(found), token)
        found += shown
        if next_token:
            return found, (membership.contact_id, next_token)
        if len(found) >= page_size:
            following = contacts[index + 1:index + 2]
            return found, ((following[0].contact_id, "") if following else None)
    return found, None


@blueprint.route("/dossiers")
class Dossiers(MethodView):
    @authenticated
    @blueprint.doc(operationId="listDossiers", security=BEARER)
    @blueprint.arguments(DossierListQuerySchema, location="query")
    @blueprint.response(200, DossierListSchema)
    def get(self, query):
        """Contacts: the professionals who granted the caller access, in pages.

        Each is checked live with the consent service, and shown with PE registration number,
        period, points and renewal (no activities); each one shown is logged in that professional's
        access log as `dossier_listed`. A page may hold fewer than page_size; go on while
        next_page_token is not empty.
        """
        require_kind(EMPLOYER_CONTACT)
        found, following = _list_page(query["page_size"], query["page_token"] or None)
        return {"dossiers": found, "next_page_token": encode_page(*following) if following else ""}


def _own_dossier(professional_id: str) -> dict:
    """A professional's own dossier; their reads of it are not logged (the log shows what others saw)."""
    account = call("identity", "GetAccount", identity_pb2.GetAccountRequest(account_id=professional_id)).account
    reply = call("reporting", "GetOwnDossier", reporting_pb2.GetOwnDossierRequest(
        professional_id=professional_id, pe_registration_number=account.pe_registration_number))
    return dossier(reply.dossier)


@blueprint.route("/dossiers/<uuid:professional_id>")
class DossierResource(MethodView):
    @authenticated
    @blueprint.doc(operationId="getDossier", security=BEARER)
    @blueprint.response(200, DossierSchema)
    @blueprint.alt_response(404, description="No dossier is granted to the caller, or it is another professional's "
                                             "(absent and refused look alike)")
    def get(self, professional_id):
        """A professional's dossier, with activities: granted to the caller, or the caller's own.

        A contact reads it after a live access check, and the read is logged for the professional
        (`dossier_read`). A professional reads their own (not logged; consent_id and
        consent_end_date are null) and no one else's: 404, as for a contact without consent.
        """
        caller = require_kind(EMPLOYER_CONTACT, PROFESSIONAL)
        professional_id = str(professional_id)
        if caller.kind == PROFESSIONAL:
            if professional_id != caller.account_id:
                abort(404, description="no dossier is granted to you for this professional")
            return _own_dossier(professional_id)
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
    @blueprint.doc(operationId="listAccessLog", security=BEARER)
    @blueprint.arguments(PageQuerySchema, location="query")
    @blueprint.response(200, AccessLogSchema)
    def get(self, query):
        """Professional: who read my dossier or saw it in their list, and which overview reports included me."""
        caller = require_kind(PROFESSIONAL)
        reply = call("reporting", "ListAccessLog", reporting_pb2.ListAccessLogRequest(
            professional_id=caller.account_id, page_size=query["page_size"], page_token=query["page_token"]))
        kind = reporting_pb2.AccessKind
        return {"entries": [{
            "kind": convert.enum_word(kind, e.kind), "occur_time": convert.timestamp(e.occur_time),
            "reader_account_id": e.reader_account_id or None, "organisation_id": e.organisation_id or None,
            "consent_id": e.consent_id or None, "report_id": e.report_id or None} for e in reply.entries],
            "next_page_token": reply.next_page_token}
