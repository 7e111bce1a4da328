"""gRPC servicer of the reporting service: proto in, use case, proto out.

Bad input answers INVALID_ARGUMENT with the field violations; absent (or not for this reader)
NOT_FOUND; a read model that cannot catch up in time, or a service it needs that is down,
UNAVAILABLE with trailing metadata ('retry-after', seconds); an organisation that is not
authorised FAILED_PRECONDITION. Anything unforeseen is logged and answers INTERNAL, never UNKNOWN.
"""
from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import date, datetime, timezone

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy.exc import OperationalError

from pe.common.v1 import common_pb2
from pe.reporting.v1 import reporting_pb2, reporting_pb2_grpc
from reporting import handlers
from reporting.domain import InvalidInput, Language, NotFound, Progress, ReportFormat
from svckit import rpc_errors
from svckit.logs import get_logger

log = get_logger(__name__)

CHUNK_BYTES = 64 * 1024
_FORMATS = {reporting_pb2.REPORT_FORMAT_JSON: ReportFormat.JSON, reporting_pb2.REPORT_FORMAT_PDF: ReportFormat.PDF,
            reporting_pb2.REPORT_FORMAT_XLSX: ReportFormat.XLSX}
_LANGUAGES = {common_pb2.LANGUAGE_UNSPECIFIED: Language.NL, common_pb2.LANGUAGE_NL: Language.NL,
              common_pb2.LANGUAGE_EN: Language.EN}
_KINDS = {"dossier_read": reporting_pb2.ACCESS_KIND_DOSSIER_READ,
          "dossier_listed": reporting_pb2.ACCESS_KIND_DOSSIER_LISTED,
          "report_inclusion": reporting_pb2.ACCESS_KIND_REPORT_INCLUSION}


class _Status(grpc.Status):
    def __init__(self, code, details, trailing_metadata):
        self.code, self.details, self.trailing_metadata = code, details, trailing_metadata


def _with_retry_after(status: grpc.Status, seconds: int) -> grpc.Status:
    return _Status(status.code, status.details,
                   tuple(status.trailing_metadata or ()) + (("retry-after", str(seconds)),))


def status_of(error: Exception) -> grpc.Status:
    """The gRPC status a use case's exception answers with."""
    if isinstance(error, InvalidInput):
        return rpc_errors.invalid_argument(error.violations)
    if isinstance(error, NotFound):
        return rpc_errors.failure(grpc.StatusCode.NOT_FOUND, "NOT_FOUND", str(error) or "not found")
    if isinstance(error, handlers.Unavailable):
        return _with_retry_after(rpc_errors.failure(grpc.StatusCode.UNAVAILABLE, error.reason, str(error)),
                                 error.retry_after)
    if isinstance(error, OperationalError):  # the database went away: as the other services, try again
        return _with_retry_after(rpc_errors.failure(grpc.StatusCode.UNAVAILABLE, "DATABASE_UNAVAILABLE",
                                                    "the database did not answer"), 2)
    if isinstance(error, handlers.OrganisationNotAuthorised):
        return rpc_errors.failure(grpc.StatusCode.FAILED_PRECONDITION, "ORGANISATION_NOT_AUTHORISED",
                                  "the organisation is not authorised; it cannot download reports")
    log.exception("unexpected failure", error_type=type(error).__name__)
    return rpc_errors.failure(grpc.StatusCode.INTERNAL, "INTERNAL", "the reporting service failed")


def _unary(method):
    @functools.wraps(method)
    def call(self, request, context):
        try:
            return method(self, request, context)
        except Exception as error:  # mapped to a status below; abort must happen outside this block
            status = status_of(error)
        context.abort_with_status(status)
    return call


def _date(value: date | None) -> common_pb2.Date | None:
    return common_pb2.Date(year=value.year, month=value.month, day=value.day) if value else None


def _timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def progress_message(record: Progress, update_time: datetime | None = None,
                     with_activities: bool = True) -> reporting_pb2.Progress:
    message = reporting_pb2.Progress(
        pe_registration_number=record.pe_registration_number, period_start=_date(record.period_start),
        period_end=_date(record.period_end), points_required=record.points_required,
        points_earned=record.points_earned, renewal_submitted_date=_date(record.renewal_submitted_date),
        update_time=_timestamp(update_time))
    if with_activities:
        message.activities.extend(reporting_pb2.LearningActivity(
            title=a.title, provider=a.provider, completion_date=_date(a.completion_date), points=a.points,
            category=a.category) for a in record.activities)
    return message


def dossier_message(dossier: handlers.Dossier, with_activities: bool) -> reporting_pb2.Dossier:
    progress = (progress_message(dossier.progress, dossier.progress_update_time, with_activities)
                if dossier.progress else reporting_pb2.Progress(pe_registration_number=dossier.pe_registration_number))
    return reporting_pb2.Dossier(professional_id=dossier.professional_id, display_name=dossier.display_name,
                                 progress=progress, consent_id=dossier.consent_id,
                                 consent_end_date=_date(dossier.consent_end_date))


def _date_text(parent, name: str) -> str | None:
    """A Date field as ISO text for the checks: None when unset, something unparseable when invalid."""
    if not parent.HasField(name):
        return None
    value = getattr(parent, name)
    try:
        return date(value.year, value.month, value.day).isoformat()
    except ValueError:
        return f"{value.year}-{value.month}-{value.day}?"


