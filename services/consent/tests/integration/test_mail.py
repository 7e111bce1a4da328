"""The receipt of a grant reaches a real SMTP server, in the professional's language."""
from datetime import date, timedelta

import pytest
from aiosmtpd.controller import Controller

from svckit.mail import SMTPMailSender
from svckit.mail_outbox import MailRelay

from consent import handlers
from consent.repository import mail_outbox
from consent_testkit import Inbox

pytestmark = pytest.mark.integration


@pytest.fixture
def smtp(port_factory):
    inbox, port = Inbox(), port_factory()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def test_grant_receipt_arrives_by_smtp(deps, directory, engine, clock, smtp):
    inbox, port = smtp
    organisation = directory.add_organisation("Uitzendbureau De Brug")
    contacts = (directory.add_contact(organisation, "Anna de Vries"), directory.add_contact(organisation, "HR"))
    professional = directory.add_account("John Smith", language="en", email="john@example.org")
    consent = handlers.grant_consents(handlers.GrantConsents(professional, "PE-1", organisation, contacts,
                                                             date(2027, 12, 31)), deps).consents[0]
    clock.advance(timedelta(minutes=1))  # the relay sends oldest first
    handlers.revoke_consent(handlers.RevokeConsent(consent.consent_id, professional), deps)
    relay = MailRelay(engine, mail_outbox, SMTPMailSender("127.0.0.1", port), clock,
                      from_address="noreply@pe-insight.test")
    while relay.deliver_due():
        pass
    assert [m["To"] for m in inbox.messages] == ["john@example.org"] * 2
    receipt, revocation = inbox.messages
    assert receipt["Subject"] == "Confirmation: you have given access to your PE dossier"
    text = receipt.get_body(("plain",)).get_content()
    for expected in ("Dear John Smith", "Uitzendbureau De Brug", "Anna de Vries", "HR", "31 December 2027",
                     "https://pe-insight.test/consents"):
        assert expected in text
    assert "Anna de Vries" in receipt.get_body(("html",)).get_content()
    assert revocation["Subject"] == "Confirmation: you have revoked your consent"
    assert "Anna de Vries" in revocation.get_body(("plain",)).get_content()
