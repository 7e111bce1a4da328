"""Flows 1 and 2 through the gateway, every process real, mail caught by a real SMTP server."""
import time
from dataclasses import dataclass

import pytest

from support.api import (PASSWORD, Api, Person, activate, add_contact, create_operator, create_professional,
                         register, registration_form, unique)

pytestmark = pytest.mark.system


@dataclass
class World:
    operator: Person
    org_a: str
    admin_a: Person
    second_a: Person
    contact_a: Person
    department_a: Person
    org_b: str
    admin_b: Person
    professional: Person
    anonymous: Person


@pytest.fixture(scope="module")
def world(stack, mailbox) -> World:
    operator = create_operator(stack, mailbox)
    org_a, admin_a = register(stack, mailbox, "Uitzendbureau Alfa")
    org_b, admin_b = register(stack, mailbox, "Backoffice Beta", city="Amsterdam")
    for organisation_id in (org_a, org_b):
        response = operator.api.post(f"/organisations/{organisation_id}/authorise", json={})
        assert response.status_code == 200, response.text
    second_a = add_contact(stack, mailbox, admin_a, org_a, "second_contact")
    department_a = add_contact(stack, mailbox, admin_a, org_a, "department", department_name="HR")
    contact_a = add_contact(stack, mailbox, second_a, org_a, "contact")
    professional = create_professional(stack, mailbox, operator)
    anonymous = Person("", "", Api(stack.gateway_url))
    return World(operator, org_a, admin_a, second_a, contact_a, department_a, org_b, admin_b, professional,
                 anonymous)


def test_registration_mail_confirms_the_username_and_authorisation_mail_follows(world, mailbox):
    first = mailbox.to(world.admin_a.email)[0]
    assert world.admin_a.username in first.text and "token=" in first.text
    assert first.html and world.admin_a.username in first.html
    assert len(mailbox.to(world.admin_a.email)) >= 2  # the authorisation confirmation came after


def test_each_added_contact_used_its_own_link(world):
    me = world.department_a.api.get("/me").json()
    assert me["account"]["username"] == world.department_a.username
    assert me["memberships"] == [{"organisation_id": world.org_a, "contact_id": world.department_a.contact_id,
                                  "role": "department", "organisation_status": "authorised"}]


ROLES = ("admin_a", "second_a", "contact_a", "department_a", "admin_b", "professional", "operator", "anonymous")


def _expect(world, method, path, expected, body=None):
    seen = {}
    for role in ROLES:
        kwargs = {"json": body(role) if callable(body) else body} if body is not None else {}
        response = getattr(world, role).api.request(method, path.format(a=world.org_a, **_ids(world)), **kwargs)
        seen[role] = response.status_code
        if response.status_code >= 400:
            assert response.headers["Content-Type"] == "application/problem+json", (role, response.text)
    assert seen == dict(zip(ROLES, expected)), f"{method} {path}"


def _ids(world):
    return {"department": world.department_a.contact_id}


def test_who_may_see_organisation_data(world):
    _expect(world, "GET", "/organisations/{a}", (200, 200, 403, 403, 404, 200, 200, 401))


def test_professional_sees_only_name_and_city(world):
    body = world.professional.api.get(f"/organisations/{world.org_a}").json()
    assert body == {"organisation_id": world.org_a, "name": "Uitzendbureau Alfa", "city": "Utrecht"}


def test_who_may_edit_organisation_data(world):
    _expect(world, "PATCH", "/organisations/{a}", (200, 200, 403, 403, 404, 403, 403, 401),
            body={"phone": "030 999 8888"})
    assert world.operator.api.get(f"/organisations/{world.org_a}").json()["phone"] == "030 999 8888"


def test_who_may_list_contacts(world):
    _expect(world, "GET", "/organisations/{a}/contacts", (200, 200, 403, 403, 404, 200, 200, 401))
    public = world.professional.api.get(f"/organisations/{world.org_a}/contacts").json()["contacts"]
    assert {c["role"] for c in public} == {"administrator", "second_contact", "contact", "department"}
    assert all(set(c) == {"contact_id", "name", "role", "department_name"} for c in public)


def test_who_may_add_contacts(world):
    def body(role):
        return {"role": "contact", "name": "Regiomanager Noord", "email": f"{role}@x.example",
                "username": unique(f"rm-{role.replace('_', '-')}")}
    _expect(world, "POST", "/organisations/{a}/contacts", (201, 201, 403, 403, 404, 403, 403, 401), body=body)


