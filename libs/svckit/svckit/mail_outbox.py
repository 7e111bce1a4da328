"""Mail queued in the sender's own database, in the transaction of the change that causes it,
and delivered by a background relay with retries: when SMTP is down, mail is late, not lost.

Each mail row is sent by one relay at a time (a lease) and marked sent right after the SMTP
server accepted it, so one change gives one mail. Marking it sent also empties its bodies: they may
hold a password-setup link, which must not outlive its mail in any database. Recipient, subject and
times stay, for the record of what was sent to whom.
"""
from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, bindparam, update
from sqlalchemy.engine import Connection, Engine

from svckit.claims import Claim
from svckit.clock import Clock
from svckit.db import insert_into, write_transaction
from svckit.logs import get_logger, mask_email
from svckit.types import UtcDateTime
from svckit.mail import MailDeliveryError, SMTPMailSender

log = get_logger(__name__)

# How long a relay holds the mails it claimed: time enough to hand a batch to a slow SMTP server.
MAIL_LEASE = timedelta(seconds=120)


def mail_outbox_table(metadata: MetaData) -> Table:
    return Table(
        "mail_outbox", metadata,
        Column("mail_id", String(36), primary_key=True),
        Column("created_at", UtcDateTime(), nullable=False),
        Column("recipient", String(320), nullable=False),
        Column("subject", String(300), nullable=False),
        Column("text_body", Text, nullable=False),
        Column("html_body", Text, nullable=False),
        Column("sent_at", UtcDateTime(), nullable=True, index=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("next_attempt_at", UtcDateTime(), nullable=False),
        Column("claimed_until", UtcDateTime(), nullable=True),
        Column("last_error", String(500), nullable=True),
    )


@dataclass(frozen=True)
class OutgoingMail:
    recipient: str
    subject: str
    text_body: str
    html_body: str


def enqueue_mail(connection: Connection, table: Table, mail: OutgoingMail, now: datetime) -> str:
    """Queue a mail inside the caller's transaction; it leaves only if that commits."""
    mail_id = str(uuid.uuid4())
    connection.execute(insert_into(table), dict(
        mail_id=mail_id, created_at=now, recipient=mail.recipient, subject=mail.subject,
        text_body=mail.text_body, html_body=mail.html_body, attempts=0, next_attempt_at=now))
    return mail_id


class MailMetrics:
    def __init__(self, registry: CollectorRegistry, service: str):
        self.sent = Counter(f"pe_{service}_mail_sent_total", "Mails accepted by the SMTP server.",
                            registry=registry)
        self.failed = Counter(f"pe_{service}_mail_attempts_failed_total",
                              "Mail delivery attempts that failed and will be retried.", registry=registry)


class MailRelay:
    def __init__(self, engine: Engine, table: Table, sender: SMTPMailSender, clock: Clock, *,
                 from_address: str, from_name: str = "pe-insight", metrics: MailMetrics | None = None,
                 poll_seconds: float = 1.0, batch: int = 20, max_backoff_seconds: float = 300.0):
        self._engine, self._table, self._sender, self._clock = engine, table, sender, clock
        self._from = formataddr((from_name, from_address))
        self._metrics = metrics
        self._poll, self._batch, self._max_backoff = poll_seconds, batch, max_backoff_seconds
        self._stopping = threading.Event()
        self._claim = Claim(table, due=table.c.sent_at.is_(None) & (table.c.next_attempt_at <= bindparam("claim_now")),
                            order_by=table.c.created_at)

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                busy = self.deliver_due() > 0
            except Exception:  # a database hiccup: log, wait, try again; mail stays queued
                log.exception("mail relay pass failed")
                busy = False
            if not busy:
                self._stopping.wait(self._poll)

    def deliver_due(self) -> int:
        """One pass: send what is due; answer how many mails were tried."""
        with write_transaction(self._engine) as connection:
            rows = self._claim(connection, now=self._clock.now(), lease=MAIL_LEASE, limit=self._batch)
        for row in rows:
            self._deliver(row)
        return len(rows)

    def _deliver(self, row) -> None:
        try:
            self._sender.send(self._message(row))
        except MailDeliveryError as error:
            attempts = row.attempts + 1
            delay = min(2 ** attempts, self._max_backoff)
            self._update(row.mail_id, attempts=attempts, claimed_until=None, last_error=str(error)[:500],
                         next_attempt_at=self._clock.now() + timedelta(seconds=delay))
            if self._metrics:
                self._metrics.failed.inc()
            log.warning("mail delivery failed, will retry", mail_id=row.mail_id, attempts=attempts,
                        retry_in_seconds=delay, to=mask_email(row.recipient))
            return
        self._update(row.mail_id, sent_at=self._clock.now(), attempts=row.attempts + 1, claimed_until=None,
                     text_body="", html_body="")
        if self._metrics:
            self._metrics.sent.inc()
        log.info("mail sent", mail_id=row.mail_id, to=mask_email(row.recipient))

    def _update(self, mail_id: str, **values) -> None:
        with write_transaction(self._engine) as connection:
            connection.execute(update(self._table).where(self._table.c.mail_id == mail_id).values(**values))

    def _message(self, row) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._from
        message["To"] = row.recipient
        message["Subject"] = row.subject
        # One Message-ID per queued mail: a receiver can drop a copy a crashed relay sent again.
        message["Message-ID"] = make_msgid(idstring=row.mail_id, domain="pe-insight.local")
        message.set_content(row.text_body)
        message.add_alternative(row.html_body, subtype="html")
        return message
