"""/api/v1/organisations/{id}/reports/overview: the administrator's and second contact's report.

It covers every professional with a valid consent to any contact of the organisation and
nothing about anyone else. The gateway passes the consent log position it has seen, so a
report asked for after a revocation never includes that professional.
"""
from __future__ import annotations

import marshmallow as ma
from flask import Response, abort, current_app, g, stream_with_context
from flask.views import MethodView
from marshmallow import validate

from gateway.api import Blueprint
from gateway.auth import authenticated
from gateway.convert import language_value
from gateway.permissions import require_manager
from pe.consent.v1 import consent_pb2
from pe.organisation.v1 import organisation_pb2
from pe.reporting.v1 import reporting_pb2

blueprint = Blueprint("reports", __name__, url_prefix="/api/v1/organisations/<uuid:organisation_id>/reports",
                      description="The overview report of every consenting professional (PDF, XLSX, JSON).")
BEARER = [{"bearerAuth": []}]
FORMATS = {"json": reporting_pb2.REPORT_FORMAT_JSON, "pdf": reporting_pb2.REPORT_FORMAT_PDF,
           "xlsx": reporting_pb2.REPORT_FORMAT_XLSX}
LATEST = 2 ** 62


class ReportOrganisationSchema(ma.Schema):
    organisation_id = ma.fields.String(required=True)
    name = ma.fields.String(required=True, metadata={"description": "The name when the report was made"})


class ReportRowSchema(ma.Schema):
    professional_id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    pe_registration_number = ma.fields.String(required=True)
    period_start = ma.fields.Date(required=True, allow_none=True)
    period_end = ma.fields.Date(required=True, allow_none=True)
    points_earned = ma.fields.Float(required=True, allow_none=True)
    points_required = ma.fields.Float(required=True, allow_none=True)
    progress_percent = ma.fields.Float(required=True, allow_none=True)
    status = ma.fields.String(required=True, metadata={
        "enum": ["on_track", "behind", "dossier_submitted", "no_data"],
        "description": "on_track and scope are defined in the report's definitions"})
    renewal_submitted = ma.fields.Boolean(required=True, metadata={
        "description": "Whether the dossier to renew the PE registration was submitted"})
    renewal_submitted_date = ma.fields.Date(required=True, allow_none=True)
    consent_valid_until = ma.fields.Date(required=True, allow_none=True, metadata={
        "description": "The end date of the latest-ending valid consent; null when one has no end date"})
    consent_without_end_date = ma.fields.Boolean(required=True)


class ReportSummarySchema(ma.Schema):
    professionals = ma.fields.Integer(required=True)
    on_track = ma.fields.Integer(required=True)
    behind = ma.fields.Integer(required=True)
    dossier_submitted = ma.fields.Integer(required=True)
    no_data = ma.fields.Integer(required=True)


class ReportDefinitionsSchema(ma.Schema):
    on_track = ma.fields.String(required=True)
    scope = ma.fields.String(required=True)


class OverviewReportSchema(ma.Schema):
    """The overview report as JSON (format=json): only professionals with a valid consent to a contact
    of the organisation; dates ISO 8601 and numbers plain, whatever the language."""
    report_id = ma.fields.String(required=True, metadata={"description": "As in the X-Report-Id header"})
    organisation = ma.fields.Nested(ReportOrganisationSchema, required=True)
    generate_time = ma.fields.DateTime(required=True)
    log_position = ma.fields.Integer(required=True, metadata={
        "description": "The consent log position the report reflects, as in X-Consent-Log-Position"})
    language = ma.fields.String(required=True, metadata={"enum": ["nl", "en"]})
    professionals = ma.fields.List(ma.fields.Nested(ReportRowSchema), required=True)
    summary = ma.fields.Nested(ReportSummarySchema, required=True)
    definitions = ma.fields.Nested(ReportDefinitionsSchema, required=True)


REPORT_HEADERS = {
    "X-Report-Id": {"description": "The report's id, as the professionals' access logs name it",
                    "schema": {"type": "string"}},
    "X-Consent-Log-Position": {"description": "The consent log position the report reflects",
                               "schema": {"type": "integer"}},
    "Content-Disposition": {"description": "attachment, with the file's name", "schema": {"type": "string"}},
}


class ReportQuerySchema(ma.Schema):
    format = ma.fields.String(load_default="pdf", validate=validate.OneOf(sorted(FORMATS)))
    language = ma.fields.String(load_default="nl", validate=validate.OneOf(["nl", "en"]))


def _backends():
    return current_app.extensions["pe.backends"]


@blueprint.route("/overview")
class OverviewReport(MethodView):
    @authenticated
    @blueprint.doc(operationId="getOverviewReport", security=BEARER, responses={200: {
        "description": "The report, in the format asked for", "headers": REPORT_HEADERS, "content": {
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {"schema": OverviewReportSchema},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                "schema": {"type": "string", "format": "binary"}}}}})
    @blueprint.arguments(ReportQuerySchema, location="query")
    @blueprint.alt_response(409, description="The organisation is not authorised")
    @blueprint.alt_response(503, description="The report data is catching up; try again after Retry-After")
    def get(self, query, organisation_id):
        """Download the overview report, streamed, as pdf (default), xlsx or json."""
        organisation_id = str(organisation_id)
        membership = require_manager(organisation_id)
        if membership.organisation_status != organisation_pb2.ORGANISATION_STATUS_AUTHORISED:
            abort(409, description="only an authorised organisation can download reports")
        head = _backends().call("consent", "ListConsentEvents", consent_pb2.ListConsentEventsRequest(
            after_position=LATEST, page_size=1)).head_position
        stream = _backends().stub("reporting").GenerateOverviewReport(reporting_pb2.GenerateOverviewReportRequest(
            organisation_id=organisation_id, format=FORMATS[query["format"]],
            requested_by_account_id=g.principal.account_id, min_log_position=head,
            language=language_value(query["language"])), timeout=300)
        header = next(stream).header  # errors surface here, before any byte is sent

        def body():
            for part in stream:
                yield part.chunk

        response = Response(stream_with_context(body()), mimetype=header.content_type)
        response.headers["Content-Disposition"] = f'attachment; filename="{header.filename}"'
        response.headers["X-Consent-Log-Position"] = str(header.log_position)
        response.headers["X-Report-Id"] = header.report_id
        return response
