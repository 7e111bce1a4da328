"""gRPC servicer of the organisation service: proto in, use case, proto out, errors as statuses.

Errors carry google.rpc details: BadRequest field violations (INVALID_ARGUMENT, and ALREADY_EXISTS
on the field that collides) and an ErrorInfo reason for the rest.
"""
from __future__ import annotations

import functools

import grpc
from google.protobuf import any_pb2, timestamp_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from sqlalchemy.exc import OperationalError

from organisation import handlers
from organisation.domain import (AlreadyExists, ConcurrentChange, Contact, ContactRole, InvalidInput, Language,
                                 NotFound, Organisation, OrganisationStatus, RuleViolated)
from organisation.handlers import AccountDirectoryError, Deps, RequestInProgress
from pe.common.v1 import common_pb2
from pe.organisation.v1 import organisation_pb2 as pb
from pe.organisation.v1 import organisation_pb2_grpc
from svckit.logs import get_logger
from svckit.rpc_errors import failure, invalid_argument

log = get_logger(__name__)

_STATUSES = {
    OrganisationStatus.PENDING: pb.ORGANISATION_STATUS_PENDING,
    OrganisationStatus.AUTHORISED: pb.ORGANISATION_STATUS_AUTHORISED,
    OrganisationStatus.REJECTED: pb.ORGANISATION_STATUS_REJECTED,
    OrganisationStatus.SUSPENDED: pb.ORGANISATION_STATUS_SUSPENDED,
}
_ROLES = {
    ContactRole.ADMINISTRATOR: pb.CONTACT_ROLE_ADMINISTRATOR,
    ContactRole.SECOND_CONTACT: pb.CONTACT_ROLE_SECOND_CONTACT,
    ContactRole.CONTACT: pb.CONTACT_ROLE_CONTACT,
    ContactRole.DEPARTMENT: pb.CONTACT_ROLE_DEPARTMENT,
}
_STATUS_OF = {value: key for key, value in _STATUSES.items()}
_ROLE_OF = {value: key for key, value in _ROLES.items()}


def _language(value: int) -> Language:
    return Language.EN if value == common_pb2.LANGUAGE_EN else Language.NL


def _timestamp(moment) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _organisation_pb(organisation: Organisation) -> pb.Organisation:
    details, address = organisation.details, organisation.details.visiting_address
    return pb.Organisation(
        organisation_id=organisation.organisation_id, name=details.name,
        chamber_of_commerce_number=details.chamber_of_commerce_number,
        visiting_address=pb.Address(street=address.street, postcode=address.postcode, city=address.city),
        phone=details.phone, email=details.email, status=_STATUSES[organisation.status],
        create_time=_timestamp(organisation.created_at), update_time=_timestamp(organisation.updated_at))


def _contact_pb(contact: Contact) -> pb.Contact:
    return pb.Contact(
        contact_id=contact.contact_id, organisation_id=contact.organisation_id, account_id=contact.account_id,
        role=_ROLES[contact.role], name=contact.name, email=contact.email, phone=contact.phone,
        department_name=contact.department_name, create_time=_timestamp(contact.created_at),
        update_time=_timestamp(contact.updated_at))


def _form(organisation: pb.Organisation) -> handlers.OrganisationForm:
    address = organisation.visiting_address
    return handlers.OrganisationForm(
        name=organisation.name, chamber_of_commerce_number=organisation.chamber_of_commerce_number,
        street=address.street, postcode=address.postcode, city=address.city, phone=organisation.phone,
        email=organisation.email)


def _role(value: int, field: str) -> ContactRole | None:
    if value and value not in _ROLE_OF:
        raise InvalidInput({field: "is not a known role"})
    return _ROLE_OF.get(value)


def _already_exists(error: AlreadyExists) -> grpc.Status:
    proto = status_pb2.Status(code=code_pb2.ALREADY_EXISTS, message=str(error))
    for detail in (error_details_pb2.BadRequest(field_violations=[
                       error_details_pb2.BadRequest.FieldViolation(field=error.field, description=str(error))]),
                   error_details_pb2.ErrorInfo(reason=error.reason, domain="pe-insight")):
        packed = any_pb2.Any()
        packed.Pack(detail)
        proto.details.append(packed)
    return rpc_status.to_status(proto)


def _status_of(error: Exception) -> grpc.Status | None:
    """The gRPC status for an error a use case may raise; None for a bug."""
    match error:
        case InvalidInput():
            return invalid_argument(error.violations)
        case NotFound():
            return failure(grpc.StatusCode.NOT_FOUND, f"{error.what.upper()}_NOT_FOUND", str(error))
        case AlreadyExists():
            return _already_exists(error)
        case RuleViolated():
            return failure(grpc.StatusCode.FAILED_PRECONDITION, error.reason, str(error))
        case RequestInProgress():
            return failure(grpc.StatusCode.ABORTED, "REQUEST_IN_PROGRESS", str(error))
        case ConcurrentChange():
            return failure(grpc.StatusCode.ABORTED, "CONCURRENT_CHANGE",
                           "a concurrent change came first; read again and retry")
        case AccountDirectoryError():
            return failure(grpc.StatusCode.UNAVAILABLE, "IDENTITY_UNAVAILABLE",
                           "the identity service did not answer; retry with the same idempotency key")
        case OperationalError():
            return failure(grpc.StatusCode.UNAVAILABLE, "DATABASE_UNAVAILABLE", "the database did not answer")
    return None


def _rpc(method):
    @functools.wraps(method)
    def handle(self, request, context):
        try:
            return method(self, request, context)
        except Exception as error:  # every failure leaves as a status, never a stack trace
            status = _status_of(error)
            if status is None:
                log.exception("unexpected failure", rpc=method.__name__)
                status = failure(grpc.StatusCode.INTERNAL, "INTERNAL", "an unexpected error occurred")
            elif status.code in (grpc.StatusCode.UNAVAILABLE,):
                log.warning("dependency unavailable", rpc=method.__name__, error=str(error))
            context.abort_with_status(status)
    return handle


