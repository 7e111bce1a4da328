"""The password-setup mails: a text and an HTML part from Jinja2 templates, in the account's language.

Each purpose has `templates/<language>/<purpose>.txt` (which also sets the subject) and `.html`.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader

from identity.domain import Account, Language, LinkPurpose
from svckit.mail_outbox import OutgoingMail

TEMPLATES = Path(__file__).resolve().parent / "templates"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")

# Roles the organisation service names, in words; any other value is shown as given.
_ROLES = {
    Language.NL: {"administrator": "beheerder", "second_contact": "tweede contactpersoon",
                  "contact": "contactpersoon", "department": "afdeling"},
    Language.EN: {"administrator": "administrator", "second_contact": "second contact",
                  "contact": "contact person", "department": "department"},
}


class MailComposer:
    def __init__(self, public_url: str, templates: Path = TEMPLATES):
        self._public_url = public_url.rstrip("/")
        loader = FileSystemLoader(str(templates))
        self._text = Environment(loader=loader, autoescape=False, keep_trailing_newline=True)
        self._html = Environment(loader=loader, autoescape=True)

    def link(self, token: str) -> str:
        return f"{self._public_url}/set-password?{urlencode({'token': token})}"

    def setup_link_mail(self, account: Account, purpose: LinkPurpose, token: str, expires_at: datetime,
                        context: Mapping[str, str]) -> OutgoingMail:
        language = account.language
        values = {
            "lang": language.value, "display_name": account.display_name, "username": account.username,
            "kind": account.kind.value, "link": self.link(token),
            "expires": expires_at.astimezone(AMSTERDAM).strftime("%d-%m-%Y %H:%M"),
            "organisation_name": context.get("organisation_name", "").strip(),
            "role": _ROLES[language].get(context.get("role", "").strip(), context.get("role", "").strip()),
        }
        name = f"{language.value}/{purpose.value}"
        text = self._text.get_template(f"{name}.txt").make_module(values)
        subject = " ".join(str(text.subject).split())
        html = self._html.get_template(f"{name}.html").render(values, subject=subject)
        return OutgoingMail(recipient=account.email, subject=subject, text_body=str(text), html_body=html)
