"""Proto in, status out: bad input is INVALID_ARGUMENT naming the field, refused rules carry a reason."""
from datetime import timedelta

import grpc
import pytest
from google.rpc import error_details_pb2

from pe.common.v1 import common_pb2
from pe.consent.v1 import consent_pb2 as pb
from consent.servicer import ConsentService
from consent_testkit import Directory, ManualClock, START, make_deps, memory_engine, new_id


class Aborted(Exception):
    def __init__(self, status):
        super().__init__(status.code)
        self.status = status


class FakeContext:
    def abort_with_status(self, status):
        raise Aborted(status)


def _details(status):
    from google.rpc import status_pb2
    proto = status_pb2.Status.FromString(dict(status.trailing_metadata)["grpc-status-details-bin"])
    violations, reason = {}, None
    for detail in proto.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            violations.update({v.field: v.description for v in bad.field_violations})
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
    return violations, reason


@pytest.fixture
def api():
    directory = Directory()
    organisation = directory.add_organisation()
    contacts = [directory.add_contact(organisation) for _ in range(2)]
    professional = directory.add_account()
    clock = ManualClock(START)
    service = ConsentService(make_deps(memory_engine(), directory, clock))
    return type("Api", (), dict(service=service, directory=directory, organisation=organisation, contacts=contacts,
                                professional=professional, clock=clock))


def _call(api, method, request):
    return getattr(api.service, method)(request, FakeContext())


def _refused(api, method, request):
    with pytest.raises(Aborted) as aborted:
        _call(api, method, request)
    violations, reason = _details(aborted.value.status)
    return aborted.value.status.code, violations, reason


def _grant_request(api, **overrides):
    fields = dict(professional_id=api.professional, pe_registration_number="PE-1", organisation_id=api.organisation,
                  contact_ids=api.contacts)
    fields.update(overrides)
    return pb.GrantConsentsRequest(**fields)


def test_grant_and_check_through_the_servicer(api):
    response = _call(api, "GrantConsents", _grant_request(api, end_date=common_pb2.Date(year=2027, month=3, day=28)))
    assert len(response.consents) == 2 and response.log_position == 2
    consent = response.consents[0]
    assert consent.state == pb.CONSENT_STATE_ACTIVE and consent.sequence == 1
    assert (consent.end_date.year, consent.end_date.month, consent.end_date.day) == (2027, 3, 28)
    assert consent.valid_from.ToDatetime().replace(tzinfo=START.tzinfo) == START
    check = _call(api, "CheckAccess", pb.CheckAccessRequest(contact_id=api.contacts[0],
                                                            professional_id=api.professional))
    assert check.allowed and check.consent.consent_id == consent.consent_id
    # upper-case ids are the same ids
    check = _call(api, "CheckAccess", pb.CheckAccessRequest(contact_id=api.contacts[0].upper(),
                                                            professional_id=api.professional.upper()))
    assert check.allowed


