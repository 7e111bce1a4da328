"""The organisation service over gRPC, on a real database, calling a fake identity over gRPC."""
import itertools
import uuid
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from sqlalchemy import func, select

from organisation import repository
from pe.common.v1 import common_pb2
from pe.identity.v1 import identity_pb2
from pe.organisation.v1 import organisation_pb2 as pb
from svckit.rpc_errors import error_reason, field_violations

pytestmark = pytest.mark.integration

_numbers = itertools.count(20000001)
OPERATOR = "5d1f5e0c-2b9a-4f0e-8d7c-6a5b4c3d2e1f"


def registration(key: str = "", **organisation) -> pb.RegisterOrganisationRequest:
    number = next(_numbers)
    values = dict(name="Payroll Partners", chamber_of_commerce_number=str(number),
                  visiting_address=pb.Address(street="Keizersgracht 1", postcode="1015cj", city="Amsterdam"),
                  phone="020 123 4567", email="info@payroll.example")
    values.update(organisation)
    return pb.RegisterOrganisationRequest(
        organisation=pb.Organisation(**values),
        applicant=pb.Applicant(name="Pieter Post", email="pieter@payroll.example", phone="+31 6 1234 5678",
                               username=f"pieter{number}", language=common_pb2.LANGUAGE_EN),
        idempotency_key=key)


def contact_request(organisation_id: str, role=pb.CONTACT_ROLE_CONTACT, **values) -> pb.AddContactRequest:
    defaults = dict(name="Carla", email="carla@payroll.example", username=f"carla{next(_numbers)}",
                    actor_account_id=OPERATOR)
    return pb.AddContactRequest(organisation_id=organisation_id, role=role, **{**defaults, **values})


def _fails(call, code: grpc.StatusCode):
    with pytest.raises(grpc.RpcError) as caught:
        call()
    assert caught.value.code() == code, caught.value.details()
    return caught.value


def test_register_and_read_back(service):
    response = service.stub.RegisterOrganisation(registration(), timeout=10,
                                                 metadata=(("x-request-id", "req-register-1"),))
    organisation, administrator = response.organisation, response.administrator
    assert organisation.status == pb.ORGANISATION_STATUS_PENDING
    assert organisation.visiting_address.postcode == "1015 CJ"
    assert organisation.create_time.seconds > 0
    assert administrator.role == pb.CONTACT_ROLE_ADMINISTRATOR
    assert administrator.organisation_id == organisation.organisation_id

    assert service.identity.methods() == ["CreateAccount", "IssuePasswordSetupLink"]
    account = service.identity.accounts[administrator.account_id]
    assert account.kind == identity_pb2.ACCOUNT_KIND_EMPLOYER_CONTACT
    assert account.language == common_pb2.LANGUAGE_EN
    link = service.identity.links[0]
    assert (link.account_id, link.purpose, dict(link.mail_context)) == (
        administrator.account_id, identity_pb2.LINK_PURPOSE_REGISTRATION, {"organisation_name": "Payroll Partners"})
    for _, metadata in service.identity.calls:
        assert metadata.get("x-request-id") == "req-register-1", "the request id travels on"
    assert all(0 < remaining < 6 for remaining in service.identity.deadlines), "every call has its deadline (5 s)"

    got = service.stub.GetOrganisation(pb.GetOrganisationRequest(organisation_id=organisation.organisation_id))
    assert got.organisation == organisation
    contacts = service.stub.ListContacts(pb.ListContactsRequest(organisation_id=organisation.organisation_id))
    assert list(contacts.contacts) == [administrator]
    memberships = service.stub.ListMemberships(pb.ListMembershipsRequest(account_id=administrator.account_id))
    assert [(m.organisation_id, m.role, m.organisation_status) for m in memberships.memberships] == [
        (organisation.organisation_id, pb.CONTACT_ROLE_ADMINISTRATOR, pb.ORGANISATION_STATUS_PENDING)]


