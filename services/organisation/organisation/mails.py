"""The organisation's mails, from Jinja2 templates: text and HTML, Dutch unless the contact prefers English.

Each of the operator's decisions is mailed to the administrator and second contact: the
authorisation with what they can now do, a rejection or suspension with the operator's reason.

Templates live in organisation/templates/ as <mail>.<language>.{subject.txt,txt,html}; the HTML
ones extend _layout.<language>.html (greeting, sign-off). HTML is escaped, text is not. Rendering
is pure: the caller queues the result in the mail outbox.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from organisation.domain import Contact, ContactRole, Language, Organisation
from svckit.mail_outbox import OutgoingMail

TEMPLATES = Path(__file__).resolve().parent / "templates"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")

_ROLE_LABELS = {
    Language.NL: {ContactRole.ADMINISTRATOR: "beheerder", ContactRole.SECOND_CONTACT: "tweede contactpersoon",
                  ContactRole.CONTACT: "contactpersoon", ContactRole.DEPARTMENT: "afdeling"},
    Language.EN: {ContactRole.ADMINISTRATOR: "administrator", ContactRole.SECOND_CONTACT: "second contact",
                  ContactRole.CONTACT: "contact", ContactRole.DEPARTMENT: "department"},
}


def dutch_date(moment: datetime) -> str:
    """31-12-2027: the day in Europe/Amsterdam, as documents show dates."""
    return moment.astimezone(AMSTERDAM).strftime("%d-%m-%Y")


class MailComposer:
    def __init__(self, public_url: str, templates: Path = TEMPLATES):
        self._login_url = public_url.rstrip("/") + "/"
        self._env = Environment(loader=FileSystemLoader(str(templates)), undefined=StrictUndefined,
                                autoescape=select_autoescape(enabled_extensions=("html",), default=False),
                                keep_trailing_newline=True)

    def authorisation_confirmation(self, contact: Contact, organisation: Organisation,
                                   authorised_at: datetime) -> OutgoingMail:
        language = contact.language
        return self._render("authorisation_confirmation", language, contact.email, {
            "contact_name": contact.name, "organisation_name": organisation.name,
            "authorised_on": dutch_date(authorised_at), "role_label": _ROLE_LABELS[language][contact.role],
            "login_url": self._login_url,
        })

    def rejection_notice(self, contact: Contact, organisation: Organisation, reason: str,
                         decided_at: datetime) -> OutgoingMail:
        return self._decision("rejection_notice", contact, organisation, reason, decided_at)

    def suspension_notice(self, contact: Contact, organisation: Organisation, reason: str,
                          decided_at: datetime) -> OutgoingMail:
        return self._decision("suspension_notice", contact, organisation, reason, decided_at)

    def _decision(self, name: str, contact: Contact, organisation: Organisation, reason: str,
                  decided_at: datetime) -> OutgoingMail:
        return self._render(name, contact.language, contact.email, {
            "contact_name": contact.name, "organisation_name": organisation.name,
            "decided_on": dutch_date(decided_at), "reason": reason,
        })

    def _render(self, name: str, language: Language, recipient: str, context: dict) -> OutgoingMail:
        def render(kind: str) -> str:
            return self._env.get_template(f"{name}.{language.value}.{kind}").render(context)
        subject = " ".join(render("subject.txt").split())
        return OutgoingMail(recipient=recipient, subject=subject, text_body=render("txt"),
                            html_body=render("html"))
