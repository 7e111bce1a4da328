"""The instruction done in a real browser: Debian's Chromium driven by Playwright against the whole
stack and the web pages, mail read from the SMTP sink. Every page is screenshotted (desktop and a
phone's width, under var/web-screenshots/) and checked with axe-core for WCAG 2.1 A and AA."""
from __future__ import annotations

import os
import re
import shutil
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests
from playwright.sync_api import sync_playwright

from support.api import PASSWORD, add_contact, create_operator, create_professional, register, unique
from support.resources import free_port
from support.stack import ROOT

pytestmark = pytest.mark.system

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = ROOT / "services/web/node_modules/axe-core/axe.min.js"
SHOTS = ROOT / "var" / "web-screenshots"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture(scope="module")
def web_port():
    return free_port()


@pytest.fixture(scope="module")
def stack_settings(web_port):
    # The mails' links open the web pages, as under make run.
    url = f"http://127.0.0.1:{web_port}"
    return {service: {"PUBLIC_URL": url} for service in ("identity", "organisation", "consent")}


@pytest.fixture(scope="module")
def web(stack, web_port):
    url = f"http://127.0.0.1:{web_port}"
    env = {**stack.base_env(), "WEB_PORT": str(web_port), "GATEWAY_URL": stack.gateway_url, "PUBLIC_URL": url}
    process = stack.start_process("web", ["-m", "web"], env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.popen.poll() is None, process.log()
        try:
            if requests.get(f"{url}/login", timeout=2).status_code == 200:
                return url
        except requests.RequestException:
            time.sleep(0.2)
    raise AssertionError(f"the web pages did not come up\n{process.log()}")


@pytest.fixture(scope="module")
def browser():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        # Headless, as root, and without Chromium's own calls home, which this machine's network refuses.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()


class Visitor:
    """One person's browser: every page it lands on is screenshotted and checked with axe-core."""

    def __init__(self, browser, name: str):
        # axe-core is put into each page by the test (bypass_csp: the pages themselves run no script).
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True,
                                           accept_downloads=True, locale="nl-NL")
        self.page = self.context.new_page()
        self.name = name
        self.count = 0

    def check(self, label: str) -> None:
        page = self.page
        self.count += 1
        stem = f"{self.name}-{self.count:02d}-{label}"
        page.screenshot(path=str(SHOTS / f"{stem}.png"), full_page=True)
        self.axe(stem)
        page.set_viewport_size({"width": 375, "height": 812})
        page.screenshot(path=str(SHOTS / f"{stem}-phone.png"), full_page=True)
        # Reflow (WCAG 1.4.10): at a phone's width the page itself never scrolls sideways; wide tables
        # scroll within their own region.
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, f"{stem} is wider than a phone"
        self.axe(f"{stem}-phone")
        page.set_viewport_size({"width": 1280, "height": 900})

    def axe(self, stem: str) -> None:
        page = self.page
        if not page.evaluate("typeof axe !== 'undefined'"):
            page.evaluate(AXE.read_text())
        result = page.evaluate("async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
                               WCAG)
        violations = [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]
        assert violations == [], f"{stem} ({page.url}): {violations}"

    def fill(self, fields: dict[str, str]) -> None:
        for name, value in fields.items():
            self.page.fill(f"[name='{name}']", value)

    def submit(self, text: str) -> None:
        self.page.get_by_role("button", name=text).click()
        self.page.wait_for_load_state()


def mail_link(mailbox, email: str, count: int = 1) -> str:
    mail = mailbox.wait_for(email, containing="token=", count=count)
    return next(link for link in mail.links if "token=" in link)


def set_password_from_mail(visitor: Visitor, mailbox, web: str, email: str, username: str) -> None:
    link = mail_link(mailbox, email)
    assert link.startswith(f"{web}/set-password?token="), link  # the mail's link opens the web page
    visitor.page.goto(link)
    visitor.check("set-password")
    visitor.fill({"password": PASSWORD, "password_again": PASSWORD})
    visitor.submit("Wachtwoord instellen")
    assert "Uw wachtwoord is ingesteld" in visitor.page.content()
    log_in(visitor, web, username)


