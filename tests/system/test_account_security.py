"""Accounts and sessions as an attacker would try them, through the gateway of a running stack:
no takeover through a manager's edit, no mail flood, no lockout by strangers, and a logout that logs
out on the next request."""
import os
import time

import pytest

from support.api import (PASSWORD, Api, Person, add_contact, create_operator, create_professional, log_in,
                         register, unique)
from support.resources import DatabaseFactory, free_port
from support.stack import new_stack

pytestmark = pytest.mark.system

PROXY = "10.0.0.1"      # the one proxy the gateway trusts in this module's stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory, stack_amqp_url):
    """A stack whose gateway trusts one proxy, so that tests can act from several client addresses."""
    folder = tmp_path_factory.mktemp("stack")
    databases = DatabaseFactory(os.environ.get("TEST_POSTGRES_URL"), folder)
    stack = new_stack(folder / "stack", stack_amqp_url, databases, free_port)
    stack.overrides["gateway"] = {"TRUSTED_PROXY_HOPS": "1"}
    stack.start()
    yield stack
    stack.stop()
    databases.drop_all()


@pytest.fixture(scope="module")
def world(stack, mailbox):
    operator = create_operator(stack, mailbox)
    organisation_id, admin = register(stack, mailbox, "Uitzendbureau Veilig")
    assert operator.api.post(f"/organisations/{organisation_id}/authorise", json={}).status_code == 200
    second = add_contact(stack, mailbox, admin, organisation_id, "second_contact")
    contact = add_contact(stack, mailbox, admin, organisation_id, "contact")
    professional = create_professional(stack, mailbox, operator)
    granted = professional.api.post("/consents", json={"organisation_id": organisation_id,
                                                       "contact_ids": [contact.contact_id]})
    assert granted.status_code == 201, granted.text
    return {"operator": operator, "organisation_id": organisation_id, "admin": admin, "second": second,
            "contact": contact, "professional": professional}


def _from(address: str) -> dict:
    return {"X-Forwarded-For": address}


def _link_mails(mailbox, address: str) -> list:
    return [mail for mail in mailbox.to(address) if "token=" in mail.text]


def _me_of(admin: Person, world, contact_id: str) -> dict:
    response = admin.api.get(f"/organisations/{world['organisation_id']}/contacts/{contact_id}")
    assert response.status_code == 200, response.text
    return response.json()


# --- 1. takeover through a manager's edit ---------------------------------------------------------

@pytest.mark.parametrize("manager, target", [("second", "admin"), ("admin", "contact")])
def test_a_manager_cannot_move_the_login_email_of_someone_who_set_a_password(world, stack, mailbox, manager,
                                                                              target):
    victim = world[target]
    victim_contact_id = victim.contact_id or _admin_contact_id(world)
    mallory = f"{unique('mallory')}@evil.example"
    changed = world[manager].api.patch(f"/organisations/{world['organisation_id']}/contacts/{victim_contact_id}",
                                       json={"email": mallory})
    assert changed.status_code == 409, changed.text
    assert changed.json()["type"] == "urn:pe-insight:problem:email-changed-by-holder-only"
    Api(stack.gateway_url).post("/password-setup-links", json={"username_or_email": victim.username})
    mailbox.wait_for(victim.email, containing="token=", count=2)      # the reset goes to the holder
    time.sleep(1)
    assert mailbox.to(mallory) == []
    assert _me_of(world["admin"], world, victim_contact_id)["email"] == victim.email


def _admin_contact_id(world) -> str:
    me = world["admin"].api.get("/me").json()
    return me["memberships"][0]["contact_id"]


def test_the_holder_changes_the_login_email_confirmed_by_the_new_address(world, stack, mailbox):
    second = world["second"]
    new_address = f"{unique('nieuw')}@werkgever.example"
    wrong = second.api.post("/me/email-changes", json={"current_password": "not it at all", "new_email": new_address})
    assert wrong.status_code == 403 and wrong.json()["errors"][0]["field"] == "current_password"
    asked = second.api.post("/me/email-changes", json={"current_password": PASSWORD, "new_email": new_address})
    assert asked.status_code == 202, asked.text
    notice = mailbox.wait_for(second.email, containing="wijzigen")
    assert "token=" not in notice.text                              # the old address cannot confirm it
    confirmation = mailbox.wait_for(new_address, containing="confirm-email")
    assert second.api.get("/me").json()["account"]["email"] == second.email   # not before it is confirmed

    confirmed = Api(stack.gateway_url).post("/email-changes/confirmations", json={"token": confirmation.token()})
    assert confirmed.status_code == 200 and confirmed.json()["email"] == new_address
    again = Api(stack.gateway_url).post("/email-changes/confirmations", json={"token": confirmation.token()})
    assert again.status_code == 409
    assert second.api.get("/me").json()["account"]["email"] == new_address
    mailbox.wait_for(second.email, containing="gewijzigd")
    # The organisation's contact card follows the confirmed address (through identity's event).
    deadline = time.monotonic() + 15
    while _me_of(world["admin"], world, second.contact_id)["email"] != new_address:
        assert time.monotonic() < deadline, "the contact card kept the old address"
        time.sleep(0.2)


# --- 2. mail flooding -----------------------------------------------------------------------------

