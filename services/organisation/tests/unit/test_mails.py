"""The authorisation mail: Dutch by default, English on request, text and HTML, HTML escaped."""
from datetime import datetime, timezone

from organisation.domain import (Address, Contact, ContactRole, Language, Organisation, OrganisationDetails,
                                 OrganisationStatus)
from organisation.mails import MailComposer, dutch_date

NOW = datetime(2026, 12, 31, 23, 30, tzinfo=timezone.utc)  # already 1 January in Amsterdam


def _organisation(name="De Brug") -> Organisation:
    details = OrganisationDetails(name, "12345678", Address("Plein 1", "1234 AB", "Utrecht"), "0301234567",
                                  "info@debrug.nl")
    return Organisation("o-1", details, OrganisationStatus.AUTHORISED, NOW, NOW)


def _contact(language=Language.NL, role=ContactRole.ADMINISTRATOR, name="Anna") -> Contact:
    return Contact("c-1", "o-1", "a-1", role, name, "anna@debrug.nl", "", "", language, NOW, NOW)


def test_dates_are_dutch_days_in_amsterdam():
    assert dutch_date(NOW) == "01-01-2027"


def test_dutch_by_default():
    mail = MailComposer("https://pe.example/").authorisation_confirmation(_contact(), _organisation(), NOW)
    assert mail.recipient == "anna@debrug.nl"
    assert mail.subject == "De Brug is geautoriseerd op pe-insight"
    assert "Beste Anna," in mail.text_body and "01-01-2027" in mail.text_body
    assert "https://pe.example/" in mail.text_body
    assert '<html lang="nl">' in mail.html_body and 'href="https://pe.example/"' in mail.html_body


def test_english_when_the_contact_prefers_it():
    mail = MailComposer("https://pe.example").authorisation_confirmation(
        _contact(Language.EN, ContactRole.SECOND_CONTACT), _organisation(), NOW)
    assert mail.subject == "De Brug has been authorised on pe-insight"
    assert "Dear Anna," in mail.text_body and "As second contact" in mail.text_body.replace("\n", " ")
    assert '<html lang="en">' in mail.html_body


def test_names_are_escaped_in_html_only():
    mail = MailComposer("https://pe.example").authorisation_confirmation(
        _contact(name="<b>Anna</b>"), _organisation("Jansen & Zn <script>"), NOW)
    assert "Jansen & Zn <script>" in mail.subject and "<b>Anna</b>" in mail.text_body
    assert "Jansen &amp; Zn &lt;script&gt;" in mail.html_body and "&lt;b&gt;Anna&lt;/b&gt;" in mail.html_body
    assert "<script>" not in mail.html_body
