"""The dossier routes against fake services: who may read what, the list's live check and its
access-log entries, in a fixed number of calls, and its pages across memberships."""
import uuid

import pytest

from pe.common.v1 import common_pb2
from pe.consent.v1 import consent_pb2
from pe.identity.v1 import identity_pb2
from pe.organisation.v1 import organisation_pb2
from pe.reporting.v1 import reporting_pb2

AUTHORISED = organisation_pb2.ORGANISATION_STATUS_AUTHORISED
SUSPENDED = organisation_pb2.ORGANISATION_STATUS_SUSPENDED


def new_id() -> str:
    return str(uuid.uuid4())


def membership(contact_id, *, role=organisation_pb2.CONTACT_ROLE_CONTACT, status=AUTHORISED):
    return organisation_pb2.Membership(organisation_id=new_id(), contact_id=contact_id, role=role,
                                       organisation_status=status)


def summary(professional_id, consent_id, points=10.0):
    return reporting_pb2.Dossier(
        professional_id=professional_id, display_name=f"Naam {professional_id[:4]}", consent_id=consent_id,
        progress=reporting_pb2.Progress(pe_registration_number=f"PE-{professional_id[:6]}", points_required=60,
                                        points_earned=points, period_start=common_pb2.Date(year=2025, month=1, day=1),
                                        period_end=common_pb2.Date(year=2027, month=12, day=31)))


class Services:
    """Reporting's read model and consent's live answer for some contacts, served as the fakes' replies."""

    def __init__(self, backends, account_id, memberships):
        self.account_id = account_id
        self.candidates: dict[str, list[str]] = {}   # contact -> professionals the read model holds
        self.allowed: dict[tuple[str, str], str] = {}  # (contact, professional) -> consent consent allows now
        backends.replies[("organisation", "ListMemberships")] = organisation_pb2.ListMembershipsResponse(
            memberships=memberships)
        backends.replies[("reporting", "ListDossiers")] = self.list_dossiers
        backends.replies[("consent", "BatchCheckAccess")] = self.batch_check
        backends.replies[("reporting", "BatchGetDossiers")] = self.batch_get
        backends.replies[("consent", "CheckAccess")] = self.check
        backends.replies[("reporting", "GetDossier")] = self.get_dossier

    def list_dossiers(self, request):
        held = sorted(self.candidates.get(request.contact_id, []))
        start = int(request.page_token or 0)
        page = held[start:start + request.page_size]
        more = start + request.page_size < len(held)
        return reporting_pb2.ListDossiersResponse(
            dossiers=[reporting_pb2.Dossier(professional_id=p, consent_id="read-model") for p in page],
            next_page_token=str(start + request.page_size) if more else "")

    def batch_check(self, request):
        assert 1 <= len(request.professional_ids) <= 200
        return consent_pb2.BatchCheckAccessResponse(consents=[
            consent_pb2.Consent(consent_id=self.allowed[(request.contact_id, p)], professional_id=p,
                                contact_id=request.contact_id)
            for p in request.professional_ids if (request.contact_id, p) in self.allowed])

    def batch_get(self, request):
        assert request.reader_account_id == self.account_id
        return reporting_pb2.BatchGetDossiersResponse(
            dossiers=[summary(grant.professional_id, grant.consent_id) for grant in request.grants])

    def check(self, request):
        consent_id = self.allowed.get((request.contact_id, request.professional_id))
        if consent_id is None:
            return consent_pb2.CheckAccessResponse(allowed=False)
        return consent_pb2.CheckAccessResponse(allowed=True, consent=consent_pb2.Consent(consent_id=consent_id))

    def get_dossier(self, request):
        assert self.allowed[(request.reader_contact_id, request.professional_id)] == request.consent_id
        return reporting_pb2.GetDossierResponse(dossier=summary(request.professional_id, request.consent_id))


def bearer(signing_key, account_id, kind):
    return {"Authorization": f"Bearer {signing_key.token(sub=account_id, kind=kind)}"}


