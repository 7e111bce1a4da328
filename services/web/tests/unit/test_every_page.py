"""Every page of every role, rendered against a fake API that answers as the gateway does."""
from __future__ import annotations

import pytest
from cachelib import SimpleCache

from web import config
from web.bootstrap import create_app
from web.gateway import Download

ORG = "6eb7c915-3d90-48ae-bd6c-a1ff803187db"
CONTACT = "0d8f0a51-6a0d-4e8e-9a0e-5b6f0f1c2d3e"
PRO = "1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d"
CONSENT = "2c3d4e5f-6071-4b8c-9d0e-1f2a3b4c5d6e"
ORGANISATION = {"organisation_id": ORG, "name": "Uitzendbureau Zeeland", "chamber_of_commerce_number": "12345678",
                "visiting_address": {"street": "Markt 1", "postcode": "4331 LJ", "city": "Middelburg"},
                "phone": "0118 123 456", "email": "info@zeeland.example", "status": "authorised",
                "create_time": "2026-12-01T10:00:00Z"}
CONTACTS = [{"contact_id": CONTACT, "organisation_id": ORG, "role": "department", "name": "Afdeling",
             "department_name": "L&D", "email": "ld@zeeland.example", "phone": ""}]
PROGRESS = {"pe_registration_number": "PE1", "period_start": "2026-01-01", "period_end": "2028-12-31",
            "points_required": 60, "points_earned": 40, "renewal_submitted_date": None,
            "activities": [{"title": "Arbeidsrecht actueel", "provider": "Academie", "completion_date": "2026-02-01",
                            "points": 8, "category": "Wet- en regelgeving"}]}
DOSSIER = {"professional_id": PRO, "display_name": "Anna Akkerman", "consent_id": CONSENT,
           "consent_end_date": "2027-03-31", "progress": PROGRESS}
CONSENTS = [{"consent_id": CONSENT, "organisation_id": ORG, "contact_id": CONTACT, "valid_from": "2026-12-01T10:00:00Z",
             "end_date": "2027-03-31", "state": "active", "end_time": None, "end_reason": None}]


class GatewayLike:
    def __init__(self, kind: str, role: str = "administrator"):
        self.kind, self.role = kind, role

    def log_in(self, username, password):
        return {"access_token": "a", "refresh_token": "r", "expires_in": 600, "account": {
            "account_id": PRO, "kind": self.kind, "username": username, "display_name": "Iemand"}}

    def me(self, token):
        return {"memberships": [{"organisation_id": ORG, "contact_id": CONTACT, "role": self.role,
                                 "organisation_status": "authorised"}]}

    def organisation(self, token, organisation_id):
        return ORGANISATION

    def organisations(self, token, status=None, name=""):
        return [ORGANISATION]

    def contacts(self, token, organisation_id):
        return CONTACTS

    def contact(self, token, organisation_id, contact_id):
        return CONTACTS[0]

    def dossier(self, token, professional_id):
        return DOSSIER

    def dossiers(self, token):
        return [DOSSIER]

    def consents(self, token, include_ended=True):
        return CONSENTS

    def consent_history(self, token):
        return [{"consent_id": CONSENT, "kind": "granted", "occur_time": "2026-12-01T10:00:00Z",
                 "end_date": "2027-03-31", "organisation_id": ORG, "contact_id": CONTACT}]

    def access_log(self, token):
        return [{"kind": "dossier_read", "occur_time": "2026-12-02T09:00:00Z", "organisation_id": ORG},
                {"kind": "report_inclusion", "occur_time": "2026-12-02T10:00:00Z", "organisation_id": ORG}]

    def transitions(self, token, organisation_id):
        return [{"from_status": "pending", "to_status": "authorised", "occur_time": "2026-12-01T11:00:00Z",
                 "reason": ""}]

    def report(self, token, organisation_id, format_, language):
        if format_ == "json":
            return {"summary": {"professionals": 1, "on_track": 1, "behind": 0, "dossier_submitted": 0, "no_data": 0},
                    "professionals": [{"name": "Anna Akkerman", "period_start": "2026-01-01", "period_end": "2028-12-31",
                                       "points_earned": 40, "points_required": 60, "renewal_submitted": False}],
                    "definitions": {"scope": "Alleen professionals met een geldige toestemming."}}
        return Download(b"%PDF-1.7", "application/pdf", "overzicht.pdf")