class OrganisationService(organisation_pb2_grpc.OrganisationServiceServicer):
    """The v1 API of the organisation service."""

    def __init__(self, deps: Deps):
        self._deps = deps

    @_rpc
    def RegisterOrganisation(self, request, context):
        applicant = request.applicant
        result = handlers.register_organisation(handlers.RegisterOrganisation(
            organisation=_form(request.organisation),
            applicant=handlers.ApplicantForm(name=applicant.name, email=applicant.email, phone=applicant.phone,
                                             username=applicant.username, language=_language(applicant.language)),
            idempotency_key=request.idempotency_key), self._deps)
        return pb.RegisterOrganisationResponse(organisation=_organisation_pb(result.organisation),
                                               administrator=_contact_pb(result.administrator))

    @_rpc
    def GetOrganisation(self, request, context):
        organisation = handlers.get_organisation(request.organisation_id, self._deps)
        return pb.GetOrganisationResponse(organisation=_organisation_pb(organisation))

    @_rpc
    def UpdateOrganisation(self, request, context):
        organisation = handlers.update_organisation(handlers.UpdateOrganisation(
            organisation_id=request.organisation.organisation_id, organisation=_form(request.organisation),
            update_mask=tuple(request.update_mask), actor_account_id=request.actor_account_id), self._deps)
        return pb.UpdateOrganisationResponse(organisation=_organisation_pb(organisation))

    @_rpc
    def ListOrganisations(self, request, context):
        if request.status and request.status not in _STATUS_OF:
            raise InvalidInput({"status": "is not a known status"})
        page = handlers.list_organisations(handlers.ListOrganisations(
            status=_STATUS_OF.get(request.status), name_query=request.name_query, city=request.city,
            page_size=request.page_size, page_token=request.page_token), self._deps)
        return pb.ListOrganisationsResponse(organisations=[_organisation_pb(item) for item in page.items],
                                            next_page_token=page.next_page_token)

    def _change_status(self, request, to_status: OrganisationStatus) -> pb.Organisation:
        organisation = handlers.change_organisation_status(handlers.ChangeStatus(
            organisation_id=request.organisation_id, to_status=to_status,
            actor_account_id=request.actor_account_id, reason=request.reason), self._deps)
        return _organisation_pb(organisation)

    @_rpc
    def AuthoriseOrganisation(self, request, context):
        return pb.AuthoriseOrganisationResponse(
            organisation=self._change_status(request, OrganisationStatus.AUTHORISED))

    @_rpc
    def RejectOrganisation(self, request, context):
        return pb.RejectOrganisationResponse(organisation=self._change_status(request, OrganisationStatus.REJECTED))

    @_rpc
    def SuspendOrganisation(self, request, context):
        return pb.SuspendOrganisationResponse(
            organisation=self._change_status(request, OrganisationStatus.SUSPENDED))

    @_rpc
    def ListOrganisationTransitions(self, request, context):
        transitions = handlers.list_transitions(request.organisation_id, self._deps)
        return pb.ListOrganisationTransitionsResponse(transitions=[
            pb.OrganisationTransition(
                from_status=_STATUSES[item.from_status] if item.from_status else pb.ORGANISATION_STATUS_UNSPECIFIED,
                to_status=_STATUSES[item.to_status], actor_account_id=item.actor_account_id, reason=item.reason,
                occur_time=_timestamp(item.occurred_at))
            for item in transitions])

    @_rpc
    def AddContact(self, request, context):
        contact = handlers.add_contact(handlers.AddContact(
            organisation_id=request.organisation_id, role=_role(request.role, "role"), name=request.name,
            email=request.email, phone=request.phone, department_name=request.department_name,
            username=request.username, language=_language(request.language),
            actor_account_id=request.actor_account_id, idempotency_key=request.idempotency_key), self._deps)
        return pb.AddContactResponse(contact=_contact_pb(contact))

    @_rpc
    def GetContact(self, request, context):
        return pb.GetContactResponse(contact=_contact_pb(handlers.get_contact(request.contact_id, self._deps)))

    @_rpc
    def UpdateContact(self, request, context):
        given = request.contact
        contact = handlers.update_contact(handlers.UpdateContact(
            contact_id=given.contact_id, update_mask=tuple(request.update_mask),
            role=_role(given.role, "contact.role"), name=given.name, email=given.email, phone=given.phone,
            department_name=given.department_name, actor_account_id=request.actor_account_id), self._deps)
        return pb.UpdateContactResponse(contact=_contact_pb(contact))

    @_rpc
    def RemoveContact(self, request, context):
        handlers.remove_contact(handlers.RemoveContact(contact_id=request.contact_id,
                                                       actor_account_id=request.actor_account_id), self._deps)
        return pb.RemoveContactResponse()

    @_rpc
    def ListContacts(self, request, context):
        page = handlers.list_contacts(handlers.ListContacts(
            organisation_id=request.organisation_id, page_size=request.page_size, page_token=request.page_token),
            self._deps)
        return pb.ListContactsResponse(contacts=[_contact_pb(item) for item in page.items],
                                       next_page_token=page.next_page_token)

    @_rpc
    def ListMemberships(self, request, context):
        memberships = handlers.list_memberships(request.account_id, self._deps)
        return pb.ListMembershipsResponse(memberships=[
            pb.Membership(organisation_id=item.organisation_id, contact_id=item.contact_id, role=_ROLES[item.role],
                          organisation_status=_STATUSES[item.organisation_status])
            for item in memberships])
