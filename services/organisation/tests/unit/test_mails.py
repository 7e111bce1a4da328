"""The decision mails: Dutch by default, English on request, text and HTML, HTML escaped."""
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


def test_a_rejection_gives_the_reason_and_what_it_means():
    mail = MailComposer("https://pe.example").rejection_notice(_contact(), _organisation(), "Geen werkgever", NOW)
    assert mail.subject == "De Brug is niet geautoriseerd op pe-insight"
    assert "op 01-01-2027 afgewezen" in mail.text_body and "Reden: Geen werkgever" in mail.text_body
    assert "Professionals zien uw organisatie niet" in mail.text_body
    assert "<p>Reden: Geen werkgever</p>" in mail.html_body


def test_a_suspension_says_that_access_given_has_ended():
    mail = MailComposer("https://pe.example").suspension_notice(
        _contact(Language.EN), _organisation(), "Unpaid invoices", NOW)
    assert mail.subject == "De Brug has been suspended on pe-insight"
    assert "on 01-01-2027" in mail.text_body and "Reason: Unpaid invoices" in mail.text_body
    assert "The access professionals gave to your contacts has ended." in mail.text_body.replace("\n", " ")
    assert '<html lang="en">' in mail.html_body


def test_a_reason_is_escaped_in_html_only():
    mail = MailComposer("https://pe.example").suspension_notice(_contact(), _organisation(), "<i>fraude</i> & meer", NOW)
    assert "Reden: <i>fraude</i> & meer" in mail.text_body
    assert "Reden: &lt;i&gt;fraude&lt;/i&gt; &amp; meer" in mail.html_body and "<i>" not in mail.html_body