def logged_in(kind: str, role: str = "administrator"):
    app = create_app(config.load({"DEVELOPMENT": "1"}), api=GatewayLike(kind, role), session_store=SimpleCache())
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    client.post("/login", data={"username": "iemand", "password": "pw"})
    return client


@pytest.mark.parametrize("kind, role, path, expected", [
    ("professional", "", "/dossier", "Arbeidsrecht actueel"),
    ("professional", "", "/consents", "L&amp;D (afdeling)"),
    ("professional", "", "/consents", "opgenomen in een overzichtsrapportage"),
    ("professional", "", "/consents/new", "Uitzendbureau Zeeland"),
    ("professional", "", f"/consents/new/{ORG}", "L&amp;D (afdeling)"),
    ("professional", "", f"/consents/{CONSENT}/revoke", "Ja, intrekken"),
    ("employer_contact", "administrator", "/organisation", "12345678"),
    ("employer_contact", "administrator", "/organisation/edit", "4331 LJ"),
    ("employer_contact", "administrator", "/contacts", "Toevoegen beheerder"),
    ("employer_contact", "administrator", "/contacts/new", "2e contactpersoon"),
    ("employer_contact", "administrator", f"/contacts/{CONTACT}/edit", "ld@zeeland.example"),
    ("employer_contact", "administrator", f"/contacts/{CONTACT}/remove", "Ja, verwijderen"),
    ("employer_contact", "administrator", "/report", "Download als PDF"),
    ("employer_contact", "contact", "/professionals", "Anna Akkerman"),
    ("employer_contact", "contact", f"/professionals/{PRO}", "31-03-2027"),
    ("operator", "", "/operator/organisations", "Uitzendbureau Zeeland"),
    ("operator", "", f"/operator/organisations/{ORG}", "Schorsen"),
    ("operator", "", "/operator/professionals/new", "PE-nummer"),
    ("operator", "", "/operator/professionals/import", "CSV-bestand"),
])
def test_every_page_shows_what_its_role_needs(kind, role, path, expected):
    response = logged_in(kind, role).get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert expected in response.get_data(as_text=True)


def test_a_plain_contact_has_no_management_pages():
    client = logged_in("employer_contact", "contact")
    assert client.get("/organisation").status_code == 403
    assert client.get("/report.pdf").status_code == 403
    assert "Beheerders" not in client.get("/professionals").get_data(as_text=True)


def test_the_report_downloads_as_a_file():
    response = logged_in("employer_contact", "second_contact").get("/report.pdf")
    assert response.data.startswith(b"%PDF") and "attachment" in response.headers["Content-Disposition"]


def test_a_role_that_is_not_offered_is_told_next_to_the_roles():
    page = logged_in("employer_contact").post("/contacts/new", data={"role": "boss", "name": "X"}).get_data(as_text=True)
    assert "Kies een van de mogelijkheden." in page


def test_adding_a_person_and_a_department_sends_each_as_the_document_states_it():
    client = logged_in("employer_contact")
    api = client.application.extensions["pe.api"]
    sent = []
    api.add_contact = lambda token, organisation_id, body: sent.append(body) or {"contact_id": CONTACT}
    for role, department in (("contact", ""), ("department", "L&D")):
        response = client.post("/contacts/new", data={"role": role, "name": "Nina", "email": "n@x.example",
                                                      "username": "nina", "department_name": department})
        assert response.status_code == 302
    assert "department_name" not in sent[0] and sent[1]["department_name"] == "L&D"


def test_an_unforeseen_failure_is_a_page_in_the_pages_language():
    client = logged_in("professional")
    client.application.extensions["pe.api"].dossier = lambda *args: 1 / 0
    response = client.get("/dossier")
    assert response.status_code == 500 and "Er ging iets mis aan onze kant" in response.get_data(as_text=True)