def test_bad_fields_come_back_as_field_violations(service):
    request = registration(chamber_of_commerce_number="00000000", phone="12")
    request.organisation.visiting_address.postcode = "1234 SS"
    request.applicant.username = ""
    error = _fails(lambda: service.stub.RegisterOrganisation(request), grpc.StatusCode.INVALID_ARGUMENT)
    assert field_violations(error) == {
        "organisation.chamber_of_commerce_number": "must not be all zeros",
        "organisation.visiting_address.postcode": "must not end in SS: those letters are not used in Dutch postcodes",
        "organisation.phone": "must be a phone number of 10 to 15 digits, optionally starting with +, with spaces "
                              "or dashes allowed",
        "applicant.username": "is required"}
    assert service.identity.calls == []


def test_taken_kvk_number_and_username(service):
    first = registration()
    service.stub.RegisterOrganisation(first)
    same_number = registration(chamber_of_commerce_number=first.organisation.chamber_of_commerce_number)
    error = _fails(lambda: service.stub.RegisterOrganisation(same_number), grpc.StatusCode.ALREADY_EXISTS)
    assert list(field_violations(error)) == ["organisation.chamber_of_commerce_number"]
    assert error_reason(error) == "CHAMBER_OF_COMMERCE_NUMBER_TAKEN"

    same_username = registration()
    same_username.applicant.username = first.applicant.username.upper()
    error = _fails(lambda: service.stub.RegisterOrganisation(same_username), grpc.StatusCode.ALREADY_EXISTS)
    assert list(field_violations(error)) == ["applicant.username"]
    with service.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(repository.organisations)).scalar_one() == 1


def test_identity_down_is_unavailable_and_a_retry_completes(service):
    service.identity.refuse["CreateAccount"] = grpc.StatusCode.UNAVAILABLE
    request = registration(key="retry-after-outage")
    error = _fails(lambda: service.stub.RegisterOrganisation(request), grpc.StatusCode.UNAVAILABLE)
    assert error_reason(error) == "IDENTITY_UNAVAILABLE"
    del service.identity.refuse["CreateAccount"]
    first = service.stub.RegisterOrganisation(request)
    again = service.stub.RegisterOrganisation(request)
    assert again == first


def test_database_failure_after_the_account_is_compensated(service, monkeypatch):
    def broken(self, organisation):
        raise RuntimeError("disk full")
    monkeypatch.setattr(repository.OrganisationRepository, "add", broken)
    error = _fails(lambda: service.stub.RegisterOrganisation(registration(key="k")), grpc.StatusCode.INTERNAL)
    assert "disk full" not in error.details()
    assert service.identity.methods() == ["CreateAccount", "DeleteAccount"]
    assert service.identity.accounts == {}


def test_operator_transitions_over_grpc(service):
    organisation_id = service.stub.RegisterOrganisation(registration()).organisation.organisation_id
    error = _fails(lambda: service.stub.SuspendOrganisation(pb.SuspendOrganisationRequest(
        organisation_id=organisation_id, actor_account_id=OPERATOR, reason="x")), grpc.StatusCode.FAILED_PRECONDITION)
    assert error_reason(error) == "INVALID_TRANSITION"
    error = _fails(lambda: service.stub.RejectOrganisation(pb.RejectOrganisationRequest(
        organisation_id=organisation_id, actor_account_id=OPERATOR)), grpc.StatusCode.INVALID_ARGUMENT)
    assert field_violations(error) == {"reason": "is required"}

    authorised = service.stub.AuthoriseOrganisation(pb.AuthoriseOrganisationRequest(
        organisation_id=organisation_id, actor_account_id=OPERATOR))
    assert authorised.organisation.status == pb.ORGANISATION_STATUS_AUTHORISED
    suspended = service.stub.SuspendOrganisation(pb.SuspendOrganisationRequest(
        organisation_id=organisation_id, actor_account_id=OPERATOR, reason="complaints"))
    assert suspended.organisation.status == pb.ORGANISATION_STATUS_SUSPENDED
    transitions = service.stub.ListOrganisationTransitions(
        pb.ListOrganisationTransitionsRequest(organisation_id=organisation_id)).transitions
    assert [(t.from_status, t.to_status, t.reason) for t in transitions] == [
        (pb.ORGANISATION_STATUS_UNSPECIFIED, pb.ORGANISATION_STATUS_PENDING, "registered"),
        (pb.ORGANISATION_STATUS_PENDING, pb.ORGANISATION_STATUS_AUTHORISED, ""),
        (pb.ORGANISATION_STATUS_AUTHORISED, pb.ORGANISATION_STATUS_SUSPENDED, "complaints")]
    assert transitions[2].actor_account_id == OPERATOR and transitions[2].occur_time.seconds > 0


