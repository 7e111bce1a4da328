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
from svckit.logs import mask_email
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

    def email_confirmation_link(self, token: str) -> str:
        return f"{self._public_url}/confirm-email?{urlencode({'token': token})}"

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
        return self._compose(account, purpose.value, values, account.email)

    def email_change_confirmation(self, account: Account, new_email: str, token: str,
                                  expires_at: datetime) -> OutgoingMail:
        """To the new address: the link that makes it the login e-mail."""
        values = self._holder_values(account, new_email)
        values.update(link=self.email_confirmation_link(token),
                      expires=expires_at.astimezone(AMSTERDAM).strftime("%d-%m-%Y %H:%M"))
        return self._compose(account, "email_change_confirmation", values, new_email)

    def email_change_notice(self, account: Account, new_email: str) -> OutgoingMail:
        """To the old address: a change was asked, and what to do if it was not the holder."""
        return self._compose(account, "email_change_notice", self._holder_values(account, new_email), account.email)

    def email_changed_notice(self, account: Account, new_email: str) -> OutgoingMail:
        """To the old address: the change took effect."""
        return self._compose(account, "email_changed", self._holder_values(account, new_email), account.email)

    def _holder_values(self, account: Account, new_email: str) -> dict[str, str]:
        return {"lang": account.language.value, "display_name": account.display_name,
                "username": account.username, "new_email": mask_email(new_email),
                "site": self._public_url, "forgot_link": f"{self._public_url}/forgot-password"}

    def _compose(self, account: Account, template: str, values: Mapping[str, str], recipient: str) -> OutgoingMail:
        name = f"{account.language.value}/{template}"
        text = self._text.get_template(f"{name}.txt").make_module(values)
        subject = " ".join(str(text.subject).split())
        html = self._html.get_template(f"{name}.html").render(values, subject=subject)
        return OutgoingMail(recipient=recipient, subject=subject, text_body=str(text), html_body=html)
