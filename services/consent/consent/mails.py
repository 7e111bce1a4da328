"""The professional's mails: a receipt for every grant, change and revocation, and the reminder
before an end date. Dutch unless the account prefers English; dates as 31-12-2027 in Dutch.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from svckit.mail_outbox import OutgoingMail

from consent.domain import AMSTERDAM, Addressee, Consent

_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December")

_SUBJECTS = {
    "nl": {"granted": "Bevestiging: u hebt inzage in uw PE-dossier gegeven",
           "changed": "Bevestiging: de einddatum van uw toestemming is gewijzigd",
           "revoked": "Bevestiging: u hebt uw toestemming ingetrokken",
           "reminder": "Herinnering: uw toestemming loopt af op {end_date}"},
    "en": {"granted": "Confirmation: you have given access to your PE dossier",
           "changed": "Confirmation: the end date of your consent has changed",
           "revoked": "Confirmation: you have revoked your consent",
           "reminder": "Reminder: your consent ends on {end_date}"},
}


def format_date(value: date, language: str) -> str:
    if language == "en":
        return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"
    return f"{value.day:02d}-{value.month:02d}-{value.year}"


def format_moment(value: datetime, language: str) -> str:
    local = value.astimezone(AMSTERDAM)
    return f"{format_date(local.date(), language)} {local:%H:%M}"


class Mails:
    """Renders the professional's mails from the templates beside this module."""

    def __init__(self, public_url: str):
        self._consents_url = public_url.rstrip("/") + "/consents"
        # The templates ship with the service and never change while it runs: no look at their
        # files on every mail (auto_reload would stat each one on every render).
        self._env = Environment(loader=PackageLoader("consent", "templates"), undefined=StrictUndefined,
                                autoescape=select_autoescape(["html"]), trim_blocks=False, auto_reload=False)

    def granted(self, addressee: Addressee, consents: Sequence[Consent], contact_names: Sequence[str]) -> OutgoingMail:
        return self._render("receipt", "granted", addressee, contact_names, consents[0].end_date,
                            consents[0].valid_from)

    def changed(self, addressee: Addressee, consent: Consent, at: datetime) -> OutgoingMail:
        return self._render("receipt", "changed", addressee, [addressee.contact_name], consent.end_date, at)

    def revoked(self, addressee: Addressee, consent: Consent) -> OutgoingMail:
        return self._render("receipt", "revoked", addressee, [addressee.contact_name], consent.end_date,
                            consent.end_time)

    def reminder(self, addressee: Addressee, consent: Consent) -> OutgoingMail:
        return self._render("reminder", "reminder", addressee, [addressee.contact_name], consent.end_date,
                            None)

    def _render(self, template: str, kind: str, addressee: Addressee, contacts: Sequence[str],
                end_date: date | None, at: datetime | None) -> OutgoingMail:
        language = addressee.language if addressee.language in _SUBJECTS else "nl"
        end = format_date(end_date, language) if end_date else None
        subject = _SUBJECTS[language][kind].format(end_date=end)
        context = dict(kind=kind, name=addressee.name, organisation_name=addressee.organisation_name,
                       contacts=list(contacts), end_date=end, at=format_moment(at, language) if at else None,
                       consents_url=self._consents_url, language=language, subject=subject)
        text_body = self._env.get_template(f"{template}.{language}.txt").render(context)
        html_body = self._env.get_template(f"{template}.{language}.html").render(context)
        return OutgoingMail(recipient=addressee.email, subject=subject, text_body=text_body, html_body=html_body)
