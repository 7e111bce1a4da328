"""A small client of the gateway's API, used by system tests the way a frontend would use it."""
from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass

import requests

from support.mailbox import Mailbox
from support.stack import Stack

PASSWORD = "Zeven zonnige zeilboten!"
_numbers = itertools.count(10_000_000 + uuid.uuid4().int % 80_000_000)


class Api:
    def __init__(self, base_url: str, token: str | None = None):
        self.base_url, self.token = base_url, token

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return requests.request(method, f"{self.base_url}/api/v1{path}", headers=headers, timeout=30, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def patch(self, path, **kwargs):
        return self.request("PATCH", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)


@dataclass
class Person:
    username: str
    email: str
    api: Api
    account_id: str = ""
    contact_id: str = ""


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def registration_form(name: str, username: str, email: str, *, city: str = "Utrecht") -> dict:
    return {
        "organisation": {"name": name, "chamber_of_commerce_number": str(next(_numbers)),
                         "visiting_address": {"street": "Stationsplein 1", "postcode": "3511 ED", "city": city},
                         "phone": "030 123 4567", "email": f"info@{username}.example"},
        "applicant": {"name": f"Beheerder {name}", "email": email, "phone": "030 765 4321", "username": username},
    }


def log_in(stack: Stack, username: str, password: str = PASSWORD) -> Person:
    response = Api(stack.gateway_url).post("/sessions", json={"username": username, "password": password})
    assert response.status_code == 201, response.text
    body = response.json()
    return Person(username, body["account"]["email"], Api(stack.gateway_url, body["access_token"]),
                  account_id=body["account"]["account_id"])


def activate(stack: Stack, mailbox: Mailbox, username: str, email: str, *, count: int = 1) -> Person:
    """Open the password-setup mail, follow its link, set the password, log in."""
    mail = mailbox.wait_for(email, containing="token=", count=count)
    response = Api(stack.gateway_url).post("/password-setups", json={"token": mail.token(), "password": PASSWORD})
    assert response.status_code == 200, response.text
    return log_in(stack, username)


def register(stack: Stack, mailbox: Mailbox, name: str, *, city: str = "Utrecht") -> tuple[str, Person]:
    username = unique("admin")
    email = f"{username}@werkgever.example"
    response = Api(stack.gateway_url).post("/registrations", json=registration_form(name, username, email, city=city))
    assert response.status_code == 201, response.text
    return response.json()["organisation_id"], activate(stack, mailbox, username, email)


def create_operator(stack: Stack, mailbox: Mailbox) -> Person:
    username = unique("operator")
    email = f"{username}@seu.example"
    made = stack.command("identity", "create-operator", "--username", username, "--email", email,
                         "--name", "Operator SEU", timeout=60)
    assert made.returncode == 0, made.stdout + made.stderr
    return activate(stack, mailbox, username, email)


def create_professional(stack: Stack, mailbox: Mailbox, operator: Person, name: str = "Pim Professional") -> Person:
    username = unique("pro")
    email = f"{username}@mail.example"
    response = operator.api.post("/professionals", json={
        "username": username, "email": email, "display_name": name,
        "pe_registration_number": f"PE{next(_numbers)}"})
    assert response.status_code == 201, response.text
    return activate(stack, mailbox, username, email)


def add_contact(stack: Stack, mailbox: Mailbox, manager: Person, organisation_id: str, role: str,
                **extra) -> Person:
    username = unique(role.replace("_", "-"))
    email = f"{username}@werkgever.example"
    response = manager.api.post(f"/organisations/{organisation_id}/contacts", json={
        "role": role, "name": f"{role} {username}", "email": email, "phone": "030 111 2222",
        "username": username, **extra})
    assert response.status_code == 201, response.text
    person = activate(stack, mailbox, username, email)
    person.contact_id = response.json()["contact_id"]
    return person
