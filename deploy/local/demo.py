"""`make demo`: fill a running stack (`make run`) with believable data, through the real APIs.

An operator (made with identity's create-operator command), three employer organisations (one
left pending), their administrators, second contacts, contacts and a department, professionals
imported by the operator from a CSV file, their PE histories through reporting's import
command, consents of every kind, and a few dossier reads. Passwords are set the way a person
sets them: with the token from the mail the local SMTP sink kept under var/mail/.
At the end it prints where to go and who can log in.

What took the time (9.5 minutes for 500 professionals) and what it does instead: every wait for a
mail read and parsed every mail in var/mail/ again (svckit.mailsink.Mailbox now parses each once),
and each person was made, mailed, activated and granted one after the other. Now the
organisations are made side by side, the professionals' mails are gathered in one pass, and each
professional's password, login and consents run on a pool of threads as wide as the gateway
serves; what every person does is drawn up front, so --seed still gives the same data.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from email.utils import parseaddr
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from command import environment  # noqa: E402  (beside this file: a service's command as make run sets it)
from svckit.mailsink import Mailbox  # noqa: E402

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


# Professionals taking part at once: each sets a password and logs in, two Argon2 hashes that
# identity computes one per core at a time, behind the gateway's 5 s deadline; a few more than the
# cores keep them busy while the other calls are on their way, many more only queue up to that deadline.
PARALLEL = 6
MAIL_TIMEOUT_S = 120


class Demo:
    def __init__(self, gateway: str, mail_dir: Path, run: str):
        self.gateway, self.mailbox, self.run = gateway.rstrip("/"), Mailbox(mail_dir), run
        self.logins: list[tuple[str, str]] = []
        self._local = threading.local()
        # Mail of an earlier run (the department's general address is the same every run) holds no
        # token of this one.
        self._earlier = set(mail_dir.glob("*.eml"))

    def _session(self) -> requests.Session:
        """One kept-alive connection per thread."""
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def call(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = self._session().request(method, f"{self.gateway}/api/v1{path}", headers=headers, timeout=120,
                                           **kwargs)
        if response.status_code >= 400:
            raise SystemExit(f"demo: {method} {path} answered {response.status_code}: {response.text}")
        return response

    def tokens(self, emails: list[str]) -> dict[str, str]:
        """The password-setup token mailed to each address, gathered in one pass over the mail."""
        wanted, found = {e.lower() for e in emails}, {}
        deadline = time.monotonic() + MAIL_TIMEOUT_S
        while True:
            for mail in self.mailbox.all(skip=self._earlier):
                recipient = parseaddr(mail.recipient)[1].lower()
                if recipient in wanted and "token=" in mail.text:
                    found[recipient] = mail.token()   # the newest, as mail is read in order of arrival
            if len(found) == len(wanted):
                return {email: found[email.lower()] for email in emails}
            if time.monotonic() > deadline:
                raise SystemExit(f"demo: no password-setup mail within {MAIL_TIMEOUT_S} s for "
                                 f"{len(wanted) - len(found)} of {len(wanted)} accounts (is the mail sink running?)")
            time.sleep(0.2)

    def activate(self, username: str, email: str, role: str, token: str | None = None) -> dict:
        """Set the password with the mailed token, log in; answer the session (access token, account)."""
        token = token or self.tokens([email])[email]
        self.call("POST", "/password-setups", json={"token": token, "password": PASSWORD})
        self.logins.append((role, username))
        return self.call("POST", "/sessions", json={"username": username, "password": PASSWORD}).json()

    def name(self, prefix: str) -> str:
        return f"{prefix}-{self.run}"


def operator(demo: Demo) -> str:
    username = demo.name("operator")
    email = f"{username}@seu.example"
    subprocess.run([sys.executable, "-m", "identity", "create-operator", "--username", username, "--email", email,
                    "--name", "Platformbeheer SEU"], cwd=ROOT, check=True, capture_output=True,
                   env=environment("identity"))
    return demo.activate(username, email, "operator")["access_token"]


def organisation(demo: Demo, operator_token: str, index: int, name: str, city: str, authorise: bool,
                 rnd: random.Random) -> dict:
    username = demo.name(f"beheer{index}")
    email = f"{username}@werkgever{index}.example"
    form = {"organisation": {"name": name, "chamber_of_commerce_number": f"{rnd.randint(10_000_000, 99_999_999)}",
                             "visiting_address": {"street": f"Marktstraat {index + 1}", "postcode": f"{3511 + index} AB",
                                                  "city": city},
                             "phone": "030 123 4567", "email": f"info@werkgever{index}.example"},
            "applicant": {"name": f"{rnd.choice(FIRST)} {rnd.choice(LAST)}", "email": email,
                          "phone": "06 1234 5678", "username": username}}
    organisation_id = demo.call("POST", "/registrations", json=form).json()["organisation_id"]
    admin = demo.activate(username, email, f"administrator of {name}")["access_token"]
    contacts = []
    if authorise:
        demo.call("POST", f"/organisations/{organisation_id}/authorise", operator_token, json={})
        added = []
        for number, (role, extra) in enumerate((("second_contact", {}), ("contact", {}), ("contact", {}),
                                                ("department", {"department_name": "HR"}))):
            user = demo.name(f"{role.replace('_', '')}{index}{number}")
            contact_email = f"hr@werkgever{index}.example" if role == "department" else f"{user}@werkgever{index}.example"
            contact = demo.call("POST", f"/organisations/{organisation_id}/contacts", admin, json={
                "role": role, "name": "Afdeling HR" if role == "department" else f"{rnd.choice(FIRST)} {rnd.choice(LAST)}",
                "email": contact_email, "username": user, **extra}).json()
            added.append((user, contact_email, role, contact["contact_id"]))
        tokens = demo.tokens([contact_email for _, contact_email, _, _ in added])

        def activate(user, contact_email, role, contact_id):
            token = demo.activate(user, contact_email, f"{role.replace('_', ' ')} of {name}",
                                  tokens[contact_email])["access_token"]
            return {"contact_id": contact_id, "token": token, "role": role}
        with ThreadPoolExecutor(len(added)) as pool:
            contacts = list(pool.map(lambda contact: activate(*contact), added))
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
    return people


def pe_histories(people: list[dict], rnd: random.Random) -> None:
    records = []
    today = date.today()
    for person in people:
        start = today - timedelta(days=rnd.randint(60, 1000))
        required = rnd.choice((30, 45, 60))
        activities = []
        for _ in range(rnd.randint(0, 8)):
            title, provider, category = rnd.choice(COURSES)
            done = start + timedelta(days=rnd.randint(0, max(1, (today - start).days)))
            activities.append({"title": title, "provider": provider, "completion_date": done.isoformat(),
                               "points": rnd.choice((2, 4, 6, 8)), "category": category})
        earned = sum(a["points"] for a in activities)
        submitted = (today - timedelta(days=rnd.randint(1, 30))).isoformat() if earned >= required else None
        records.append({"pe_registration_number": person["registration"], "period_start": start.isoformat(),
                        "period_end": (start + timedelta(days=3 * 365)).isoformat(), "points_required": required,
                        "points_earned": earned, "renewal_submitted_date": submitted, "activities": activities})
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(records, handle)
    subprocess.run([sys.executable, "-m", "reporting", "import-progress", handle.name], cwd=ROOT, check=True,
                   capture_output=True, env=environment("reporting"))
    os.unlink(handle.name)


def consent_plans(people: list[dict], organisations: list[dict]) -> dict[str, int]:
    """What each professional will do, drawn here, in order, so that --seed gives the same data."""
    authorised = [o for o in organisations if o["contacts"]]
    kinds = {"without end": 0, "until a date": 0, "changed": 0, "revoked": 0, "none": 0}
    for person in people:
        person["plan"] = None
        if random.random() < 0.2:
            kinds["none"] += 1
            continue
        organisation = random.choice(authorised)
        chosen = random.sample(organisation["contacts"], k=random.randint(1, 2))
        body = {"organisation_id": organisation["organisation_id"], "contact_ids": [c["contact_id"] for c in chosen]}
        until = random.random() < 0.4
        if until:
            body["end_date"] = (date.today() + timedelta(days=random.randint(10, 400))).isoformat()
        kinds["until a date" if until else "without end"] += 1
        roll, then, readers = random.random(), None, []
        if roll < 0.1:
            then = "revoke"
            kinds["revoked"] += 1
        elif roll < 0.2:
            then = "change"
            kinds["changed"] += 1
        else:
            readers = [contact for contact in chosen if random.random() < 0.3]
        person["plan"] = {"body": body, "then": then, "readers": readers}
    return kinds


def take_part(demo: Demo, person: dict, token: str) -> None:
    """A professional sets the password and, unless granting nothing, logs in, grants, and then
    revokes, changes or is read."""
    plan = person["plan"]
    if plan is None:
        demo.call("POST", "/password-setups", json={"token": token, "password": PASSWORD})
        demo.logins.append(("professional", person["username"]))
        return
    session = demo.activate(person["username"], person["email"], "professional", token)
    person["token"], person["account_id"] = session["access_token"], session["account"]["account_id"]
    granted = demo.call("POST", "/consents", person["token"], json=plan["body"]).json()["consents"]
    if plan["then"] == "revoke":
        demo.call("POST", f"/consents/{granted[0]['consent_id']}/revoke", person["token"])
    elif plan["then"] == "change":
        demo.call("PATCH", f"/consents/{granted[0]['consent_id']}", person["token"],
                  json={"end_date": (date.today() + timedelta(days=90)).isoformat()})
    for contact in plan["readers"]:
        demo.call("GET", f"/dossiers/{person['account_id']}", contact["token"])


def web_address(gateway: str) -> str:
    """Where people go: the web pages when make run starts them (a web process in the Procfile),
    else the API's documentation."""
    procfile = (ROOT / "Procfile").read_text().splitlines()
    if any(line.split(":", 1)[0].strip() == "web" for line in procfile):
        return f"http://127.0.0.1:{os.environ.get('WEB_PORT', '8000')}/"
    return f"{gateway.rstrip('/')}/api/docs"


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
    started = time.monotonic()
    took: dict[str, float] = {}

    def lap(what: str) -> None:
        took[what] = time.monotonic() - started - sum(took.values())

    demo = Demo(options.gateway, Path(options.mail_dir), uuid.uuid4().hex[:4])
    operator_token = operator(demo)
    lap("operator")
    with ThreadPoolExecutor(PARALLEL) as pool:
        # Each organisation draws from a generator of its own, seeded here in order: the same
        # data for a --seed whatever order the threads run in.
        made = [pool.submit(organisation, demo, operator_token, i, name, city, authorise,
                            random.Random(random.random()))
                for i, (name, city, authorise) in enumerate(ORGANISATIONS)]
        people = professionals(demo, operator_token, options.professionals)
        histories = pool.submit(pe_histories, people, random.Random(random.random()))
        lap("professionals imported")
        organisations = [future.result() for future in made]
        lap("organisations")
        kinds = consent_plans(people, organisations)
        tokens = demo.tokens([person["email"] for person in people])
        lap("their mails")
        list(pool.map(lambda person: take_part(demo, person, tokens[person["email"]]), people))
        lap("their passwords, logins and consents")
        histories.result()
        lap("PE histories")
    print(f"pe-insight demo data is in ({options.professionals} professionals; consents: "
          + ", ".join(f"{n} {k}" for k, n in kinds.items()) + f"), in {time.monotonic() - started:.0f} s: "
          + ", ".join(f"{what} {seconds:.1f} s" for what, seconds in took.items()) + ".")
    print(f"Open {web_address(options.gateway)} and log in; every account below has the password: {PASSWORD}")
    shown = [login for login in demo.logins if login[0] != "professional"] + \
        [login for login in demo.logins if login[0] == "professional"][:3]
    for role, username in shown:
        print(f"  {username:<28} {role}")
    print(f"  ... and {options.professionals - 3} more professionals named {demo.name('proNNN')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