def test_who_may_read_and_change_one_contact(world):
    _expect(world, "GET", "/organisations/{a}/contacts/{department}", (200, 200, 403, 403, 404, 403, 200, 401))
    _expect(world, "PATCH", "/organisations/{a}/contacts/{department}", (200, 200, 403, 403, 404, 403, 403, 401),
            body={"department_name": "L&D"})


def test_who_may_see_transitions(world):
    _expect(world, "GET", "/organisations/{a}/transitions", (200, 200, 403, 403, 404, 403, 200, 401))


def test_only_the_operator_decides_on_organisations(world, stack, mailbox):
    org_c, admin_c = register(stack, mailbox, "Detachering Gamma")
    _expect(world, "POST", f"/organisations/{org_c}/reject", (403, 403, 403, 403, 403, 403, 200, 401),
            body={"reason": "KvK-nummer hoort bij een ander bedrijf"})
    rejected = mailbox.wait_for(admin_c.email, containing="niet geautoriseerd")
    assert "Reden: KvK-nummer hoort bij een ander bedrijf" in rejected.text
    transitions = world.operator.api.get(f"/organisations/{org_c}/transitions").json()["transitions"]
    assert transitions[-1]["to_status"] == "rejected"
    assert transitions[-1]["actor_account_id"] == world.operator.account_id
    assert transitions[-1]["reason"] == "KvK-nummer hoort bij een ander bedrijf"


def test_only_the_operator_creates_professionals(world):
    def body(role):
        return {"username": unique("p"), "email": f"{role}@p.example", "display_name": "P",
                "pe_registration_number": unique("PE")}
    _expect(world, "POST", "/professionals", (403, 403, 403, 403, 403, 403, 201, 401), body=body)


def test_who_may_list_organisations(world):
    _expect(world, "GET", "/organisations", (403, 403, 403, 403, 403, 200, 200, 401))


def test_professionals_see_authorised_organisations_only_searchable_and_paged(world, stack, mailbox):
    pending, _ = register(stack, mailbox, "Alfa Wachtend")
    found = world.professional.api.get("/organisations", params={"name": "alfa"}).json()["organisations"]
    assert [o["organisation_id"] for o in found] == [world.org_a]
    by_city = world.professional.api.get("/organisations", params={"city": "amsterdam"}).json()["organisations"]
    assert world.org_b in [o["organisation_id"] for o in by_city] and world.org_a not in str(by_city)
    assert world.professional.api.get(f"/organisations/{pending}").status_code == 404
    first = world.professional.api.get("/organisations", params={"page_size": 1}).json()
    assert len(first["organisations"]) == 1 and first["next_page_token"]
    second = world.professional.api.get("/organisations", params={"page_size": 1,
                                                                 "page_token": first["next_page_token"]}).json()
    assert second["organisations"][0]["organisation_id"] != first["organisations"][0]["organisation_id"]
    pending_list = world.operator.api.get("/organisations", params={"status": "pending"}).json()["organisations"]
    assert pending in [o["organisation_id"] for o in pending_list]


def test_at_most_one_second_contact(world):
    response = world.admin_a.api.post(f"/organisations/{world.org_a}/contacts", json={
        "role": "second_contact", "name": "Nog een", "email": "nog@x.example", "username": unique("second")})
    assert response.status_code == 409
    assert response.headers["Content-Type"] == "application/problem+json"


def test_the_administrator_cannot_be_removed(world):
    contacts = world.admin_a.api.get(f"/organisations/{world.org_a}/contacts").json()["contacts"]
    administrator = next(c for c in contacts if c["role"] == "administrator")
    response = world.second_a.api.delete(f"/organisations/{world.org_a}/contacts/{administrator['contact_id']}")
    assert response.status_code == 409


def test_a_removed_contact_loses_access_on_the_next_request(world, stack, mailbox):
    leaving = add_contact(stack, mailbox, world.admin_a, world.org_a, "contact")
    assert leaving.api.get("/me").json()["memberships"]
    assert world.admin_a.api.delete(f"/organisations/{world.org_a}/contacts/{leaving.contact_id}").status_code == 204
    # The membership is gone at once; the account's session ends as soon as identity has disabled it.
    me = leaving.api.get("/me")
    assert me.status_code == 401 or me.json()["memberships"] == []
    assert leaving.api.get(f"/organisations/{world.org_a}/contacts").status_code in (401, 404)
    relogin = Api(stack.gateway_url).post("/sessions", json={"username": leaving.username, "password": PASSWORD})
    assert relogin.status_code == 401


