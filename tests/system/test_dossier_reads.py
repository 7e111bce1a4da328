"""Reads of PE data through the gateway, every process real: a contact's list of dossiers is
checked live and logged for each professional it shows; a report asked at once after a contact's
removal counts no consent to that contact; professionals read their own dossier and no one else's."""
import json
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import date, timedelta

import pytest

from support.api import Api, add_contact, create_operator, create_professional, register, unique
from support.stack import ROOT

pytestmark = pytest.mark.system


def registration_of(person) -> str:
    return person.api.get("/me").json()["account"]["pe_registration_number"]


def import_progress(stack, tmp_path, people_points):
    start = date.today() - timedelta(days=365)
    records = [{"pe_registration_number": registration_of(person), "period_start": start.isoformat(),
                "period_end": (start + timedelta(days=3 * 365)).isoformat(), "points_required": 60,
                "points_earned": points, "renewal_submitted_date": None,
                "activities": [{"title": "Arbeidsrecht actueel", "provider": "Juridische Academie",
                                "completion_date": (start + timedelta(days=30)).isoformat(), "points": points,
                                "category": "Wet- en regelgeving"}]} for person, points in people_points]
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(records))
    done = subprocess.run([sys.executable, "-m", "reporting", "import-progress", str(path)], cwd=ROOT,
                          env=stack.service_env("reporting"), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def grant(professional, organisation_id, *contacts) -> list[dict]:
    response = professional.api.post("/consents", json={"organisation_id": organisation_id,
                                                        "contact_ids": [c.contact_id for c in contacts]})
    assert response.status_code == 201, response.text
    return response.json()["consents"]


@contextmanager
def reporting_hears_no_consent_events(stack):
    """Reporting consumes consent events from an exchange nobody publishes to, as when the broker
    holds them up; its own queue keeps them for when it listens again."""
    stack.restart("reporting", CONSENT_EXCHANGE="pe.consent.unheard", CONSENT_EVENTS_QUEUE="reporting.unheard")
    try:
        yield
    finally:
        stack.overrides.pop("reporting")
        stack.restart("reporting")


def read_model_caught_up(admin, organisation_id) -> None:
    """A report waits until reporting's read model has every consent change made before it was asked;
    a contact's list takes its candidates from that model."""
    assert admin.api.get(f"/organisations/{organisation_id}/reports/overview",
                         params={"format": "json"}).status_code == 200


def entries_of(professional, kind: str) -> list[dict]:
    return [e for e in professional.api.get("/me/access-log", params={"page_size": 200}).json()["entries"]
            if e["kind"] == kind]


@pytest.fixture(scope="module")
def world(stack, mailbox):
    operator = create_operator(stack, mailbox)
    organisation_id, admin = register(stack, mailbox, "Leesbaar Uitzenden")
    assert operator.api.post(f"/organisations/{organisation_id}/authorise", json={}).status_code == 200
    return {"operator": operator, "organisation_id": organisation_id, "admin": admin}


def test_a_contacts_list_is_checked_live_and_logged_for_each_professional_it_shows(world, stack, mailbox, tmp_path):
    organisation_id = world["organisation_id"]
    contact = add_contact(stack, mailbox, world["admin"], organisation_id, "contact")
    anna, bram, carla = (create_professional(stack, mailbox, world["operator"], name=name)
                         for name in ("Anna Lijst", "Bram Lijst", "Carla Lijst"))
    import_progress(stack, tmp_path, [(anna, 40), (bram, 10), (carla, 55)])
    consent_of = {person.account_id: grant(person, organisation_id, contact)[0]["consent_id"] for person in (anna, bram)}
    read_model_caught_up(world["admin"], organisation_id)

    listed = contact.api.get("/dossiers")
    assert listed.status_code == 200, listed.text
    shown = {d["professional_id"]: d for d in listed.json()["dossiers"]}
    assert set(shown) == {anna.account_id, bram.account_id} and listed.json()["next_page_token"] == ""
    assert shown[anna.account_id]["progress"]["pe_registration_number"] == registration_of(anna)
    assert shown[anna.account_id]["progress"]["points_earned"] == 40
    for person in (anna, bram):
        logged = entries_of(person, "dossier_listed")
        assert [(e["reader_account_id"], e["consent_id"], e["organisation_id"]) for e in logged] == [
            (contact.account_id, consent_of[person.account_id], organisation_id)]
        assert entries_of(person, "dossier_read") == []
    assert carla.api.get("/me/access-log").json()["entries"] == []

    pages, token = [], ""
    while True:
        page = contact.api.get("/dossiers", params={"page_size": 1, "page_token": token}).json()
        pages.append([d["professional_id"] for d in page["dossiers"]])
        token = page["next_page_token"]
        if not token:
            break
    assert sorted(p for page in pages for p in page) == sorted(shown) and all(len(page) <= 1 for page in pages)
    for person in (anna, bram):
        assert len(entries_of(person, "dossier_listed")) == 2

    with reporting_hears_no_consent_events(stack):  # its read model still holds Bram's consent
        for _ in range(3):
            consent_id = consent_of[bram.account_id]
            assert bram.api.post(f"/consents/{consent_id}/revoke").status_code == 200
            listed = contact.api.get("/dossiers").json()["dossiers"]
            assert [d["professional_id"] for d in listed] == [anna.account_id]  # consent said no
            consent_of[bram.account_id] = grant(bram, organisation_id, contact)[0]["consent_id"]
    assert len(entries_of(bram, "dossier_listed")) == 2  # nothing logged for the lists he was not in


def _add_unactivated_contact(admin, organisation_id):
    """A contact that never logs in: the consents to it are what counts here."""
    username = unique("leaving")
    response = admin.api.post(f"/organisations/{organisation_id}/contacts", json={
        "role": "contact", "name": f"Vertrekkend {username}", "email": f"{username}@werkgever.example",
        "phone": "030 111 2222", "username": username})
    assert response.status_code == 201, response.text
    return type("Contact", (), {"contact_id": response.json()["contact_id"]})


@contextmanager
def consent_writers_held(stack):
    """Consent's writers wait behind one long write transaction, as behind a backlog: the consents a
    removal ends stay active in consent (and in reporting) until it is over. Its reads go on."""
    from consent.repository import ConsentStore
    from svckit.db import make_engine
    engine = make_engine(stack.database_urls["consent"])
    try:
        with ConsentStore(engine).writing():
            yield
    finally:
        engine.dispose()


def wait_for_state(professional, consent_id, state, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        consents = professional.api.get("/consents", params={"include_ended": "true", "page_size": 200}).json()
        if any(c["consent_id"] == consent_id and c["state"] == state for c in consents["consents"]):
            return
        time.sleep(0.2)
    raise AssertionError(f"consent {consent_id} did not become {state}")


def test_a_report_asked_at_once_after_a_contacts_removal_counts_no_consent_to_it(world, stack, mailbox):
    admin, organisation_id = world["admin"], world["organisation_id"]
    staying = _add_unactivated_contact(admin, organisation_id)
    only_leaving = create_professional(stack, mailbox, world["operator"], name="Olaf Alleen")
    also_staying = create_professional(stack, mailbox, world["operator"], name="Bea Beide")
    to_staying = grant(also_staying, organisation_id, staying)[0]["consent_id"]
    report_path = f"/organisations/{organisation_id}/reports/overview"

    def report() -> dict:
        response = admin.api.get(report_path, params={"format": "json"})
        assert response.status_code == 200, response.text
        return {row["professional_id"]: row for row in response.json()["professionals"]}

    for _ in range(3):
        leaving = _add_unactivated_contact(admin, organisation_id)
        ended = grant(only_leaving, organisation_id, leaving)[0]["consent_id"]
        grant(also_staying, organisation_id, leaving)
        assert {only_leaving.account_id, also_staying.account_id} <= set(report())  # the read model has them

        with consent_writers_held(stack):
            removed = admin.api.delete(f"/organisations/{organisation_id}/contacts/{leaving.contact_id}")
            assert removed.status_code == 204
            rows = report()
        assert only_leaving.account_id not in rows and registration_of(only_leaving) not in json.dumps(rows)
        assert also_staying.account_id in rows
        wait_for_state(only_leaving, ended, "ended")  # and consent ends it once its turn comes

    inclusions = entries_of(also_staying, "report_inclusion")
    assert inclusions[0]["consent_id"] == to_staying  # counted for the contact that stayed
    assert inclusions[0]["report_id"] not in {e["report_id"] for e in entries_of(only_leaving, "report_inclusion")}


def test_professionals_read_their_own_dossier_and_every_role_gets_only_what_it_may(world, stack, mailbox,
                                                                                   tmp_path):
    admin, organisation_id = world["admin"], world["organisation_id"]
    granted_contact = add_contact(stack, mailbox, admin, organisation_id, "contact")
    other_contact = add_contact(stack, mailbox, admin, organisation_id, "department", department_name="L&D")
    pien = create_professional(stack, mailbox, world["operator"], name="Pien Eigen")
    kees = create_professional(stack, mailbox, world["operator"], name="Kees Ander")
    import_progress(stack, tmp_path, [(pien, 33), (kees, 21)])
    grant(pien, organisation_id, granted_contact)
    pien_path, kees_path = f"/dossiers/{pien.account_id}", f"/dossiers/{kees.account_id}"

    own = pien.api.get(pien_path)
    assert own.status_code == 200, own.text
    body = own.json()
    assert body["professional_id"] == pien.account_id and body["display_name"] == "Pien Eigen"
    assert body["consent_id"] is None and body["consent_end_date"] is None
    assert body["progress"]["pe_registration_number"] == registration_of(pien)
    assert body["progress"]["points_earned"] == 33
    assert body["progress"]["activities"][0]["title"] == "Arbeidsrecht actueel"
    assert pien.api.get(kees_path).status_code == 404          # another professional's: as if absent
    assert pien.api.get("/dossiers").status_code == 403        # the list is the contacts'
    assert pien.api.get("/me/access-log").json()["entries"] == []  # her own reads are not others' reads

    assert granted_contact.api.get(pien_path).status_code == 200
    assert other_contact.api.get(pien_path).status_code == 404
    assert admin.api.get(pien_path).status_code == 404         # nothing granted to the administrator
    admin.contact_id = admin.api.get("/me").json()["memberships"][0]["contact_id"]
    grant(pien, organisation_id, admin)
    assert admin.api.get(pien_path).status_code == 200
    assert world["operator"].api.get(pien_path).status_code == 403
    assert world["operator"].api.get("/dossiers").status_code == 403
    anonymous = Api(stack.gateway_url)
    assert anonymous.get(pien_path).status_code == 401 and anonymous.get("/dossiers").status_code == 401
    readers = {e["reader_account_id"] for e in entries_of(pien, "dossier_read")}
    assert readers == {granted_contact.account_id, admin.account_id}