def methods(backends):
    return [(service, method) for service, method, _ in backends.calls]


@pytest.fixture
def contact(backends, signing_key):
    account_id, contact_id = new_id(), new_id()
    services = Services(backends, account_id, [membership(contact_id)])
    return type("Contact", (), dict(services=services, contact_id=contact_id,
                                    headers=bearer(signing_key, account_id, "employer_contact")))


def test_the_list_shows_only_those_consent_allows_now_and_has_reporting_log_each(client, backends, contact):
    professionals = sorted(new_id() for _ in range(3))
    contact.services.candidates[contact.contact_id] = professionals
    contact.services.allowed.update({(contact.contact_id, professionals[0]): "c-0",
                                     (contact.contact_id, professionals[2]): "c-2"})  # 1 revoked just now

    response = client.get("/api/v1/dossiers", headers=contact.headers)
    assert response.status_code == 200, response.json
    assert [(d["professional_id"], d["consent_id"]) for d in response.json["dossiers"]] == [
        (professionals[0], "c-0"), (professionals[2], "c-2")]
    assert response.json["dossiers"][0]["progress"]["points_earned"] == 10.0
    assert response.json["next_page_token"] == ""
    assert methods(backends) == [("organisation", "ListMemberships"), ("reporting", "ListDossiers"),
                                 ("consent", "BatchCheckAccess"), ("reporting", "BatchGetDossiers")]
    read = backends.calls[-1][2]
    assert read.reader_contact_id == contact.contact_id
    assert [(g.professional_id, g.consent_id) for g in read.grants] == [(professionals[0], "c-0"),
                                                                         (professionals[2], "c-2")]


def test_the_list_asks_no_further_when_there_is_nothing_to_show(client, backends, contact):
    assert client.get("/api/v1/dossiers", headers=contact.headers).json["dossiers"] == []
    assert ("consent", "BatchCheckAccess") not in methods(backends)
    contact.services.candidates[contact.contact_id] = [new_id()]          # consent no longer allows it
    backends.calls.clear()
    assert client.get("/api/v1/dossiers", headers=contact.headers).json["dossiers"] == []
    assert ("reporting", "BatchGetDossiers") not in methods(backends)


def test_the_list_pages_across_memberships_in_three_calls_each(client, backends, signing_key):
    account_id = new_id()
    contacts = sorted(new_id() for _ in range(2))
    suspended = new_id()
    services = Services(backends, account_id, [membership(contacts[1]), membership(suspended, status=SUSPENDED),
                                               membership(contacts[0])])
    everyone = {}
    for contact_id, count in ((contacts[0], 3), (contacts[1], 2), (suspended, 2)):
        professionals = sorted(new_id() for _ in range(count))
        services.candidates[contact_id] = professionals
        services.allowed.update({(contact_id, p): f"c-{p}" for p in professionals})
        everyone[contact_id] = professionals
    headers = bearer(signing_key, account_id, "employer_contact")

    pages, token = [], ""
    while True:
        backends.calls.clear()
        response = client.get("/api/v1/dossiers", headers=headers, query_string={"page_size": 2, "page_token": token})
        assert response.status_code == 200, response.json
        pages.append([d["professional_id"] for d in response.json["dossiers"]])
        listed = [request.contact_id for service, method, request in backends.calls if method == "ListDossiers"]
        assert len(backends.calls) == 1 + 3 * len(listed)
        token = response.json["next_page_token"]
        if not token:
            break
    assert pages == [everyone[contacts[0]][:2], [everyone[contacts[0]][2], everyone[contacts[1]][0]],
                     everyone[contacts[1]][1:]]  # nothing of the suspended organisation's contact


def test_a_page_token_the_list_did_not_hand_out_is_400_naming_it(client, backends, contact):
    for token in ("garbage!", "WyJhIl0", "x" * 501):
        response = client.get("/api/v1/dossiers", headers=contact.headers, query_string={"page_token": token})
        assert response.status_code == 400
        assert [e["field"] for e in response.json["errors"]] == ["page_token"]
    assert backends.calls == []


