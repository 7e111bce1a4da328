"""Each link mail has a text and an HTML part, in Dutch unless the account prefers English."""
from datetime import datetime, timezone

import pytest

from identity.domain import Account, AccountKind, AccountStatus, Language, LinkPurpose
from identity.mails import MailComposer

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
EXPIRES = datetime(2026, 3, 4, 9, 0, tzinfo=timezone.utc)


def account(language: Language, kind=AccountKind.EMPLOYER_CONTACT) -> Account:
    return Account(account_id="a", username="J.Jansen", email="jan@example.org", display_name="Jan <Jansen>",
                   kind=kind, status=AccountStatus.AWAITING_PASSWORD, language=language,
                   pe_registration_number=None, created_at=NOW, updated_at=NOW)


@pytest.mark.parametrize("purpose", list(LinkPurpose))
@pytest.mark.parametrize("language", list(Language))
def test_every_purpose_in_both_languages(purpose, language):
    mail = MailComposer("https://pe.example.org/").setup_link_mail(
        account(language), purpose, "TOKEN-abc_123", EXPIRES, {"organisation_name": "Acme & Zn", "role": "contact"})
    link = "https://pe.example.org/set-password?token=TOKEN-abc_123"
    assert mail.recipient == "jan@example.org" and mail.subject and "\n" not in mail.subject
    assert link in mail.text_body and f'href="{link}"' in mail.html_body
    assert "J.Jansen" in mail.text_body and "J.Jansen" in mail.html_body
    assert "04-03-2026 10:00" in mail.text_body            # Amsterdam time, Dutch date format
    assert "Jan <Jansen>" in mail.text_body
    assert "Jan &lt;Jansen&gt;" in mail.html_body and "<Jansen>" not in mail.html_body
    assert f'<html lang="{language.value}">' in mail.html_body
    words = {Language.NL: ("Beste", "Met vriendelijke groet"), Language.EN: ("Dear", "Kind regards")}[language]
    for word in words:
        assert word in mail.text_body and word in mail.html_body


def test_registration_names_the_organisation_and_the_operator_step():
    mail = MailComposer("http://x").setup_link_mail(account(Language.NL), LinkPurpose.REGISTRATION, "t", EXPIRES,
                                                    {"organisation_name": "Acme"})
    assert "aangevraagd voor Acme" in mail.text_body
    assert "PE-register" in mail.text_body and "autoriseert" in mail.text_body
    english = MailComposer("http://x").setup_link_mail(account(Language.EN), LinkPurpose.REGISTRATION, "t",
                                                       EXPIRES, {"organisation_name": "Acme"})
    assert "authorises your organisation" in english.text_body


def test_an_invitation_names_organisation_and_role_in_words():
    mail = MailComposer("http://x").setup_link_mail(account(Language.NL), LinkPurpose.CONTACT_INVITATION, "t",
                                                    EXPIRES, {"organisation_name": "Acme", "role": "second_contact"})
    assert "Acme heeft u toegevoegd aan pe-insight als tweede contactpersoon" in mail.text_body
    assert "door Acme" in mail.subject


def test_the_welcome_speaks_to_operators_as_operators():
    mail = MailComposer("http://x").setup_link_mail(account(Language.EN, AccountKind.OPERATOR),
                                                    LinkPurpose.PROFESSIONAL_WELCOME, "t", EXPIRES, {})
    assert "operator account" in mail.text_body
