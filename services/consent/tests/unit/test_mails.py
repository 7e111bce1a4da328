"""Receipts and reminders: Dutch by default, English on request, what, to whom, until when, how to revoke."""
from datetime import date, datetime, timezone

from consent import domain
from consent.domain import Addressee
from consent.mails import Mails, format_date

NOW = datetime(2027, 1, 4, 9, tzinfo=timezone.utc)


def _consent(end_date=date(2027, 12, 31)):
    return domain.grant(professional_id="p", pe_registration_number="PE", organisation_id="o", contact_id="c",
                        end_date=end_date, now=NOW)


def _addressee(language="nl"):
    return Addressee("jan@example.org", "Jan <Jansen>", language, "HR & L&D", "De Brug B.V.")


def test_dates_dutch_and_english():
    assert format_date(date(2027, 12, 31), "nl") == "31-12-2027"
    assert format_date(date(2027, 3, 5), "nl") == "05-03-2027"
    assert format_date(date(2027, 3, 5), "en") == "5 March 2027"


def test_grant_receipt_in_dutch():
    mail = Mails("https://pe.example/").granted(_addressee(), [_consent()], ["Anna", "HR & L&D"])
    assert mail.recipient == "jan@example.org"
    assert mail.subject.startswith("Bevestiging")
    for text in ("Beste Jan <Jansen>", "De Brug B.V.", "Anna", "HR & L&D", "tot en met 31-12-2027",
                 "https://pe.example/consents", "intrekken"):
        assert text in mail.text_body
    assert "Jan &lt;Jansen&gt;" in mail.html_body and "HR &amp; L&amp;D" in mail.html_body
    assert 'href="https://pe.example/consents"' in mail.html_body


def test_without_end_date_says_so():
    mail = Mails("https://pe.example").granted(_addressee("en"), [_consent(None)], ["Anna"])
    assert "without an end date" in mail.text_body and "Dear" in mail.text_body


def test_revocation_receipt_names_the_moment_in_amsterdam():
    revoked = _consent().revoke(NOW)
    mail = Mails("https://pe.example").revoked(_addressee(), revoked)
    assert "ingetrokken op 04-01-2027 10:00" in mail.text_body


def test_reminder_in_english():
    mail = Mails("https://pe.example").reminder(_addressee("en"), _consent(date(2027, 3, 1)))
    assert mail.subject == "Reminder: your consent ends on 1 March 2027"
    assert "extend the end date" in mail.text_body and "https://pe.example/consents" in mail.html_body


def test_an_unknown_language_falls_back_to_dutch():
    mail = Mails("https://pe.example").changed(_addressee("de"), _consent(), NOW)
    assert mail.subject.startswith("Bevestiging")