def test_a_contact_opens_a_dossier_only_under_a_consent_it_holds_now(client, backends, contact):
    granted, other = new_id(), new_id()
    contact.services.allowed[(contact.contact_id, granted)] = "c-1"
    response = client.get(f"/api/v1/dossiers/{granted}", headers=contact.headers)
    assert response.status_code == 200 and response.json["consent_id"] == "c-1"
    assert methods(backends)[-1] == ("reporting", "GetDossier")
    backends.calls.clear()
    assert client.get(f"/api/v1/dossiers/{other}", headers=contact.headers).status_code == 404
    assert ("reporting", "GetDossier") not in methods(backends)


def test_an_administrator_is_a_contact_like_any_other_here(client, backends, signing_key):
    account_id, contact_id, granted = new_id(), new_id(), new_id()
    services = Services(backends, account_id, [membership(contact_id, role=organisation_pb2.CONTACT_ROLE_ADMINISTRATOR)])
    services.allowed[(contact_id, granted)] = "c-1"
    headers = bearer(signing_key, account_id, "employer_contact")
    assert client.get(f"/api/v1/dossiers/{granted}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/dossiers/{new_id()}", headers=headers).status_code == 404


def test_a_professional_reads_their_own_dossier_and_no_one_elses(client, backends, signing_key):
    professional = new_id()
    backends.replies[("identity", "GetAccount")] = identity_pb2.GetAccountResponse(account=identity_pb2.Account(
        account_id=professional, pe_registration_number="PE-123"))
    backends.replies[("reporting", "GetOwnDossier")] = lambda request: reporting_pb2.GetOwnDossierResponse(
        dossier=reporting_pb2.Dossier(professional_id=request.professional_id, progress=reporting_pb2.Progress(
            pe_registration_number=request.pe_registration_number, points_earned=42, activities=[
                reporting_pb2.LearningActivity(title="Ethiek", points=42)])))
    headers = bearer(signing_key, professional, "professional")

    own = client.get(f"/api/v1/dossiers/{professional}", headers=headers)
    assert own.status_code == 200, own.json
    assert own.json["consent_id"] is None and own.json["progress"]["activities"][0]["title"] == "Ethiek"
    assert methods(backends) == [("identity", "GetAccount"), ("reporting", "GetOwnDossier")]
    assert backends.calls[1][2].pe_registration_number == "PE-123"
    backends.calls.clear()
    other = client.get(f"/api/v1/dossiers/{new_id()}", headers=headers)
    assert other.status_code == 404 and backends.calls == []


@pytest.mark.parametrize("kind, path, status", [
    ("professional", "/api/v1/dossiers", 403),
    ("operator", "/api/v1/dossiers", 403),
    ("operator", f"/api/v1/dossiers/{new_id()}", 403),
    (None, "/api/v1/dossiers", 401),
    (None, f"/api/v1/dossiers/{new_id()}", 401),
])
def test_the_roles_that_may_not_are_refused_without_a_service_call(client, backends, signing_key, kind, path, status):
    headers = bearer(signing_key, new_id(), kind) if kind else {}
    assert client.get(path, headers=headers).status_code == status
    assert backends.calls == []


def test_the_access_log_names_list_views_as_such(client, backends, signing_key):
    professional = new_id()
    backends.replies[("reporting", "ListAccessLog")] = reporting_pb2.ListAccessLogResponse(entries=[
        reporting_pb2.AccessLogEntry(kind=reporting_pb2.ACCESS_KIND_DOSSIER_LISTED, reader_account_id=new_id(),
                                     consent_id="c-1"),
        reporting_pb2.AccessLogEntry(kind=reporting_pb2.ACCESS_KIND_DOSSIER_READ, consent_id="c-1")])
    response = client.get("/api/v1/me/access-log", headers=bearer(signing_key, professional, "professional"))
    assert [e["kind"] for e in response.json["entries"]] == ["dossier_listed", "dossier_read"]
