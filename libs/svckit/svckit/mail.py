"""Sending mail over SMTP. Services queue mail in their own database and hand it to this."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage


class MailDeliveryError(Exception):
    """The SMTP server could not be reached or refused the mail; try again later."""


class SMTPMailSender:
    def __init__(self, host: str, port: int, *, timeout: float = 10.0):
        self._host, self._port, self._timeout = host, port, timeout

    def send(self, message: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as error:
            raise MailDeliveryError(f"SMTP {self._host}:{self._port}: {error}") from None
