"""Queued mail reaches a real SMTP server once, and survives the server being down."""
import threading
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import MetaData, select

from svckit.clock import ManualClock
from svckit.db import make_engine
from svckit.mail import SMTPMailSender
from svckit.mail_outbox import MailRelay, OutgoingMail, enqueue_mail, mail_outbox_table

pytestmark = pytest.mark.integration


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, _server, _session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def outbox(databases):
    metadata = MetaData()
    table = mail_outbox_table(metadata)
    engine = make_engine(databases.new("mail"))
    metadata.create_all(engine)
    yield engine, table
    engine.dispose()


def _queue(engine, table, clock, recipient="jan@example.org"):
    with engine.begin() as connection:
        return enqueue_mail(connection, table, OutgoingMail(recipient, "Welkom", "Hallo Jan", "<p>Hallo Jan</p>"),
                            clock.now())


def test_mail_is_sent_once_with_text_and_html(outbox, port_factory):
    engine, table = outbox
    clock = ManualClock(datetime(2026, 11, 28, 9, tzinfo=timezone.utc))
    inbox, port = Inbox(), port_factory()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        _queue(engine, table, clock)
        relay = MailRelay(engine, table, SMTPMailSender("127.0.0.1", port), clock, from_address="noreply@x.test")
        assert relay.deliver_due() == 1
        assert relay.deliver_due() == 0
    finally:
        controller.stop()
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "jan@example.org" and message["Subject"] == "Welkom"
    assert message.get_body(("plain",)).get_content().strip() == "Hallo Jan"
    assert "<p>Hallo Jan</p>" in message.get_body(("html",)).get_content()


def test_mail_waits_out_an_smtp_outage_and_is_sent_once_after(outbox, port_factory):
    engine, table = outbox
    clock = ManualClock(datetime(2026, 11, 28, 9, tzinfo=timezone.utc))
    port = port_factory()
    mail_id = _queue(engine, table, clock)
    relay = MailRelay(engine, table, SMTPMailSender("127.0.0.1", port, timeout=2), clock,
                      from_address="noreply@x.test")
    assert relay.deliver_due() == 1  # tried while nothing listens: stays queued
    with engine.connect() as connection:
        row = connection.execute(select(table).where(table.c.mail_id == mail_id)).one()
    assert row.sent_at is None and row.attempts == 1 and row.last_error

    assert relay.deliver_due() == 0  # not due again until the back-off has passed
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        clock.advance(timedelta(seconds=3))
        assert relay.deliver_due() == 1
        clock.advance(timedelta(minutes=10))
        assert relay.deliver_due() == 0
    finally:
        controller.stop()
    assert len(inbox.messages) == 1


def test_two_relays_never_send_one_mail_twice(outbox, port_factory):
    engine, table = outbox
    clock = ManualClock(datetime(2026, 11, 28, 9, tzinfo=timezone.utc))
    inbox, port = Inbox(), port_factory()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        for index in range(20):
            _queue(engine, table, clock, recipient=f"user{index}@example.org")
        relays = [MailRelay(engine, table, SMTPMailSender("127.0.0.1", port), clock, from_address="n@x.test",
                            batch=3) for _ in range(2)]

        def drain(relay):
            while relay.deliver_due():
                pass
        threads = [threading.Thread(target=drain, args=(relay,)) for relay in relays]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        controller.stop()
    recipients = sorted(m["To"] for m in inbox.messages)
    assert recipients == sorted(f"user{i}@example.org" for i in range(20))


LINK = "https://pe-insight.example/wachtwoord?token=Zq3-secret-link-token-41Xb"


def _queue_link(engine, table, clock):
    with engine.begin() as connection:
        return enqueue_mail(connection, table, OutgoingMail(
            "jan@example.org", "Stel uw wachtwoord in", f"Open {LINK}", f'<a href="{LINK}">Open</a>'), clock.now())


def _row(engine, table, mail_id):
    with engine.connect() as connection:
        return connection.execute(select(table).where(table.c.mail_id == mail_id)).one()


def test_once_the_server_accepted_a_mail_its_bodies_are_gone(outbox, port_factory):
    engine, table = outbox
    clock = ManualClock(datetime(2026, 11, 28, 9, tzinfo=timezone.utc))
    inbox, port = Inbox(), port_factory()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        mail_id = _queue_link(engine, table, clock)
        relay = MailRelay(engine, table, SMTPMailSender("127.0.0.1", port), clock, from_address="noreply@x.test")
        assert relay.deliver_due() == 1
    finally:
        controller.stop()
    assert LINK in inbox.messages[0].get_body(("plain",)).get_content()  # the mail itself had the link
    row = _row(engine, table, mail_id)
    assert row.sent_at is not None and (row.text_body, row.html_body) == ("", "")
    assert (row.recipient, row.subject) == ("jan@example.org", "Stel uw wachtwoord in")  # the record stays
    assert not [value for value in row if isinstance(value, str) and "secret-link-token" in value]


def test_a_mail_not_yet_accepted_keeps_its_bodies_for_the_next_attempt(outbox, port_factory):
    engine, table = outbox
    clock = ManualClock(datetime(2026, 11, 28, 9, tzinfo=timezone.utc))
    mail_id = _queue_link(engine, table, clock)
    relay = MailRelay(engine, table, SMTPMailSender("127.0.0.1", port_factory(), timeout=2), clock,
                      from_address="noreply@x.test")
    assert relay.deliver_due() == 1  # nothing listens
    row = _row(engine, table, mail_id)
    assert row.sent_at is None and LINK in row.text_body and LINK in row.html_body