def progress_record(message: reporting_pb2.Progress) -> tuple[dict, datetime | None]:
    """A Progress message as the raw record the domain checks, and its update time."""
    record = {
        "pe_registration_number": message.pe_registration_number,
        "period_start": _date_text(message, "period_start"),
        "period_end": _date_text(message, "period_end"),
        "points_required": message.points_required, "points_earned": message.points_earned,
        "renewal_submitted_date": _date_text(message, "renewal_submitted_date"),
        "activities": [{"title": a.title, "provider": a.provider,
                        "completion_date": _date_text(a, "completion_date"), "points": a.points,
                        "category": a.category} for a in message.activities],
    }
    as_of = message.update_time.ToDatetime(tzinfo=timezone.utc) if message.HasField("update_time") else None
    return record, as_of


class ReportingService(reporting_pb2_grpc.ReportingServiceServicer):
    """The v1 API of the reporting service."""

    def __init__(self, deps: handlers.Deps):
        self._deps = deps

    @_unary
    def GetDossier(self, request, context):
        dossier = handlers.get_dossier(handlers.DossierRequest(
            professional_id=request.professional_id, reader_account_id=request.reader_account_id,
            reader_contact_id=request.reader_contact_id, consent_id=request.consent_id), self._deps)
        return reporting_pb2.GetDossierResponse(dossier=dossier_message(dossier, with_activities=True))

    @_unary
    def ListDossiers(self, request, context):
        found, token = handlers.list_dossiers(request.contact_id, request.page_size, request.page_token,
                                              self._deps)
        return reporting_pb2.ListDossiersResponse(dossiers=[reporting_pb2.Dossier(
            professional_id=professional_id, consent_id=consent.consent_id,
            consent_end_date=_date(consent.end_date)) for professional_id, consent in found], next_page_token=token)

    @_unary
    def BatchGetDossiers(self, request, context):
        dossiers = handlers.batch_get_dossiers(handlers.ListingRequest(
            reader_account_id=request.reader_account_id, reader_contact_id=request.reader_contact_id,
            grants=tuple((g.professional_id, g.consent_id) for g in request.grants)), self._deps)
        return reporting_pb2.BatchGetDossiersResponse(
            dossiers=[dossier_message(d, with_activities=False) for d in dossiers])

    @_unary
    def GetOwnDossier(self, request, context):
        dossier = handlers.get_own_dossier(request.professional_id, request.pe_registration_number, self._deps)
        return reporting_pb2.GetOwnDossierResponse(dossier=dossier_message(dossier, with_activities=True))

    @_unary
    def IngestProgress(self, request, context):
        result = handlers.ingest_progress([progress_record(r) for r in request.records], self._deps)
        Rejection = reporting_pb2.IngestProgressResponse.Rejection
        return reporting_pb2.IngestProgressResponse(
            stored=result.stored, unchanged=result.unchanged,
            rejections=[Rejection(index=index, reason=reason) for index, reason in result.rejections])

    @_unary
    def ListAccessLog(self, request, context):
        entries, token = handlers.list_access_log(request.professional_id, request.page_size,
                                                  request.page_token, self._deps)
        return reporting_pb2.ListAccessLogResponse(entries=[reporting_pb2.AccessLogEntry(
            kind=_KINDS[e.kind], occur_time=_timestamp(e.occurred_at), reader_account_id=e.reader_account_id,
            organisation_id=e.organisation_id, consent_id=e.consent_id or "", report_id=e.report_id or "")
            for e in entries], next_page_token=token)

    def GenerateOverviewReport(self, request, context) -> Iterator[reporting_pb2.GenerateOverviewReportResponse]:
        try:
            generated = handlers.generate_report(self._report_request(request), self._deps)
        except Exception as error:
            status = status_of(error)
        else:
            status = None
        if status is not None:
            context.abort_with_status(status)
        report = generated.report
        yield reporting_pb2.GenerateOverviewReportResponse(header=reporting_pb2.ReportHeader(
            report_id=report.report_id, content_type=generated.content_type, filename=generated.filename,
            log_position=report.log_position, professional_count=len(report.rows),
            generate_time=_timestamp(report.generated_at)))
        try:
            for piece in generated.content:
                for start in range(0, len(piece), CHUNK_BYTES):
                    if not context.is_active():
                        log.info("report download abandoned by the caller", report_id=report.report_id)
                        return
                    yield reporting_pb2.GenerateOverviewReportResponse(chunk=piece[start:start + CHUNK_BYTES])
        except Exception as error:
            status = status_of(error)
        if status is not None:
            context.abort_with_status(status)

    @staticmethod
    def _report_request(request) -> handlers.ReportRequest:
        violations = handlers.report_violations(request.organisation_id, request.requested_by_account_id,
                                                request.min_log_position)
        report_format = _FORMATS.get(request.format)
        if report_format is None:
            violations["format"] = "choose REPORT_FORMAT_JSON, REPORT_FORMAT_PDF or REPORT_FORMAT_XLSX"
        language = _LANGUAGES.get(request.language)
        if language is None:
            violations["language"] = "choose LANGUAGE_NL or LANGUAGE_EN"
        if violations:
            raise InvalidInput(violations)
        return handlers.ReportRequest(organisation_id=request.organisation_id, report_format=report_format,
                                      requested_by_account_id=request.requested_by_account_id,
                                      min_log_position=request.min_log_position, language=language)