@pytest.mark.parametrize("bad_id", ["", "not-a-uuid", str(uuid.uuid4())])
def test_unknown_ids_are_not_found(service, bad_id):
    calls = [
        lambda: service.stub.GetOrganisation(pb.GetOrganisationRequest(organisation_id=bad_id)),
        lambda: service.stub.AuthoriseOrganisation(pb.AuthoriseOrganisationRequest(
            organisation_id=bad_id, actor_account_id=OPERATOR)),
        lambda: service.stub.ListContacts(pb.ListContactsRequest(organisation_id=bad_id)),
        lambda: service.stub.GetContact(pb.GetContactRequest(contact_id=bad_id)),
        lambda: service.stub.RemoveContact(pb.RemoveContactRequest(contact_id=bad_id)),
        lambda: service.stub.AddContact(contact_request(bad_id)),
    ]
    for call in calls:
        error = _fails(call, grpc.StatusCode.NOT_FOUND)
        assert error_reason(error) in ("ORGANISATION_NOT_FOUND", "CONTACT_NOT_FOUND")


def _authorised(service) -> pb.RegisterOrganisationResponse:
    registered = service.stub.RegisterOrganisation(registration())
    service.stub.AuthoriseOrganisation(pb.AuthoriseOrganisationRequest(
        organisation_id=registered.organisation.organisation_id, actor_account_id="operator-1"))
    return registered


def test_contacts_over_grpc(service):
    registered = _authorised(service)
    organisation_id = registered.organisation.organisation_id
    second = service.stub.AddContact(contact_request(organisation_id, pb.CONTACT_ROLE_SECOND_CONTACT,
                                                     name="Sam", email="sam@payroll.example")).contact
    assert second.role == pb.CONTACT_ROLE_SECOND_CONTACT
    link = service.identity.links[-1]
    assert (link.purpose, dict(link.mail_context)) == (identity_pb2.LINK_PURPOSE_CONTACT_INVITATION,
                                                       {"organisation_name": "Payroll Partners",
                                                        "role": "second_contact"})
    error = _fails(lambda: service.stub.AddContact(contact_request(organisation_id, pb.CONTACT_ROLE_SECOND_CONTACT)),
                   grpc.StatusCode.FAILED_PRECONDITION)
    assert error_reason(error) == "SECOND_CONTACT_EXISTS"
    error = _fails(lambda: service.stub.AddContact(contact_request(organisation_id, pb.CONTACT_ROLE_DEPARTMENT)),
                   grpc.StatusCode.INVALID_ARGUMENT)
    assert field_violations(error) == {"department_name": "is required"}
    department = service.stub.AddContact(contact_request(organisation_id, pb.CONTACT_ROLE_DEPARTMENT,
                                                         name="HR", email="hr@payroll.example",
                                                         department_name="HR")).contact

    updated = service.stub.UpdateContact(pb.UpdateContactRequest(
        contact=pb.Contact(contact_id=department.contact_id, role=pb.CONTACT_ROLE_CONTACT, phone="0201234567"),
        update_mask=["role", "phone"])).contact
    assert (updated.role, updated.department_name, updated.phone) == (pb.CONTACT_ROLE_CONTACT, "", "0201234567")
    error = _fails(lambda: service.stub.UpdateContact(pb.UpdateContactRequest(
        contact=pb.Contact(contact_id=registered.administrator.contact_id, role=pb.CONTACT_ROLE_CONTACT),
        update_mask=["role"])), grpc.StatusCode.FAILED_PRECONDITION)
    assert error_reason(error) == "ADMINISTRATOR_ROLE_FIXED"

    error = _fails(lambda: service.stub.RemoveContact(pb.RemoveContactRequest(
        contact_id=registered.administrator.contact_id)), grpc.StatusCode.FAILED_PRECONDITION)
    assert error_reason(error) == "ADMINISTRATOR_NOT_REMOVABLE"
    service.stub.RemoveContact(pb.RemoveContactRequest(contact_id=second.contact_id, actor_account_id=OPERATOR))
    assert second.account_id in service.identity.disabled
    _fails(lambda: service.stub.GetContact(pb.GetContactRequest(contact_id=second.contact_id)),
           grpc.StatusCode.NOT_FOUND)
    listed = service.stub.ListContacts(pb.ListContactsRequest(organisation_id=organisation_id, page_size=1))
    assert len(listed.contacts) == 1 and listed.next_page_token
    rest = service.stub.ListContacts(pb.ListContactsRequest(organisation_id=organisation_id,
                                                            page_token=listed.next_page_token))
    assert [c.contact_id for c in [*listed.contacts, *rest.contacts]] == [
        registered.administrator.contact_id, department.contact_id]