def log_in(visitor: Visitor, web: str, username: str) -> None:
    visitor.page.goto(f"{web}/login")
    if visitor.count == 0:
        visitor.check("login")
    visitor.fill({"username": username, "password": PASSWORD})
    visitor.submit("Inloggen")
    assert "Uitloggen" in visitor.page.content(), visitor.page.content()


def test_the_instruction_in_a_browser(stack, mailbox, web, browser, tmp_path):
    applicant = Visitor(browser, "applicant")
    page = applicant.page
    page.goto(f"{web}/apply")
    applicant.check("apply")
    # A bad postcode and a missing field are told next to the fields, in Dutch.
    username = unique("admin")
    email = f"{username}@werkgever.example"
    form = {"organisation.name": "Uitzendbureau Zeeland", "organisation.chamber_of_commerce_number":
            str(10_000_000 + int(time.time()) % 80_000_000), "organisation.visiting_address.street": "Markt 1",
            "organisation.visiting_address.postcode": "4331 LJ", "organisation.visiting_address.city": "Middelburg",
            "organisation.phone": "0118 123 456", "organisation.email": f"info@{username}.example",
            "applicant.name": "Hanna de Vries", "applicant.email": email, "applicant.phone": "0118 654 321",
            "applicant.username": username}
    applicant.fill({**form, "applicant.email": "geen-adres"})
    applicant.submit("Aanvraag versturen")
    assert page.locator("#applicant-email-error").inner_text() == "Vul een geldig e-mailadres in."
    applicant.check("apply-errors")
    applicant.fill({"applicant.email": email})
    applicant.submit("Aanvraag versturen")
    assert "Uw aanvraag is ontvangen" in page.content()
    applicant.check("applied")
    set_password_from_mail(applicant, mailbox, web, email, username)
    applicant.check("organisation-pending")
    assert "wacht op autorisatie" in page.content()
    page.get_by_role("link", name="Gegevens wijzigen").click()
    applicant.check("edit-organisation")
    applicant.fill({"visiting_address.postcode": "", "phone": "0118 000 111"})
    applicant.submit("Opslaan")
    assert page.locator("#visiting_address-postcode-error").inner_text() == "Vul een Nederlandse postcode in, bijvoorbeeld 1234 AB."
    applicant.fill({"visiting_address.postcode": "4331 LK"})
    applicant.submit("Opslaan")
    assert "De gegevens van de organisatie zijn opgeslagen." in page.content() and "4331 LK" in page.content()
    # English by choice, for the rest of the session.
    page.get_by_role("button", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en" and "Change details" in page.content()
    applicant.check("organisation-english")
    page.get_by_role("button", name="Nederlands").click()

    operator_person = create_operator(stack, mailbox)
    operator = Visitor(browser, "operator")
    log_in(operator, web, operator_person.username)
    operator.check("organisations-pending")
    operator.page.get_by_role("link", name="Uitzendbureau Zeeland").first.click()
    operator.check("organisation")
    operator.page.check("#decision-authorise")
    operator.submit("Besluit vastleggen")
    assert "De organisatie is geautoriseerd." in operator.page.content()
    operator.check("authorised")

    # The administrator adds a second contact and a department ('Beheerders', 'toevoegen beheerder').
    admin = applicant
    page.goto(f"{web}/contacts")
    admin.check("contacts")
    people = {}
    for role, extra in (("second_contact", {}), ("department", {"department_name": "L&D"})):
        page.get_by_role("link", name="Toevoegen beheerder").click()
        admin.check(f"add-{role}")
        name = unique(role.replace("_", "-"))
        page.check(f"#role-{role}")
        admin.fill({"name": f"Contact {name}", "email": f"{name}@werkgever.example", "username": name, **extra})
        admin.submit("Opslaan")
        assert "is toegevoegd" in page.content(), page.content()
        people[role] = name
    admin.check("contacts-added")
    page.get_by_role("link", name=f"Wijzigen: Contact {people['second_contact']}").click()
    admin.check("edit-contact")
    admin.fill({"phone": "0118 999 888"})
    admin.submit("Opslaan")
    assert "zijn opgeslagen" in page.content()

    # The operator creates a professional, who sets a password from the mail and logs in.
    operator.page.goto(f"{web}/operator/professionals/new")
    operator.check("new-professional")
    pro_name = unique("pro")
    operator.fill({"display_name": "Anna Akkerman", "email": f"{pro_name}@mail.example",
                   "pe_registration_number": f"PE{int(time.time() * 1000) % 10**9}", "username": pro_name})
    operator.submit("Professional aanmaken")
    assert "is aangemaakt" in operator.page.content()
    professional = Visitor(browser, "professional")
    set_password_from_mail(professional, mailbox, web, f"{pro_name}@mail.example", pro_name)
    professional.check("dossier")

    # More professionals from a CSV file: each row succeeds or fails on its own.
    operator.page.goto(f"{web}/operator/professionals/import")
    operator.check("import")
    rows = [f"{unique('csv')},{unique('csv')}@mail.example,Carla Claassen,PE{int(time.time() * 1000) % 10**9 + 1},nl",
            f"x,not-an-address,Dirk Dekker,PE{int(time.time() * 1000) % 10**9 + 2},nl"]
    csv_path = tmp_path / "professionals.csv"
    csv_path.write_text("username,email,display_name,pe_registration_number,language\n" + "\n".join(rows) + "\n")
    operator.page.set_input_files("#file", str(csv_path))
    operator.submit("Importeren")
    assert "1 aangemaakt, 1 geweigerd." in operator.page.content()
    assert "email: Vul een geldig e-mailadres in." in operator.page.content()  # the refused row, in Dutch
    assert "Carla Claassen" in operator.page.content()
    operator.check("imported")

    # Anyone who forgot the password asks for a link; the answer tells nothing about accounts.
    anyone = Visitor(browser, "anyone")
    anyone.page.goto(f"{web}/forgot-password")
    anyone.check("forgot-password")
    anyone.fill({"username_or_email": "nobody-at-all"})
    anyone.submit("Link versturen")
    assert "Als er een account bij hoort" in anyone.page.content()
    anyone.check("link-sent")

    # Two grants: the second contact without end, the department until a date.
    until = date.today() + timedelta(days=60)
    ppage = professional.page
    for role, end in (("second_contact", ""), ("department", until.isoformat())):
        ppage.goto(f"{web}/consents")
        ppage.get_by_role("link", name="Toevoegen", exact=True).click()
        professional.check("choose-organisation")
        ppage.get_by_role("link", name="Uitzendbureau Zeeland").first.click()
        professional.check("grant")
        label = "L&D" if role == "department" else f"Contact {people[role]}"
        ppage.get_by_label(re.compile(re.escape(label))).check()
        if end:
            ppage.fill("#end_date", date.fromisoformat(end).strftime("%d-%m-%Y"))
        professional.submit("Toestemming geven")
        assert "Toestemming gegeven" in ppage.content()
    professional.check("consents")
    assert until.strftime("%d-%m-%Y") in ppage.content()
    later = until + timedelta(days=30)
    ppage.fill("[id^='end-'][name='end_date'] >> nth=1", later.strftime("%d-%m-%Y"))
    ppage.get_by_role("button", name="Einddatum opslaan").nth(1).click()
    assert "De einddatum is gewijzigd." in ppage.content() and later.strftime("%d-%m-%Y") in ppage.content()

    # The department sets its password, finds the professional and opens the dossier.
    department = Visitor(browser, "department")
    set_password_from_mail(department, mailbox, web, f"{people['department']}@werkgever.example",
                           people["department"])
    department.page.goto(f"{web}/professionals")
    department.check("professionals")
    department.page.get_by_role("link", name="Anna Akkerman").click()
    department.check("dossier")
    dossier_url = department.page.url
    assert "Dossier van Anna Akkerman" in department.page.content()

    # The administrator sees the report and downloads both files.
    page.goto(f"{web}/report")
    admin.check("report")
    assert "Anna Akkerman" in page.content()
    for label, magic in (("Download als PDF", b"%PDF"), ("Download als Excel (XLSX)", b"PK")):
        with page.expect_download() as download:
            page.get_by_role("link", name=label).click()
        path = tmp_path / download.value.suggested_filename
        download.value.save_as(path)
        assert path.read_bytes().startswith(magic)

    # The professional sees who read the dossier, then revokes the department's consent.
    ppage.goto(f"{web}/consents")
    assert "dossier geopend" in ppage.content()
    ppage.get_by_role("link", name=re.compile("Intrekken: L&D")).click()
    professional.check("revoke-confirm")
    professional.submit("Ja, intrekken")
    assert "De toestemming is ingetrokken" in ppage.content()
    professional.check("revoked")

    # The department is refused the dossier from now on.
    response = department.page.goto(dossier_url)
    assert response.status == 404
    assert "geen toegang" in department.page.content()
    department.check("refused")


def tab_to(page, name: str, limit: int = 60) -> None:
    """Press Tab until the focused element is the one named (its text, label or accessible name)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate("""() => { const e = document.activeElement;
            const label = e.id ? document.querySelector(`label[for="${e.id}"]`) : null;
            return (label ? label.innerText : '') + '|' + (e.innerText || e.value || '') + '|' +
                   (e.getAttribute('aria-label') || ''); }""")
        if name in focused:
            return
    raise AssertionError(f"{name!r} cannot be reached with Tab")


def follow(page, key: str) -> None:
    """Press a key that leaves the page (a link or a form), and wait for the next one."""
    with page.expect_navigation():
        page.keyboard.press(key)


def test_the_consent_flow_by_keyboard_alone(stack, mailbox, web, browser):
    operator = create_operator(stack, mailbox)
    organisation_id, admin = register(stack, mailbox, "Detacheerder Drenthe")
    assert operator.api.post(f"/organisations/{organisation_id}/authorise", json={}).status_code == 200
    contact = add_contact(stack, mailbox, admin, organisation_id, "contact")
    professional = create_professional(stack, mailbox, operator, name="Kees Keyboard")
    until = date.today() + timedelta(days=10)

    visitor = Visitor(browser, "keyboard")
    page = visitor.page
    page.goto(f"{web}/login")
    tab_to(page, "Gebruikersnaam")
    page.keyboard.type(professional.username)
    tab_to(page, "Wachtwoord")
    page.keyboard.type(PASSWORD)
    follow(page, "Enter")
    tab_to(page, "Inzage werkgever")
    follow(page, "Enter")
    tab_to(page, "Toevoegen")
    follow(page, "Enter")
    tab_to(page, "Zoek op naam")
    page.keyboard.type("Drenthe")
    follow(page, "Enter")
    tab_to(page, "Detacheerder Drenthe")
    follow(page, "Enter")
    tab_to(page, contact.username)  # the contact's checkbox, by its label
    page.keyboard.press("Space")
    tab_to(page, "Geautoriseerd tot")
    page.keyboard.type(until.strftime("%d-%m-%Y"))
    tab_to(page, "Toestemming geven")
    follow(page, "Enter")
    assert "Toestemming gegeven" in page.content(), page.content()
    assert until.strftime("%d-%m-%Y") in page.content()
    visitor.check("granted")
    assert contact.api.get(f"/dossiers/{professional.account_id}").status_code == 200

    tab_to(page, "Intrekken: ")
    follow(page, "Enter")
    visitor.check("revoke-confirm")
    tab_to(page, "Ja, intrekken")
    follow(page, "Enter")
    assert "De toestemming is ingetrokken" in page.content()
    assert contact.api.get(f"/dossiers/{professional.account_id}").status_code == 404