def test_a_corrected_address_gets_a_new_invitation_and_the_first_link_stops_working(world, stack, mailbox):
    username = unique("contact")
    mistyped, corrected = f"{username}@werkgever.exmaple", f"{username}@werkgever.example"
    added = world.admin_a.api.post(f"/organisations/{world.org_a}/contacts", json={
        "role": "contact", "name": "Piet Typo", "email": mistyped, "phone": "030 111 2222", "username": username})
    assert added.status_code == 201, added.text
    first = mailbox.wait_for(mistyped, containing="token=")
    changed = world.second_a.api.patch(f"/organisations/{world.org_a}/contacts/{added.json()['contact_id']}",
                                       json={"email": corrected, "name": "Piet de Vries"})
    assert changed.status_code == 200 and changed.json()["email"] == corrected
    mailbox.wait_for(corrected, containing="token=")
    stale = Api(stack.gateway_url).post("/password-setups", json={"token": first.token(), "password": PASSWORD})
    assert stale.status_code == 409
    person = activate(stack, mailbox, username, corrected)
    account = person.api.get("/me").json()["account"]
    assert (account["email"], account["display_name"]) == (corrected, "Piet de Vries")


def test_registration_conflicts_name_the_field_and_store_nothing(world, stack):
    api = Api(stack.gateway_url)
    form = registration_form("Dubbel BV", unique("dubbel"), "dubbel@x.example")
    assert api.post("/registrations", json=form).status_code == 201
    again = registration_form("Dubbel Twee BV", unique("dubbel"), "dubbel2@x.example")
    again["organisation"]["chamber_of_commerce_number"] = form["organisation"]["chamber_of_commerce_number"]
    response = api.post("/registrations", json=again)
    assert response.status_code == 409
    assert [e["field"] for e in response.json()["errors"]] == ["organisation.chamber_of_commerce_number"]

    taken = registration_form("Dubbel Drie BV", world.admin_b.username.upper(), "dubbel3@x.example")
    response = api.post("/registrations", json=taken)
    assert response.status_code == 409
    assert [e["field"] for e in response.json()["errors"]] == ["applicant.username"]
    listed = world.operator.api.get("/organisations", params={"name": "Dubbel"}).json()["organisations"]
    assert [o["name"] for o in listed] == ["Dubbel BV"]


def test_a_retried_registration_registers_once(world, stack, mailbox):
    username = unique("retry")
    form = registration_form("Herhaling BV", username, f"{username}@x.example")
    headers = {"Idempotency-Key": unique("key")}
    first = Api(stack.gateway_url).post("/registrations", json=form, headers=headers)
    second = Api(stack.gateway_url).post("/registrations", json=form, headers=headers)
    assert first.status_code == 201 and second.status_code == 201
    assert first.json()["organisation_id"] == second.json()["organisation_id"]
    mailbox.wait_for(f"{username}@x.example", containing="token=")
    listed = world.operator.api.get("/organisations", params={"name": "Herhaling"}).json()["organisations"]
    assert len(listed) == 1


def test_invalid_registration_names_each_field_and_stores_nothing(world, stack):
    form = registration_form("Fout BV", unique("fout"), "fout@x.example")
    form["organisation"]["chamber_of_commerce_number"] = "1234"
    form["organisation"]["visiting_address"]["postcode"] = "12345"
    response = Api(stack.gateway_url).post("/registrations", json=form)
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"organisation.chamber_of_commerce_number", "organisation.visiting_address.postcode"} <= fields
    assert world.operator.api.get("/organisations", params={"name": "Fout BV"}).json()["organisations"] == []


