"""Organisation events that end consents: a contact removed, an organisation suspended.

Each CloudEvent is handled once, by its id, in the transaction that ends the consents. A message
that cannot be read raises, so the svckit consumer retries it and then dead-letters it.
"""
from __future__ import annotations

import uuid

from cloudevents.core.bindings import rabbitmq as ce_rabbitmq

from svckit.amqp import Consumer, Message, QueueSpec, consuming_worker
from svckit.logs import get_logger
from svckit.process import Worker

from consent import handlers

log = get_logger(__name__)

EXCHANGE = "pe.organisation"
CONTACT_REMOVED = "organisation.contact_removed"
SUSPENDED = "organisation.suspended"
QUEUE = QueueSpec("consent.organisation-events.v2", ((EXCHANGE, CONTACT_REMOVED), (EXCHANGE, SUSPENDED)),
                  replaces="consent.organisation-events")


class BadMessage(ValueError):
    """Not a CloudEvent this consumer understands."""


def _text_headers(headers) -> dict[str, str]:
    return {str(k): v.decode() if isinstance(v, bytes) else str(v) for k, v in (headers or {}).items()}


def _uuid_field(data: dict, name: str) -> str:
    value = data.get(name)
    try:
        return str(uuid.UUID(value))
    except (TypeError, ValueError, AttributeError):
        raise BadMessage(f"data.{name} must be a UUID, got {value!r}") from None


class OrganisationEvents:
    """The message handler: parse, then end the consents concerned."""

    def __init__(self, deps: handlers.Dependencies):
        self._deps = deps

    def __call__(self, message: Message) -> None:
        try:
            event = ce_rabbitmq.from_binary_event(ce_rabbitmq.RabbitMQMessage(
                headers=_text_headers(message.headers), content_type=message.content_type or "application/json",
                body=message.body))
        except Exception as error:  # whatever the library objects to, it is a bad message
            raise BadMessage(f"not a binary-mode CloudEvent: {error}") from None
        data = event.get_data()
        if not event.get_id() or not isinstance(data, dict):
            raise BadMessage("a CloudEvent with an id and a JSON object as data is needed")
        incoming = handlers.IncomingEvent(event.get_id(), event.get_type())
        if message.routing_key == CONTACT_REMOVED:
            ended = handlers.end_for_removed_contact(incoming, _uuid_field(data, "contact_id"), self._deps)
        elif message.routing_key == SUSPENDED:
            ended = handlers.end_for_suspended_organisation(incoming, _uuid_field(data, "organisation_id"),
                                                            self._deps)
        else:
            raise BadMessage(f"unexpected routing key {message.routing_key!r}")
        log.info("organisation event handled", event_id=incoming.event_id, routing_key=message.routing_key,
                 consents_ended=ended)


def consumer_worker(amqp_url: str, deps: handlers.Dependencies, spec: QueueSpec = QUEUE) -> Worker:
    return consuming_worker("consent-organisation-events", Consumer(amqp_url, spec, OrganisationEvents(deps)))