def test_update_and_list_organisations_over_grpc(service):
    first = service.stub.RegisterOrganisation(registration(name="Alpha Staffing")).organisation
    service.stub.RegisterOrganisation(registration(name="Beta Backoffice"))
    changed = service.stub.UpdateOrganisation(pb.UpdateOrganisationRequest(
        organisation=pb.Organisation(organisation_id=first.organisation_id, email="hello@alpha.example",
                                     visiting_address=pb.Address(street="Dam 1", postcode="1012 JS", city="Amsterdam")),
        update_mask=["email", "visiting_address"])).organisation
    assert (changed.email, changed.visiting_address.street, changed.name) == (
        "hello@alpha.example", "Dam 1", "Alpha Staffing")
    listed = service.stub.ListOrganisations(pb.ListOrganisationsRequest(name_query="STAFF"))
    assert [o.name for o in listed.organisations] == ["Alpha Staffing"]
    listed = service.stub.ListOrganisations(pb.ListOrganisationsRequest(city="amsterdam", page_size=1))
    assert [o.name for o in listed.organisations] == ["Alpha Staffing"] and listed.next_page_token
    error = _fails(lambda: service.stub.ListOrganisations(pb.ListOrganisationsRequest(status=99)),
                   grpc.StatusCode.INVALID_ARGUMENT)
    assert list(field_violations(error)) == ["status"]


def test_concurrent_second_contacts_only_one_wins(service):
    organisation_id = _authorised(service).organisation.organisation_id

    def add(number):
        try:
            return service.stub.AddContact(contact_request(organisation_id, pb.CONTACT_ROLE_SECOND_CONTACT,
                                                           username=f"second{number}"), timeout=60).contact
        except grpc.RpcError as error:
            return error
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(add, range(8)))
    added = [o for o in outcomes if isinstance(o, pb.Contact)]
    refused = [o for o in outcomes if not isinstance(o, pb.Contact)]
    assert len(added) == 1
    assert {(e.code(), error_reason(e)) for e in refused} <= {
        (grpc.StatusCode.FAILED_PRECONDITION, "SECOND_CONTACT_EXISTS"), (grpc.StatusCode.ABORTED, "CONCURRENT_CHANGE")}
    live = [a for a in service.identity.accounts.values() if a.username.startswith("second")]
    assert [a.account_id for a in live] == [added[0].account_id], "the losers' accounts were undone"


def test_concurrent_retries_with_one_key_register_once(service):
    request = registration(key="double-click")

    def register(_):
        try:
            return service.stub.RegisterOrganisation(request, timeout=60)
        except grpc.RpcError as error:
            return error
    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(register, range(6)))
    answers = [o for o in outcomes if isinstance(o, pb.RegisterOrganisationResponse)]
    assert answers and all(a.organisation.organisation_id == answers[0].organisation.organisation_id
                           for a in answers)
    for error in (o for o in outcomes if not isinstance(o, pb.RegisterOrganisationResponse)):
        assert (error.code(), error_reason(error)) == (grpc.StatusCode.ABORTED, "REQUEST_IN_PROGRESS")
    with service.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(repository.organisations)).scalar_one() == 1
    assert len(service.identity.accounts) == 1
