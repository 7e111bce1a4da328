"""`make demo`: fill a running stack (`make run`) with believable data, through the real APIs.

An operator (made with identity's create-operator command), three employer organisations (one
left pending), their administrators, second contacts, contacts and a department, professionals
imported by the operator from a CSV file, their PE histories through reporting's import
command, consents of every kind, and a few dossier reads. Passwords are set the way a person
sets them: with the token from the mail the local SMTP sink kept under var/mail/.
At the end it prints who can log in.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import requests

from svckit.mailsink import Mailbox

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Demo wachtwoord 2026!"
FIRST = ["Anna", "Bram", "Carla", "Daan", "Eva", "Femke", "Gijs", "Hanna", "Ilse", "Jesse", "Kim", "Lars",
         "Maud", "Noah", "Olga", "Pim", "Quinten", "Roos", "Sem", "Tess", "Umut", "Vera", "Wout", "Yara", "Zoë"]
LAST = ["de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos",
        "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits", "El Amrani"]
COURSES = [("Arbeidsrecht actueel", "Juridische Academie", "Wet- en regelgeving"),
           ("Flexwet in de praktijk", "SEU Opleidingen", "Wet- en regelgeving"),
           ("Loonheffingen voor intercedenten", "Fiscaal Instituut", "Fiscaliteit"),
           ("Gesprekstechnieken", "Trainingshuis Midden", "Vaardigheden"),
           ("Privacy en de AVG", "Privacy Academie", "Integriteit"),
           ("Duurzame inzetbaarheid", "HR Campus", "Vakkennis")]
ORGANISATIONS = [("Uitzendbureau De Brug", "Utrecht", True), ("Backoffice Partners Noord", "Groningen", True),
                 ("Detachering Zuidwest", "Middelburg", False)]


def service_env(service: str) -> dict[str, str]:
    """The environment for a service's own command: its database as `make run` gives it."""
    env = dict(os.environ)
    url = os.environ.get(f"{service.upper()}_DATABASE_URL", "")
    if url:
        env["DATABASE_URL"] = url
    return env


class Demo:
    def __init__(self, gateway: str, mail_dir: Path, run: str):
        self.gateway, self.mailbox, self.run = gateway.rstrip("/"), Mailbox(mail_dir), run
        self.logins: list[tuple[str, str]] = []

    def call(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = requests.request(method, f"{self.gateway}/api/v1{path}", headers=headers, timeout=120, **kwargs)
        if response.status_code >= 400:
            raise SystemExit(f"demo: {method} {path} answered {response.status_code}: {response.text}")
        return response

    def activate(self, username: str, email: str, role: str) -> str:
        """Open the mail, set the password with its token, log in; answer the access token."""
        token = self.mailbox.wait_for(email, containing="token=", timeout=60).token()
        self.call("POST", "/password-setups", json={"token": token, "password": PASSWORD})
        self.logins.append((role, username))
        return self.call("POST", "/sessions", json={"username": username, "password": PASSWORD}).json()["access_token"]

    def name(self, prefix: str) -> str:
        return f"{prefix}-{self.run}"


def operator(demo: Demo) -> str:
    username = demo.name("operator")
    email = f"{username}@seu.example"
    subprocess.run([sys.executable, "-m", "identity", "create-operator", "--username", username, "--email", email,
                    "--name", "Platformbeheer SEU"], cwd=ROOT, check=True, capture_output=True,
                   env=service_env("identity"))
    return demo.activate(username, email, "operator")


def organisation(demo: Demo, operator_token: str, index: int, name: str, city: str, authorise: bool) -> dict:
    username = demo.name(f"beheer{index}")
    email = f"{username}@werkgever{index}.example"
    form = {"organisation": {"name": name, "chamber_of_commerce_number": f"{random.randint(10_000_000, 99_999_999)}",
                             "visiting_address": {"street": f"Marktstraat {index + 1}", "postcode": f"{3511 + index} AB",
                                                  "city": city},
                             "phone": "030 123 4567", "email": f"info@werkgever{index}.example"},
            "applicant": {"name": f"{random.choice(FIRST)} {random.choice(LAST)}", "email": email,
                          "phone": "06 1234 5678", "username": username}}
    organisation_id = demo.call("POST", "/registrations", json=form).json()["organisation_id"]
    admin = demo.activate(username, email, f"administrator of {name}")
    contacts = []
    if authorise:
        demo.call("POST", f"/organisations/{organisation_id}/authorise", operator_token, json={})
        for role, extra in (("second_contact", {}), ("contact", {}), ("contact", {}),
                            ("department", {"department_name": "HR"})):
            user = demo.name(f"{role.replace('_', '')}{index}{len(contacts)}")
            contact_email = f"hr@werkgever{index}.example" if role == "department" else f"{user}@werkgever{index}.example"
            contact = demo.call("POST", f"/organisations/{organisation_id}/contacts", admin, json={
                "role": role, "name": "Afdeling HR" if role == "department" else f"{random.choice(FIRST)} {random.choice(LAST)}",
                "email": contact_email, "username": user, **extra}).json()
            token = demo.activate(user, contact_email, f"{role.replace('_', ' ')} of {name}")
            contacts.append({"contact_id": contact["contact_id"], "token": token, "role": role})
    return {"organisation_id": organisation_id, "name": name, "admin": admin, "contacts": contacts}


def professionals(demo: Demo, operator_token: str, count: int) -> list[dict]:
    people = []
    lines = ["username,email,display_name,pe_registration_number,language"]
    for number in range(count):
        username = demo.name(f"pro{number:03d}")
        people.append({"username": username, "email": f"{username}@mail.example",
                       "name": f"{random.choice(FIRST)} {random.choice(LAST)}",
                       "registration": f"PE-{demo.run}-{number:04d}"})
        lines.append(f"{username},{username}@mail.example,{people[-1]['name']},{people[-1]['registration']},nl")
    result = demo.call("POST", "/professionals/imports", operator_token, data="\n".join(lines).encode(),
                       headers={"Content-Type": "text/csv"}).json()
    if result["rejected"]:
        raise SystemExit(f"demo: the professionals' import refused rows: {result['rejected']}")

    def activate(person):
        person["token"] = demo.activate(person["username"], person["email"], "professional")
        person["account_id"] = demo.call("GET", "/me", person["token"]).json()["account"]["account_id"]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(activate, people))
    return people