def test_every_bad_field_is_named_at_once(api):
    code, violations, _ = _refused(api, "GrantConsents", pb.GrantConsentsRequest(
        professional_id="nope", organisation_id="", contact_ids=["x", api.contacts[0]],
        end_date=common_pb2.Date(year=2027, month=2, day=30)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations) == {"professional_id", "pe_registration_number", "organisation_id", "contact_ids[0]",
                               "end_date"}


@pytest.mark.parametrize("count", [0, 51])
def test_one_to_fifty_contacts(api, count):
    code, violations, _ = _refused(api, "GrantConsents", _grant_request(api, contact_ids=[new_id()
                                                                                           for _ in range(count)]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "contact_ids" in violations


def test_an_end_date_in_the_past_is_an_invalid_end_date(api):
    yesterday = START.date() - timedelta(days=1)
    code, violations, _ = _refused(api, "GrantConsents", _grant_request(
        api, end_date=common_pb2.Date(year=yesterday.year, month=yesterday.month, day=yesterday.day)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and list(violations) == ["end_date"]


def _date(year, month, day):
    return common_pb2.Date(year=year, month=month, day=day)


def test_an_end_date_too_late_to_represent_is_an_invalid_end_date_on_grant_and_change(api):
    code, violations, _ = _refused(api, "GrantConsents", _grant_request(api, end_date=_date(9999, 12, 31)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and list(violations) == ["end_date"]
    assert "9999-12-30" in violations["end_date"]
    consent = _call(api, "GrantConsents", _grant_request(api)).consents[0]
    code, violations, _ = _refused(api, "ChangeConsentEndDate", pb.ChangeConsentEndDateRequest(
        consent_id=consent.consent_id, professional_id=api.professional, end_date=_date(9999, 12, 31)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and list(violations) == ["end_date"]


def test_the_latest_end_date_is_kept(api):
    consent = _call(api, "GrantConsents", _grant_request(api, end_date=_date(9999, 12, 30))).consents[0]
    assert (consent.end_date.year, consent.end_date.month, consent.end_date.day) == (9999, 12, 30)
    changed = _call(api, "ChangeConsentEndDate", pb.ChangeConsentEndDateRequest(
        consent_id=consent.consent_id, professional_id=api.professional, end_date=_date(9999, 12, 29)))
    assert changed.consent.end_date.day == 29


def test_organisation_not_authorised_is_a_failed_precondition(api):
    api.directory.set_authorised(api.organisation, False)
    code, _, reason = _refused(api, "GrantConsents", _grant_request(api))
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "ORGANISATION_NOT_AUTHORISED")


def test_a_contact_of_another_organisation_is_named_by_position(api):
    other = api.directory.add_contact(api.directory.add_organisation("Ander"))
    code, violations, _ = _refused(api, "GrantConsents", _grant_request(api, contact_ids=[api.contacts[0], other]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and list(violations) == ["contact_ids[1]"]


def test_not_the_owner_is_not_found_and_an_ended_consent_is_not_active(api):
    consent = _call(api, "GrantConsents", _grant_request(api)).consents[0]
    code, _, reason = _refused(api, "RevokeConsent", pb.RevokeConsentRequest(consent_id=consent.consent_id,
                                                                            professional_id=new_id()))
    assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "CONSENT_NOT_FOUND")
    revoked = _call(api, "RevokeConsent", pb.RevokeConsentRequest(consent_id=consent.consent_id,
                                                                  professional_id=api.professional))
    assert revoked.consent.state == pb.CONSENT_STATE_REVOKED and revoked.consent.end_reason == "revoked"
    assert revoked.consent.HasField("end_time") and revoked.log_position == 3
    code, _, reason = _refused(api, "ChangeConsentEndDate", pb.ChangeConsentEndDateRequest(
        consent_id=consent.consent_id, professional_id=api.professional))
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CONSENT_NOT_ACTIVE")


def test_change_without_end_date_removes_it(api):
    consent = _call(api, "GrantConsents", _grant_request(
        api, end_date=common_pb2.Date(year=2027, month=6, day=1))).consents[0]
    changed = _call(api, "ChangeConsentEndDate", pb.ChangeConsentEndDateRequest(
        consent_id=consent.consent_id, professional_id=api.professional))
    assert not changed.consent.HasField("end_date") and changed.consent.sequence == 2


@pytest.mark.parametrize("method, request_", [
    ("GetConsent", pb.GetConsentRequest(consent_id="not-a-uuid")),
    ("CheckAccess", pb.CheckAccessRequest(contact_id="1", professional_id="")),
    ("ListConsents", pb.ListConsentsRequest(professional_id="x")),
    ("ListConsents", pb.ListConsentsRequest(professional_id=new_id(), page_token="!!garbage!!")),
    ("ListConsents", pb.ListConsentsRequest(professional_id=new_id(), page_size=-1)),
    ("ListConsentHistory", pb.ListConsentHistoryRequest(professional_id=new_id(), page_token="eyJoIjotMX0")),
    ("ListContactProfessionals", pb.ListContactProfessionalsRequest(contact_id="")),
    ("ListOrganisationProfessionals", pb.ListOrganisationProfessionalsRequest(organisation_id="{}")),
    ("ListConsentEvents", pb.ListConsentEventsRequest(after_position=-1)),
    ("RevokeConsent", pb.RevokeConsentRequest(consent_id="", professional_id="")),
])
def test_malformed_input_is_invalid_argument_never_unknown(api, method, request_):
    code, violations, _ = _refused(api, method, request_)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and violations


def test_an_unknown_consent_is_not_found(api):
    code, _, _ = _refused(api, "GetConsent", pb.GetConsentRequest(consent_id=new_id()))
    assert code == grpc.StatusCode.NOT_FOUND


def test_lists_page_with_opaque_tokens(api):
    professionals = [api.directory.add_account() for _ in range(5)]
    for professional in professionals:
        _call(api, "GrantConsents", _grant_request(api, professional_id=professional, contact_ids=api.contacts[:1]))
    seen, token = [], ""
    while True:
        page = _call(api, "ListOrganisationProfessionals", pb.ListOrganisationProfessionalsRequest(
            organisation_id=api.organisation, page_size=2, page_token=token))
        assert page.log_position == 5
        seen += [c.professional_id for c in page.consents]
        token = page.next_page_token
        if not token:
            break
    assert sorted(seen) == sorted(professionals)


def test_page_size_above_the_maximum_is_capped(api):
    response = _call(api, "ListConsents", pb.ListConsentsRequest(professional_id=api.professional, page_size=10**6))
    assert list(response.consents) == []


def test_history_and_events_in_proto(api):
    consent = _call(api, "GrantConsents", _grant_request(api, contact_ids=api.contacts[:1])).consents[0]
    _call(api, "RevokeConsent", pb.RevokeConsentRequest(consent_id=consent.consent_id,
                                                        professional_id=api.professional))
    history = _call(api, "ListConsentHistory", pb.ListConsentHistoryRequest(professional_id=api.professional,
                                                                            page_size=1))
    assert [c.kind for c in history.changes] == [pb.CHANGE_KIND_GRANTED] and history.next_page_token
    rest = _call(api, "ListConsentHistory", pb.ListConsentHistoryRequest(
        professional_id=api.professional, page_token=history.next_page_token))
    assert [(c.kind, c.reason) for c in rest.changes] == [(pb.CHANGE_KIND_REVOKED, "revoked")]
    events = _call(api, "ListConsentEvents", pb.ListConsentEventsRequest(after_position=1))
    assert events.head_position == 2 and [e.position for e in events.events] == [2]
    event = events.events[0]
    assert event.type == "pe.consent.revoked.v1" and event.reason == "revoked"
    assert event.consent.consent_id == consent.consent_id and event.consent.state == pb.CONSENT_STATE_REVOKED
    assert event.consent.sequence == 2 and event.consent.HasField("end_time")


@pytest.mark.parametrize("instant", [
    "2026-11-29T17:58:07.123456+00:00", "2026-03-29T03:00:00+02:00", "1970-01-01T00:00:00+00:00",
    "1969-12-31T23:59:59.999999+00:00", "0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59.999999+00:00"])
def test_set_time_gives_the_timestamp_from_datetime_gives(instant):
    from datetime import datetime
    from google.protobuf.timestamp_pb2 import Timestamp
    from consent.servicer import set_time
    value = datetime.fromisoformat(instant)
    ours, theirs = Timestamp(), Timestamp()
    set_time(ours, value)
    theirs.FromDatetime(value)
    assert ours == theirs
    assert ours.ToDatetime(tzinfo=value.tzinfo) == value
