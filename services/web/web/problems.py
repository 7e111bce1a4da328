"""The gateway's problems as people read them: in the page's language, next to the field at fault.

The gateway speaks English to programs (its `errors` list names each field with a message); the
pages name the field in their own words. Known messages are translated; others fall back to a
plain message per status, so no English ever stands on a Dutch page.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from web.gateway import ApiError
from web.i18n import _

# English messages of the gateway and the services, with their Dutch page text. Checked in order.
_FIELD_MESSAGES: list[tuple[re.Pattern, str]] = [
    (re.compile(r"missing data for required field|field may not be (null|blank)|must not be empty", re.I),
     "Vul dit veld in."),
    (re.compile(r"not a valid email", re.I), "Vul een geldig e-mailadres in."),
    (re.compile(r"must not be empty or only spaces|one line of text, not only spaces", re.I), "Vul dit veld in."),
    (re.compile(r"one line of text", re.I), "Gebruik één regel tekst, zonder tabs of regeleinden."),
    (re.compile(r"exactly 8 digits", re.I), "Vul precies 8 cijfers in."),
    (re.compile(r"phone number of (\d+) to (\d+) digits", re.I),
     "Vul een telefoonnummer in van {0} tot {1} cijfers, eventueel met een + ervoor."),
    (re.compile(r"must be (\d+) to (\d+) letters, digits and (.+?)\.?$", re.I),
     "Gebruik {0} tot {1} letters, cijfers en {2}"),
    (re.compile(r"length must be between 1 and (\d+)", re.I), "Vul dit veld in, met hoogstens {0} tekens."),
    (re.compile(r"length must be between (\d+) and (\d+)", re.I), "Gebruik {0} tot {1} tekens."),
    (re.compile(r"shorter than minimum length (\d+)|at least (\d+) characters", re.I), "Gebruik minstens {0} tekens."),
    (re.compile(r"longer than maximum length (\d+)|at most (\d+) characters", re.I), "Gebruik hoogstens {0} tekens."),
    (re.compile(r"one of the most common passwords", re.I), "Dit wachtwoord is te vaak gebruikt; kies een moeilijker te raden wachtwoord."),
    (re.compile(r"must not contain the username", re.I), "Het wachtwoord mag de gebruikersnaam niet bevatten."),
    (re.compile(r"must not contain the e-mail", re.I), "Het wachtwoord mag het e-mailadres niet bevatten."),
    (re.compile(r"username.*taken|is taken", re.I), "Deze gebruikersnaam is al in gebruik; kies een andere."),
    (re.compile(r"chamber of commerce number is already", re.I), "Er is al een organisatie met dit KvK-nummer ingeschreven."),
    (re.compile(r"already belongs to another account", re.I), "Dit PE-nummer hoort al bij een ander account."),
    (re.compile(r"must be one of", re.I), "Kies een van de mogelijkheden."),
    (re.compile(r"not a valid date|must be .* or earlier", re.I), "Vul een geldige datum in (dd-mm-jjjj), niet te ver in de toekomst."),
    (re.compile(r"in the past|before today|has passed", re.I), "Kies een datum vanaf vandaag."),
    (re.compile(r"not a valid uuid", re.I), "Maak een keuze uit de lijst."),
    (re.compile(r"postcode", re.I), "Vul een Nederlandse postcode in, bijvoorbeeld 1234 AB."),
    (re.compile(r"digits", re.I), "Vul alleen cijfers in, zo veel als gevraagd."),
]

_STATUS_MESSAGES = {
    400: "Controleer wat u heeft ingevuld.",
    401: "U bent niet (meer) ingelogd. Log opnieuw in.",
    403: "U heeft hiervoor geen rechten.",
    404: "Dit is niet gevonden, of u heeft er geen toegang toe.",
    409: "Dit kan nu niet: de gegevens zijn intussen veranderd.",
    413: "Het bestand is te groot.",
    415: "Dit soort bestand wordt niet aangenomen; stuur een CSV-bestand.",
    422: "Controleer wat u heeft ingevuld.",
    429: "Te veel pogingen achter elkaar. Probeer het later opnieuw.",
    502: "pe-insight is even niet bereikbaar. Probeer het zo opnieuw.",
    503: "pe-insight is even niet bereikbaar. Probeer het zo opnieuw.",
    504: "pe-insight antwoordde niet op tijd. Probeer het zo opnieuw.",
}

# Problems that say more than their status, by the problem type's last word.
_SLUG_MESSAGES = {
    "link-invalid": "Deze link is onbekend, al gebruikt of verlopen. Vraag hieronder een nieuwe aan.",
    "invalid-credentials": "Gebruikersnaam of wachtwoord klopt niet.",
    "organisation-not-authorised": "Deze organisatie is (nog) niet geautoriseerd.",
    "second-contact-exists": "Deze organisatie heeft al een 2e contactpersoon.",
    "consent-not-active": "Deze toestemming loopt niet meer.",
    "email-changed-by-holder-only": "Dit e-mailadres kan alleen de contactpersoon zelf nog wijzigen.",
}


def row_message(message: str) -> str:
    """A refused CSV row's reasons ('email: Not a valid email address.; username: ...'), each in the
    page's language, named by the file's own column."""
    parts = []
    for part in message.split("; "):
        column, separator, text = part.partition(": ")
        parts.append(f"{column}: {field_message(text)}" if separator and " " not in column else field_message(part))
    return " ".join(parts)


def field_message(message: str) -> str:
    for pattern, text in _FIELD_MESSAGES:
        found = pattern.search(message)
        if found:
            numbers = [n for n in found.groups() if n] if found.groups() else []
            return _(text).format(*numbers)
    return _("Deze waarde is niet geldig.")


@dataclass
class FormErrors:
    """What a form shows: a message per field (by the API's field name) and one for the whole form."""
    fields: dict[str, str] = field(default_factory=dict)
    summary: str = ""

    def __bool__(self) -> bool:
        return bool(self.fields or self.summary)


def explain(error: ApiError, known_fields: set[str] | None = None) -> FormErrors:
    """The problem as a form shows it. Fields the form does not have are told in the summary."""
    found = FormErrors()
    for item in error.errors:
        name, text = str(item.get("field", "")), field_message(str(item.get("message", "")))
        if known_fields is None or name in known_fields:
            found.fields.setdefault(name, text)
    if error.slug in _SLUG_MESSAGES:
        found.summary = _(_SLUG_MESSAGES[error.slug])
    elif error.status == 429 and error.retry_after.isdigit():
        found.summary = _("Te veel pogingen achter elkaar. Probeer het over {seconds} seconden opnieuw.",
                          seconds=error.retry_after)
    elif found.fields:
        found.summary = _("Controleer de gemarkeerde velden.")
    else:
        found.summary = _(_STATUS_MESSAGES.get(error.status, "Er ging iets mis. Probeer het opnieuw."))
    return found
