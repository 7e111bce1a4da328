"""Flow 3 through the gateway: grant, live access, revoke, expiry; receipts by mail; events on RabbitMQ."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import jsonschema
import pytest
import yaml

from support.api import Api, add_contact, create_operator, create_professional, register
from support.stack import ROOT
from support.subscriber import Subscriber

pytestmark = pytest.mark.system
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.fixture(scope="module")
def world(stack, mailbox, stack_amqp_url):
    subscriber = Subscriber(stack_amqp_url, "pe.consent", "consent.#")
    operator = create_operator(stack, mailbox)
    organisation_id, admin = register(stack, mailbox, "Flex Uitzenden")
    assert operator.api.post(f"/organisations/{organisation_id}/authorise", json={}).status_code == 200
    contact = add_contact(stack, mailbox, admin, organisation_id, "contact")
    department = add_contact(stack, mailbox, admin, organisation_id, "department", department_name="HR")
    professional = create_professional(stack, mailbox, operator, name="Pien Professional")
    pending_id, _ = register(stack, mailbox, "Nog Niet Geautoriseerd")
    yield {"operator": operator, "organisation_id": organisation_id, "admin": admin, "contact": contact,
           "department": department, "professional": professional, "subscriber": subscriber,
           "pending_id": pending_id}
    subscriber.close()


def in_days(days: int) -> str:
    return (datetime.now(AMSTERDAM).date() + timedelta(days=days)).isoformat()


def tomorrow() -> str:
    return in_days(1)


def event_schemas():
    document = yaml.safe_load((ROOT / "docs" / "asyncapi.yaml").read_text())
    return document["components"]["schemas"]


def test_grant_access_revoke_and_expiry(world, stack, mailbox):
    professional, contact, department = world["professional"], world["contact"], world["department"]
    granted = professional.api.post("/consents", json={
        "organisation_id": world["organisation_id"], "contact_ids": [contact.contact_id]})
    assert granted.status_code == 201, granted.text
    until_tomorrow = professional.api.post("/consents", json={
        "organisation_id": world["organisation_id"], "contact_ids": [department.contact_id], "end_date": tomorrow()})
    assert until_tomorrow.status_code == 201, until_tomorrow.text
    to_contact = granted.json()["consents"][0]
    to_department = until_tomorrow.json()["consents"][0]
    assert to_department["end_date"] == tomorrow() and to_contact["end_date"] is None

    # granting again to a contact that holds a valid consent answers with that consent
    again = professional.api.post("/consents", json={
        "organisation_id": world["organisation_id"], "contact_ids": [contact.contact_id]})
    assert again.json()["consents"][0]["consent_id"] == to_contact["consent_id"]

    dossier_path = f"/dossiers/{professional.account_id}"
    assert contact.api.get(dossier_path).status_code == 200
    assert department.api.get(dossier_path).status_code == 200
    assert world["admin"].api.get(dossier_path).status_code == 404  # nothing granted to the administrator

    revoked = professional.api.post(f"/consents/{to_contact['consent_id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert contact.api.get(dossier_path).status_code == 404  # the very next request
    assert department.api.get(dossier_path).status_code == 200

    stack.restart("consent", CLOCK_OFFSET_SECONDS=str(2 * 86400), EXPIRY_INTERVAL_SECONDS="1")
    assert department.api.get(dossier_path).status_code == 404  # the end date has passed

    history = professional.api.get("/consents/history").json()["changes"]
    kinds = [(c["consent_id"], c["kind"]) for c in history]
    assert (to_contact["consent_id"], "granted") in kinds and (to_contact["consent_id"], "revoked") in kinds
    assert professional.api.get("/consents").json()["consents"] == []
    everything = professional.api.get("/consents", params={"include_ended": "true"}).json()["consents"]
    assert {c["state"] for c in everything} <= {"revoked", "expired"} and len(everything) == 2

    mailbox.wait_for(professional.email, count=4)  # welcome link, two grants, one revocation: sent by relays
    receipts = mailbox.to(professional.email)
    assert any("Flex Uitzenden" in m.text for m in receipts[1:])

    subscriber = world["subscriber"]
    subscriber.wait_for(lambda e: e[0] == "consent.expired" and e[2].get_subject() == to_department["consent_id"])
    by_key = {}
    for routing_key, headers, event in subscriber.poll():
        by_key.setdefault(routing_key, []).append(event)
        assert headers["ce-specversion"] == "1.0" and headers["ce-type"] == event.get_type()
    assert len(by_key["consent.granted"]) == 2 and len(by_key["consent.revoked"]) == 1
    schemas = event_schemas()
    for events in by_key.values():
        for event in events:
            data = event.get_data()
            assert data["professional_id"] == professional.account_id
            jsonschema.validate(data, schemas["ConsentEventData"])


def test_only_professionals_grant_and_bad_input_is_refused(world):
    body = {"organisation_id": world["organisation_id"], "contact_ids": [world["contact"].contact_id]}
    for role in ("admin", "contact", "operator"):
        assert world[role].api.post("/consents", json=body).status_code == 403
    assert Api(world["admin"].api.base_url).post("/consents", json=body).status_code == 401

    professional = world["professional"]
    yesterday = (datetime.now(AMSTERDAM).date() - timedelta(days=1)).isoformat()
    past = professional.api.post("/consents", json={**body, "end_date": yesterday})
    assert past.status_code == 400 and [e["field"] for e in past.json()["errors"]] == ["end_date"]
    stranger = professional.api.post("/consents", json={**body, "contact_ids": [world["operator"].account_id]})
    assert stranger.status_code == 400
    pending = professional.api.post("/consents", json={**body, "organisation_id": world["pending_id"]})
    assert pending.status_code in (404, 409)


def test_a_professional_cannot_touch_someone_elses_consent(world, stack, mailbox):
    professional = world["professional"]
    granted = professional.api.post("/consents", json={
        "organisation_id": world["organisation_id"], "contact_ids": [world["contact"].contact_id]})
    consent_id = granted.json()["consents"][0]["consent_id"]
    other = create_professional(stack, mailbox, world["operator"], name="Olga Ander")
    assert other.api.post(f"/consents/{consent_id}/revoke").status_code == 404
    assert other.api.patch(f"/consents/{consent_id}", json={"end_date": None}).status_code == 404
    # a date well ahead: an earlier test moved the consent service's clock two days on
    changed = professional.api.patch(f"/consents/{consent_id}", json={"end_date": in_days(30)})
    assert changed.status_code == 200 and changed.json()["end_date"] == in_days(30)


def test_every_consent_and_dossier_route_refuses_the_roles_that_may_not(world):
    professional = world["professional"]
    consent_id = professional.api.get("/consents", params={"include_ended": "true"}).json()["consents"][0]["consent_id"]
    anonymous = Api(professional.api.base_url)
    professional_only = [("GET", "/consents"), ("GET", "/consents/history"), ("GET", "/me/access-log"),
                         ("PATCH", f"/consents/{consent_id}"), ("POST", f"/consents/{consent_id}/revoke")]
    for method, path in professional_only:
        body = {"json": {"end_date": None}} if method == "PATCH" else {}
        for role in ("admin", "contact", "department", "operator"):
            assert world[role].api.request(method, path, **body).status_code == 403, (role, method, path)
        assert anonymous.request(method, path, **body).status_code == 401, (method, path)
    assert professional.api.get("/dossiers").status_code == 403  # the list is the contacts'
    for path in ("/dossiers", f"/dossiers/{professional.account_id}"):
        assert world["operator"].api.get(path).status_code == 403, path
        assert anonymous.get(path).status_code == 401, path


def _wait_for_state(professional, consent_id, state, timeout=30.0):
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        consents = professional.api.get("/consents", params={"include_ended": "true", "page_size": 200}).json()
        found = next((c for c in consents["consents"] if c["consent_id"] == consent_id), None)
        if found and found["state"] == state:
            return found
        time.sleep(0.2)
    raise AssertionError(f"consent {consent_id} did not become {state}")


def test_removing_a_contact_and_suspending_the_organisation_end_consents(stack, mailbox):
    operator = create_operator(stack, mailbox)
    organisation_id, admin = register(stack, mailbox, "Tijdelijk Werk BV")
    assert operator.api.post(f"/organisations/{organisation_id}/authorise", json={}).status_code == 200
    leaving = add_contact(stack, mailbox, admin, organisation_id, "contact")
    staying = add_contact(stack, mailbox, admin, organisation_id, "contact")
    professional = create_professional(stack, mailbox, operator, name="Ruben Removed")
    granted = professional.api.post("/consents", json={
        "organisation_id": organisation_id, "contact_ids": [leaving.contact_id, staying.contact_id],
        "end_date": in_days(60)}).json()["consents"]
    by_contact = {c["contact_id"]: c["consent_id"] for c in granted}

    assert admin.api.delete(f"/organisations/{organisation_id}/contacts/{leaving.contact_id}").status_code == 204
    ended = _wait_for_state(professional, by_contact[leaving.contact_id], "ended")
    assert ended["end_reason"] == "contact_removed"
    assert staying.api.get(f"/dossiers/{professional.account_id}").status_code == 200

    assert operator.api.post(f"/organisations/{organisation_id}/suspend",
                             json={"reason": "Onderzoek naar misbruik"}).status_code == 200
    suspended = _wait_for_state(professional, by_contact[staying.contact_id], "ended")
    assert suspended["end_reason"] == "organisation_suspended"
    assert staying.api.get(f"/dossiers/{professional.account_id}").status_code == 404
    notice = mailbox.wait_for(admin.email, containing="is geschorst")
    assert "Reden: Onderzoek naar misbruik" in notice.text
    history = professional.api.get("/consents/history").json()["changes"]
    assert [c["kind"] for c in history if c["consent_id"] == by_contact[staying.contact_id]] == ["granted", "ended"]
