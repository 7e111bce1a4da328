"""gRPC servicer of the consent service: proto in, use case, proto out.

Bad input answers INVALID_ARGUMENT with a BadRequest naming each field; a refused rule answers
with an ErrorInfo reason; nothing a caller sends can end in UNKNOWN.
"""
from __future__ import annotations

import base64
import binascii
import functools
import json
import re
import uuid
from datetime import date, datetime, timezone

import grpc
from sqlalchemy.exc import OperationalError

from pe.consent.v1 import consent_pb2, consent_pb2_grpc
from svckit import rpc_errors
from svckit.logs import get_logger

from consent import handlers
from consent.clients import DirectoryUnavailable
from consent.domain import (LATEST_END_DATE, MAX_CONTACTS_PER_GRANT, ChangeKind, Consent, ConsentNotActive,
                            ConsentNotFound, EndDateInPast, EndDateTooLate, NotContactsOf, OrganisationNotAuthorised,
                            ProfessionalUnknown, State)
from consent.access_check import DatabaseUnavailable
from consent.repository import Change, LoggedEvent, PageKey

log = get_logger(__name__)

DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 50, 500
DEFAULT_EVENTS_PAGE_SIZE, MAX_EVENTS_PAGE_SIZE = 100, 1000
# One page of a contact's list of dossiers (the gateway's and reporting's largest page).
MAX_BATCH_ACCESS_CHECKS = 200

_STATES = {State.ACTIVE: consent_pb2.CONSENT_STATE_ACTIVE, State.REVOKED: consent_pb2.CONSENT_STATE_REVOKED,
           State.EXPIRED: consent_pb2.CONSENT_STATE_EXPIRED, State.ENDED: consent_pb2.CONSENT_STATE_ENDED}
_KINDS = {ChangeKind.GRANTED: consent_pb2.CHANGE_KIND_GRANTED, ChangeKind.CHANGED: consent_pb2.CHANGE_KIND_CHANGED,
          ChangeKind.REVOKED: consent_pb2.CHANGE_KIND_REVOKED, ChangeKind.EXPIRED: consent_pb2.CHANGE_KIND_EXPIRED,
          ChangeKind.ENDED: consent_pb2.CHANGE_KIND_ENDED}


# How a UUID is written everywhere in pe-insight; any other spelling is parsed and normalised.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class InvalidRequest(Exception):
    def __init__(self, violations: dict[str, str]):
        super().__init__(", ".join(violations))
        self.violations = violations


# --- request fields ----------------------------------------------------------------------------------

class Fields:
    """Collects every violation of a request before answering, so a caller learns them all at once."""

    def __init__(self):
        self.violations: dict[str, str] = {}

    def uuid(self, value: str, name: str) -> str:
        if _CANONICAL_UUID.fullmatch(value):  # the usual form, already as it is stored
            return value
        if not value:
            self.violations[name] = "is required"
            return ""
        try:
            return str(uuid.UUID(value))
        except ValueError:
            self.violations[name] = "must be a UUID"
            return ""

    def text(self, value: str, name: str, max_length: int, required: bool = True) -> str:
        value = value.strip()
        if required and not value:
            self.violations[name] = "is required"
        elif len(value) > max_length:
            self.violations[name] = f"must be at most {max_length} characters"
        return value

    def date(self, message, present: bool, name: str) -> date | None:
        if not present or (message.year, message.month, message.day) == (0, 0, 0):
            return None
        try:
            return date(message.year, message.month, message.day)
        except ValueError:
            self.violations[name] = "must be a calendar date (year, month, day)"
            return None

    def page_size(self, value: int, default: int, maximum: int, name: str = "page_size") -> int:
        if value < 0:
            self.violations[name] = "must not be negative"
        return default if value <= 0 else min(value, maximum)

    def token(self, value: str, keys: tuple[str, ...], name: str = "page_token") -> dict | None:
        if not value:
            return None
        try:
            decoded = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
            if not isinstance(decoded, dict) or set(decoded) != set(keys):
                raise ValueError
            return decoded
        except (ValueError, binascii.Error, UnicodeDecodeError):
            self.violations[name] = "is not a token this list handed out"
            return None

    def done(self) -> None:
        if self.violations:
            raise InvalidRequest(self.violations)


