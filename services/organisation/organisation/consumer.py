"""Identity's events the organisation service follows: a holder confirmed a new login e-mail, which
becomes the address on their contact card (the one decision mails go to).

Handling is idempotent and safe under reordering: an announcement older than the last one applied
changes nothing. A message that cannot be read raises, so the svckit consumer retries it and then
dead-letters it.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from cloudevents.core.bindings import rabbitmq as ce_rabbitmq

from organisation import handlers
from svckit.amqp import Consumer, Message, QueueSpec, consuming_worker
from svckit.logs import get_logger
from svckit.process import Worker

log = get_logger(__name__)

EXCHANGE = "pe.identity"
EMAIL_CHANGED = "account.email_changed"
QUEUE = QueueSpec("organisation.identity-events.v2", ((EXCHANGE, EMAIL_CHANGED),),
                  replaces="organisation.identity-events")


class BadMessage(ValueError):
    """Not a CloudEvent this consumer understands."""


def _text_headers(headers) -> dict[str, str]:
    return {str(k): v.decode() if isinstance(v, bytes) else str(v) for k, v in (headers or {}).items()}


def _email_change(data: dict) -> tuple[str, str, datetime]:
    try:
        account_id = str(uuid.UUID(data["account_id"]))
        email, occurred_at = data["email"], datetime.fromisoformat(data["occurred_at"].replace("Z", "+00:00"))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise BadMessage(f"data needs account_id (a UUID), email and occurred_at: {error}") from None
    if not isinstance(email, str) or "@" not in email or occurred_at.tzinfo is None:
        raise BadMessage("data.email must be an e-mail address and data.occurred_at an instant with offset")
    return account_id, email, occurred_at


class IdentityEvents:
    """The message handler: parse, then give the account's contacts the confirmed address."""

    def __init__(self, deps: handlers.Deps):
        self._deps = deps

    def __call__(self, message: Message) -> None:
        try:
            event = ce_rabbitmq.from_binary_event(ce_rabbitmq.RabbitMQMessage(
                headers=_text_headers(message.headers), content_type=message.content_type or "application/json",
                body=message.body))
        except Exception as error:  # whatever the library objects to, it is a bad message
            raise BadMessage(f"not a binary-mode CloudEvent: {error}") from None
        data = event.get_data()
        if message.routing_key != EMAIL_CHANGED or not isinstance(data, dict):
            raise BadMessage(f"unexpected message {message.routing_key!r}")
        account_id, email, occurred_at = _email_change(data)
        changed = handlers.adopt_login_email(account_id, email, occurred_at, self._deps)
        log.info("login e-mail adopted", event_id=event.get_id(), account_id=account_id, contacts_changed=changed)


def consumer_worker(amqp_url: str, deps: handlers.Deps, spec: QueueSpec = QUEUE) -> Worker:
    return consuming_worker("organisation-identity-events", Consumer(amqp_url, spec, IdentityEvents(deps)))