def pe_histories(people: list[dict]) -> None:
    records = []
    today = date.today()
    for person in people:
        start = today - timedelta(days=random.randint(60, 1000))
        required = random.choice((30, 45, 60))
        activities = []
        for _ in range(random.randint(0, 8)):
            title, provider, category = random.choice(COURSES)
            done = start + timedelta(days=random.randint(0, max(1, (today - start).days)))
            activities.append({"title": title, "provider": provider, "completion_date": done.isoformat(),
                               "points": random.choice((2, 4, 6, 8)), "category": category})
        earned = sum(a["points"] for a in activities)
        submitted = (today - timedelta(days=random.randint(1, 30))).isoformat() if earned >= required else None
        records.append({"pe_registration_number": person["registration"], "period_start": start.isoformat(),
                        "period_end": (start + timedelta(days=3 * 365)).isoformat(), "points_required": required,
                        "points_earned": earned, "renewal_submitted_date": submitted, "activities": activities})
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(records, handle)
    subprocess.run([sys.executable, "-m", "reporting", "import-progress", handle.name], cwd=ROOT, check=True,
                   capture_output=True, env=service_env("reporting"))
    os.unlink(handle.name)


def consents(demo: Demo, people: list[dict], organisations: list[dict]) -> dict[str, int]:
    authorised = [o for o in organisations if o["contacts"]]
    kinds = {"without end": 0, "until a date": 0, "changed": 0, "revoked": 0, "none": 0}
    for person in people:
        if random.random() < 0.2:
            kinds["none"] += 1
            continue
        organisation = random.choice(authorised)
        chosen = random.sample(organisation["contacts"], k=random.randint(1, 2))
        body = {"organisation_id": organisation["organisation_id"], "contact_ids": [c["contact_id"] for c in chosen]}
        until = random.random() < 0.4
        if until:
            body["end_date"] = (date.today() + timedelta(days=random.randint(10, 400))).isoformat()
        granted = demo.call("POST", "/consents", person["token"], json=body).json()["consents"]
        kinds["until a date" if until else "without end"] += 1
        roll = random.random()
        if roll < 0.1:
            demo.call("POST", f"/consents/{granted[0]['consent_id']}/revoke", person["token"])
            kinds["revoked"] += 1
        elif roll < 0.2:
            demo.call("PATCH", f"/consents/{granted[0]['consent_id']}", person["token"],
                      json={"end_date": (date.today() + timedelta(days=90)).isoformat()})
            kinds["changed"] += 1
        else:
            for contact in chosen:
                if random.random() < 0.3:
                    demo.call("GET", f"/dossiers/{person['account_id']}", contact["token"])
    return kinds


def main() -> int:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--gateway", default=f"http://127.0.0.1:{os.environ.get('GATEWAY_PORT', '8080')}")
    arguments.add_argument("--mail-dir", default=os.environ.get("MAIL_DIR", str(ROOT / "var" / "mail")))
    arguments.add_argument("--professionals", type=int, default=500)
    arguments.add_argument("--seed", type=int, default=None)
    options = arguments.parse_args()
    random.seed(options.seed)
    try:
        ready = requests.get(f"{options.gateway}/readyz", timeout=5).status_code == 200
    except requests.RequestException:
        ready = False
    if not ready:
        print(f"demo: the stack at {options.gateway} is not ready; start it with 'make run' first", file=sys.stderr)
        return 1
    demo = Demo(options.gateway, Path(options.mail_dir), uuid.uuid4().hex[:4])
    operator_token = operator(demo)
    organisations = [organisation(demo, operator_token, i, name, city, authorise)
                     for i, (name, city, authorise) in enumerate(ORGANISATIONS)]
    people = professionals(demo, operator_token, options.professionals)
    pe_histories(people)
    kinds = consents(demo, people, organisations)
    print(f"pe-insight demo data is in ({options.professionals} professionals; consents: "
          + ", ".join(f"{n} {k}" for k, n in kinds.items()) + ").")
    print(f"Every account below logs in with the password: {PASSWORD}")
    shown = [login for login in demo.logins if login[0] != "professional"] + \
        [login for login in demo.logins if login[0] == "professional"][:3]
    for role, username in shown:
        print(f"  {username:<28} {role}")
    print(f"  ... and {options.professionals - 3} more professionals named {demo.name('proNNN')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