def test_many_anonymous_link_requests_send_at_most_three_mails_an_hour(world, stack, mailbox):
    contact = add_contact(stack, mailbox, world["admin"], world["organisation_id"], "contact")
    assert len(_link_mails(mailbox, contact.email)) == 1              # the invitation, within this hour
    anonymous = Api(stack.gateway_url)
    for number in range(21):
        response = anonymous.post("/password-setup-links", json={"username_or_email": contact.username},
                                  headers=_from(f"192.0.2.{number + 1}"))
        assert response.status_code == 202                            # answered the same every time
    mailbox.wait_for(contact.email, containing="token=", count=3)
    time.sleep(3)
    assert len(_link_mails(mailbox, contact.email)) == 3


@pytest.mark.parametrize("decision", ["pending", "suspended"])
def test_an_organisation_that_is_not_authorised_adds_no_contacts(world, stack, mailbox, decision):
    organisation_id, admin = register(stack, mailbox, f"Nog Niet {decision}")
    if decision == "suspended":
        operator = world["operator"]
        assert operator.api.post(f"/organisations/{organisation_id}/authorise", json={}).status_code == 200
        assert operator.api.post(f"/organisations/{organisation_id}/suspend",
                                 json={"reason": "onderzoek"}).status_code == 200
    phish = f"{unique('phish')}@victim.example"
    added = admin.api.post(f"/organisations/{organisation_id}/contacts", json={
        "role": "contact", "name": "Klik hier: http://phish.example", "email": phish, "username": unique("phish")})
    assert added.status_code == 409, added.text
    time.sleep(1)
    assert mailbox.to(phish) == []


# --- 3. no lockout by strangers -------------------------------------------------------------------

def test_a_stranger_guessing_from_elsewhere_does_not_keep_the_owner_out(world, stack):
    admin = world["admin"]
    anonymous = Api(stack.gateway_url)
    refused = []
    for _ in range(12):
        response = anonymous.post("/sessions", json={"username": admin.username, "password": "a wrong guess!"},
                                  headers=_from("198.51.100.66"))
        refused.append(response.status_code)
        if response.status_code == 429:
            time.sleep(min(int(response.headers["Retry-After"]), 3))
    assert 401 in refused and 429 in refused          # the guesser is slowed down, then held back
    # The owner, at another address, waits at most the bounded delay and gets in.
    for _ in range(3):
        response = anonymous.post("/sessions", json={"username": admin.username, "password": PASSWORD},
                                  headers=_from("203.0.113.5"))
        if response.status_code != 429:
            break
        assert int(response.headers["Retry-After"]) <= 30
        time.sleep(int(response.headers["Retry-After"]))
    assert response.status_code == 201, response.text


# --- 4. logout that logs out ------------------------------------------------------------------------

def _reads(person: Person, professional_id: str) -> list[int]:
    return [person.api.get("/me").status_code, person.api.get("/dossiers").status_code,
            person.api.get(f"/dossiers/{professional_id}").status_code]


def _refused_within_a_second(person: Person, professional_id: str) -> None:
    deadline = time.monotonic() + 1.0
    while True:
        statuses = _reads(person, professional_id)
        if statuses == [401, 401, 401]:
            return
        assert time.monotonic() < deadline, statuses
        time.sleep(0.05)


@pytest.mark.parametrize("ending", ["logout", "logout_with_refresh_token", "password_change", "password_reset"])
def test_after_the_session_ends_its_access_token_is_refused_within_a_second(world, stack, mailbox, ending):
    contact = add_contact(stack, mailbox, world["admin"], world["organisation_id"], "contact")
    professional = world["professional"]
    professional_id = professional.account_id
    assert professional.api.post("/consents", json={"organisation_id": world["organisation_id"],
                                                    "contact_ids": [contact.contact_id]}).status_code == 201
    response = Api(stack.gateway_url).post("/sessions", json={"username": contact.username, "password": PASSWORD})
    tokens = response.json()
    person = Person(contact.username, contact.email, Api(stack.gateway_url, tokens["access_token"]))
    assert _reads(person, professional_id) == [200, 200, 200]
    if ending == "logout":
        assert person.api.delete("/session").status_code == 204
    elif ending == "logout_with_refresh_token":
        assert Api(stack.gateway_url).post("/sessions/revoke",
                                           json={"refresh_token": tokens["refresh_token"]}).status_code == 204
    elif ending == "password_change":
        changed = person.api.post("/me/password", json={"current_password": PASSWORD, "new_password": PASSWORD + "!"})
        assert changed.status_code == 204, changed.text
    else:
        Api(stack.gateway_url).post("/password-setup-links", json={"username_or_email": contact.username})
        mail = mailbox.wait_for(contact.email, containing="token=", count=len(_link_mails(mailbox, contact.email)) + 1)
        assert Api(stack.gateway_url).post("/password-setups", json={
            "token": mail.token(), "password": PASSWORD + "!"}).status_code == 200
    _refused_within_a_second(person, professional_id)
    if ending in ("password_change", "password_reset"):
        assert log_in(stack, contact.username, PASSWORD + "!").api.get("/me").status_code == 200


def test_a_removed_contacts_token_is_refused_within_a_second(world, stack, mailbox):
    admin, organisation_id = world["admin"], world["organisation_id"]
    leaver = add_contact(stack, mailbox, admin, organisation_id, "contact")
    assert leaver.api.get("/me").status_code == 200
    assert admin.api.delete(f"/organisations/{organisation_id}/contacts/{leaver.contact_id}").status_code == 204
    deadline = time.monotonic() + 1.0
    while leaver.api.get("/me").status_code != 401:
        assert time.monotonic() < deadline
        time.sleep(0.05)