def test_forgot_password_answers_the_same_for_unknown_accounts(world, stack, mailbox):
    api = Api(stack.gateway_url)
    known = api.post("/password-setup-links", json={"username_or_email": world.admin_b.username})
    unknown = api.post("/password-setup-links", json={"username_or_email": unique("nobody")})
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert known.status_code == 202
    mail = mailbox.wait_for(world.admin_b.email, containing="token=", count=2)
    new_password = "Een ander lang wachtwoord 42"
    assert api.post("/password-setups", json={"token": mail.token(), "password": new_password}).status_code == 200
    assert api.post("/password-setups", json={"token": mail.token(), "password": new_password}).status_code == 409
    assert api.post("/sessions", json={"username": world.admin_b.username, "password": new_password}).status_code == 201


def test_password_rules_are_explained(world, stack, mailbox):
    org, admin = register(stack, mailbox, "Wachtwoord BV")
    api = Api(stack.gateway_url)
    api.post("/password-setup-links", json={"username_or_email": admin.username})
    mail = mailbox.wait_for(admin.email, containing="token=", count=2)
    for weak in ("kort", f"{admin.username}-is-mijn-wachtwoord", "passwordpassword"):
        response = api.post("/password-setups", json={"token": mail.token(), "password": weak})
        assert response.status_code == 400, weak
        assert [e["field"] for e in response.json()["errors"]] == ["password"]
    # a refused password does not use the link up
    assert api.post("/password-setups", json={"token": mail.token(), "password": PASSWORD}).status_code == 200


def test_failed_logins_slow_down_then_hold_back_the_address_that_keeps_failing(world, stack):
    api = Api(stack.gateway_url)
    failed = 0
    while failed < 5:
        response = api.post("/sessions", json={"username": world.admin_b.username, "password": "fout"})
        if response.status_code == 429:                     # slowed down: wait as told
            assert response.headers["Content-Type"] == "application/problem+json"
            assert 1 <= int(response.headers["Retry-After"]) <= 30
            time.sleep(int(response.headers["Retry-After"]))
            continue
        assert response.status_code == 401
        failed += 1
    held = api.post("/sessions", json={"username": world.admin_b.username, "password": PASSWORD})
    assert held.status_code == 429                          # this address, even with the right password
    assert held.json()["type"] == "urn:pe-insight:problem:too-many-attempts"
    assert int(held.headers["Retry-After"]) > 60


def test_refresh_rotates_and_reuse_or_logout_ends_the_session(world, stack):
    api = Api(stack.gateway_url)
    session = api.post("/sessions", json={"username": world.department_a.username, "password": PASSWORD}).json()
    rotated = api.post("/sessions/refresh", json={"refresh_token": session["refresh_token"]})
    assert rotated.status_code == 200
    assert Api(stack.gateway_url, rotated.json()["access_token"]).get("/me").status_code == 200
    reuse = api.post("/sessions/refresh", json={"refresh_token": session["refresh_token"]})
    assert reuse.status_code == 401
    # re-use ended the whole family, the rotated token too
    assert api.post("/sessions/refresh", json={"refresh_token": rotated.json()["refresh_token"]}).status_code == 401

    fresh = api.post("/sessions", json={"username": world.department_a.username, "password": PASSWORD}).json()
    assert api.post("/sessions/revoke", json={"refresh_token": fresh["refresh_token"]}).status_code == 204
    assert api.post("/sessions/refresh", json={"refresh_token": fresh["refresh_token"]}).status_code == 401


def test_operator_imports_professionals_from_csv_row_by_row(world, mailbox):
    good = unique("csv")
    text = ("username,email,display_name,pe_registration_number,language\n"
            f"{good},{good}@mail.example,Carla CSV,{unique('PE')},en\n"
            f"{unique('bad')},not-an-address,Bert Bad,{unique('PE')},nl\n")
    response = world.operator.api.post("/professionals/imports", data=text.encode(),
                                       headers={"Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [a["username"] for a in body["created"]] == [good]
    assert [r["line"] for r in body["rejected"]] == [3] and "email" in body["rejected"][0]["message"]
    mailbox.wait_for(f"{good}@mail.example", containing="token=")


def test_mail_sent_while_smtp_is_down_arrives_when_it_is_back(world, stack, mailbox):
    stack.stop_process("mail")
    username = unique("outage")
    email = f"{username}@werkgever.example"
    response = Api(stack.gateway_url).post("/registrations", json=registration_form("Storing BV", username, email))
    assert response.status_code == 201
    import time
    time.sleep(3)
    assert mailbox.to(email) == []
    stack.start_mail()
    activate(stack, mailbox, username, email)
    assert len(mailbox.to(email)) == 1