def _encode_token(values: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def _consent_key(fields: Fields, token: str) -> PageKey | None:
    values = fields.token(token, ("f", "c"))
    if values is None:
        return None
    try:
        return PageKey(datetime.fromisoformat(values["f"]), str(uuid.UUID(values["c"])))
    except (TypeError, ValueError):
        fields.violations["page_token"] = "is not a token this list handed out"
        return None


def _next_consent_token(page: handlers.ConsentPage) -> str:
    if not page.more:
        return ""
    last = page.consents[-1]
    return _encode_token({"f": last.valid_from.isoformat(), "c": last.consent_id})


# --- domain -> proto ---------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def set_time(field, instant: datetime) -> None:
    """Timestamp.FromDatetime for an aware datetime, at a fifth of its cost (the access check
    answers one on every call)."""
    since = instant - _EPOCH  # normalised: days may be negative, seconds and microseconds are not
    field.seconds = since.days * 86_400 + since.seconds
    field.nanos = since.microseconds * 1000


def set_date(field, value: date) -> None:
    field.year, field.month, field.day = value.year, value.month, value.day


def consent_message(consent: Consent, into: consent_pb2.Consent | None = None) -> consent_pb2.Consent:
    """The consent as a message; `into` fills a field of a response in place, saving a copy."""
    message = consent_pb2.Consent() if into is None else into
    message.consent_id = consent.consent_id
    message.professional_id = consent.professional_id
    message.pe_registration_number = consent.pe_registration_number
    message.organisation_id = consent.organisation_id
    message.contact_id = consent.contact_id
    message.state = _STATES[consent.state]
    message.sequence = consent.sequence
    set_time(message.valid_from, consent.valid_from)
    if consent.end_reason is not None:
        message.end_reason = consent.end_reason.value
    if consent.end_date is not None:
        set_date(message.end_date, consent.end_date)
    if consent.end_time is not None:
        set_time(message.end_time, consent.end_time)
    return message


def change_message(change: Change) -> consent_pb2.ConsentChange:
    message = consent_pb2.ConsentChange(consent_id=change.consent_id, kind=_KINDS[change.kind],
                                        reason=change.reason or "", organisation_id=change.organisation_id,
                                        contact_id=change.contact_id)
    set_time(message.occur_time, change.occurred_at)
    if change.end_date is not None:
        set_date(message.end_date, change.end_date)
    return message


def event_message(event: LoggedEvent) -> consent_pb2.ConsentEvent:
    data = event.data
    state = State(data["state"])
    consent = Consent(
        consent_id=data["consent_id"], professional_id=data["professional_id"],
        pe_registration_number=data["pe_registration_number"], organisation_id=data["organisation_id"],
        contact_id=data["contact_id"], valid_from=datetime.fromisoformat(data["valid_from"]),
        end_date=date.fromisoformat(data["valid_until"]) if data["valid_until"] else None, state=state,
        end_time=None if state is State.ACTIVE else event.occurred_at, end_reason=None, sequence=data["sequence"])
    message = consent_pb2.ConsentEvent(event_id=event.event_id, position=event.position, type=event.type,
                                       consent=consent_message(consent), reason=data["reason"] or "")
    message.consent.end_reason = data["reason"] or ""
    set_time(message.occur_time, event.occurred_at)
    return message


# --- errors -> statuses ------------------------------------------------------------------------------

def _status_of(error: Exception) -> grpc.Status:
    if isinstance(error, InvalidRequest):
        return rpc_errors.invalid_argument(error.violations)
    if isinstance(error, EndDateInPast):
        return rpc_errors.invalid_argument({"end_date": "must be today or later (Europe/Amsterdam)"})
    if isinstance(error, EndDateTooLate):
        return rpc_errors.invalid_argument({"end_date": f"must be {LATEST_END_DATE.isoformat()} or earlier; "
                                                        "leave it out for access without end"})
    if isinstance(error, NotContactsOf):
        return rpc_errors.invalid_argument(
            {f"contact_ids[{i}]": "is not a contact of this organisation" for i in error.positions})
    if isinstance(error, ProfessionalUnknown):
        return rpc_errors.invalid_argument({"professional_id": "no such professional account"})
    if isinstance(error, ConsentNotFound):
        return rpc_errors.failure(grpc.StatusCode.NOT_FOUND, "CONSENT_NOT_FOUND", "no such consent")
    if isinstance(error, ConsentNotActive):
        return rpc_errors.failure(grpc.StatusCode.FAILED_PRECONDITION, "CONSENT_NOT_ACTIVE",
                                  "the consent has already ended")
    if isinstance(error, OrganisationNotAuthorised):
        return rpc_errors.failure(grpc.StatusCode.FAILED_PRECONDITION, "ORGANISATION_NOT_AUTHORISED",
                                  "the organisation is not authorised")
    if isinstance(error, DirectoryUnavailable):
        return rpc_errors.failure(grpc.StatusCode.UNAVAILABLE, "DEPENDENCY_UNAVAILABLE",
                                  "another service did not answer; try again")
    if isinstance(error, (OperationalError, DatabaseUnavailable)):
        log.error("database unavailable", error=str(getattr(error, "orig", None) or error).split("\n")[0])
        return rpc_errors.failure(grpc.StatusCode.UNAVAILABLE, "DATABASE_UNAVAILABLE",
                                  "the database did not answer; try again")
    log.exception("unexpected error")
    return rpc_errors.failure(grpc.StatusCode.INTERNAL, "INTERNAL", "internal error")


def _rpc(method):
    @functools.wraps(method)
    def wrapper(self, request, context):
        try:
            return method(self, request, context)
        except Exception as error:  # every failure becomes a status with details, never UNKNOWN
            context.abort_with_status(_status_of(error))
    return wrapper


# --- the servicer ------------------------------------------------------------------------------------

class ConsentService(consent_pb2_grpc.ConsentServiceServicer):
    """The v1 API of the consent service."""

    def __init__(self, deps: handlers.Dependencies):
        self._deps = deps

    @_rpc
    def GrantConsents(self, request, context):
        fields = Fields()
        contact_ids = list(request.contact_ids)
        if not 1 <= len(contact_ids) <= MAX_CONTACTS_PER_GRANT:
            fields.violations["contact_ids"] = f"must name 1 to {MAX_CONTACTS_PER_GRANT} contacts"
        command = handlers.GrantConsents(
            professional_id=fields.uuid(request.professional_id, "professional_id"),
            pe_registration_number=fields.text(request.pe_registration_number, "pe_registration_number", 64),
            organisation_id=fields.uuid(request.organisation_id, "organisation_id"),
            contact_ids=tuple(fields.uuid(c, f"contact_ids[{i}]") for i, c in enumerate(contact_ids)),
            end_date=fields.date(request.end_date, request.HasField("end_date"), "end_date"),
            idempotency_key=fields.text(request.idempotency_key, "idempotency_key", 200, required=False))
        fields.done()
        written = handlers.grant_consents(command, self._deps)
        return consent_pb2.GrantConsentsResponse(consents=[consent_message(c) for c in written.consents],
                                                 log_position=written.log_position)

    @_rpc
    def GetConsent(self, request, context):
        fields = Fields()
        consent_id = fields.uuid(request.consent_id, "consent_id")
        fields.done()
        return consent_pb2.GetConsentResponse(consent=consent_message(handlers.get_consent(consent_id, self._deps)))

    @_rpc
    def ChangeConsentEndDate(self, request, context):
        fields = Fields()
        command = handlers.ChangeEndDate(
            consent_id=fields.uuid(request.consent_id, "consent_id"),
            professional_id=fields.uuid(request.professional_id, "professional_id"),
            end_date=fields.date(request.end_date, request.HasField("end_date"), "end_date"))
        fields.done()
        written = handlers.change_end_date(command, self._deps)
        return consent_pb2.ChangeConsentEndDateResponse(consent=consent_message(written.consents[0]),
                                                        log_position=written.log_position)

    @_rpc
    def RevokeConsent(self, request, context):
        fields = Fields()
        command = handlers.RevokeConsent(consent_id=fields.uuid(request.consent_id, "consent_id"),
                                         professional_id=fields.uuid(request.professional_id, "professional_id"))
        fields.done()
        written = handlers.revoke_consent(command, self._deps)
        return consent_pb2.RevokeConsentResponse(consent=consent_message(written.consents[0]),
                                                 log_position=written.log_position)

    @_rpc
    def ListConsents(self, request, context):
        fields = Fields()
        professional_id = fields.uuid(request.professional_id, "professional_id")
        size = fields.page_size(request.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        after = _consent_key(fields, request.page_token)
        fields.done()
        page = handlers.list_consents(professional_id, request.include_ended, after, size, self._deps)
        return consent_pb2.ListConsentsResponse(consents=[consent_message(c) for c in page.consents],
                                                next_page_token=_next_consent_token(page))

    @_rpc
    def ListConsentHistory(self, request, context):
        fields = Fields()
        professional_id = fields.uuid(request.professional_id, "professional_id")
        size = fields.page_size(request.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        token = fields.token(request.page_token, ("h",))
        after = token["h"] if token else 0
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            fields.violations["page_token"] = "is not a token this list handed out"
        fields.done()
        changes, more = handlers.list_history(professional_id, after, size, self._deps)
        return consent_pb2.ListConsentHistoryResponse(
            changes=[change_message(c) for c in changes],
            next_page_token=_encode_token({"h": changes[-1].change_id}) if more else "")

    @_rpc
    def ListContactProfessionals(self, request, context):
        fields = Fields()
        contact_id = fields.uuid(request.contact_id, "contact_id")
        size = fields.page_size(request.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        after = _consent_key(fields, request.page_token)
        fields.done()
        page = handlers.list_contact_professionals(contact_id, after, size, self._deps)
        return consent_pb2.ListContactProfessionalsResponse(
            consents=[consent_message(c) for c in page.consents], next_page_token=_next_consent_token(page))

    @_rpc
    def ListOrganisationProfessionals(self, request, context):
        fields = Fields()
        organisation_id = fields.uuid(request.organisation_id, "organisation_id")
        size = fields.page_size(request.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        after = _consent_key(fields, request.page_token)
        fields.done()
        page = handlers.list_organisation_professionals(organisation_id, after, size, self._deps)
        return consent_pb2.ListOrganisationProfessionalsResponse(
            consents=[consent_message(c) for c in page.consents], next_page_token=_next_consent_token(page),
            log_position=page.log_position)

    @_rpc
    def CheckAccess(self, request, context):
        fields = Fields()
        contact_id = fields.uuid(request.contact_id, "contact_id")
        professional_id = fields.uuid(request.professional_id, "professional_id")
        fields.done()
        consent = handlers.check_access(contact_id, professional_id, self._deps)
        if consent is None:
            return consent_pb2.CheckAccessResponse(allowed=False)
        response = consent_pb2.CheckAccessResponse(allowed=True)
        consent_message(consent, into=response.consent)
        return response

    @_rpc
    def BatchCheckAccess(self, request, context):
        fields = Fields()
        contact_id = fields.uuid(request.contact_id, "contact_id")
        asked = request.professional_ids
        if not 1 <= len(asked) <= MAX_BATCH_ACCESS_CHECKS:
            fields.violations["professional_ids"] = f"must name 1 to {MAX_BATCH_ACCESS_CHECKS} professionals"
        professional_ids = [fields.uuid(p, f"professional_ids[{i}]")
                            for i, p in enumerate(asked[:MAX_BATCH_ACCESS_CHECKS])]
        fields.done()
        consents = handlers.check_access_batch(contact_id, professional_ids, self._deps)
        return consent_pb2.BatchCheckAccessResponse(consents=[consent_message(c) for c in consents])

    @_rpc
    def ListConsentEvents(self, request, context):
        fields = Fields()
        if request.after_position < 0:
            fields.violations["after_position"] = "must not be negative"
        size = fields.page_size(request.page_size, DEFAULT_EVENTS_PAGE_SIZE, MAX_EVENTS_PAGE_SIZE)
        fields.done()
        events, head = handlers.list_events(request.after_position, size, self._deps)
        return consent_pb2.ListConsentEventsResponse(events=[event_message(e) for e in events],
                                                     head_position=head)
