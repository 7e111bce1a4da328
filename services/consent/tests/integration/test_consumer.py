"""Organisation events from the real 'pe.organisation' exchange end consents, once per event id;
a message that cannot be read is retried and then dead-lettered."""
import threading
import time
import uuid
from datetime import datetime, timezone

import pytest
from cloudevents.core.bindings import rabbitmq as ce_rabbitmq
from cloudevents.core.v1.event import CloudEvent

from svckit.amqp import ConfirmingPublisher, Message, QueueSpec, connect

from consent import handlers
from consent.consumer import CONTACT_REMOVED, EXCHANGE, SUSPENDED, consumer_worker
from consent.domain import State

pytestmark = pytest.mark.integration


@pytest.fixture
def organisation_events(amqp_url, deps):
    """The consumer, running on a queue of this test's own bound like the service's."""
    name = f"test.consent.organisation-events.{uuid.uuid4().hex[:8]}"
    spec = QueueSpec(name, ((EXCHANGE, CONTACT_REMOVED), (EXCHANGE, SUSPENDED)), max_attempts=2)
    worker = consumer_worker(amqp_url, deps, spec)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    publisher = ConfirmingPublisher(amqp_url, exchanges=(EXCHANGE,))
    deadline = time.monotonic() + 10
    connection = connect(amqp_url)
    channel = connection.channel()
    while time.monotonic() < deadline:  # wait for the consumer to have declared and bound its queue
        try:
            channel.queue_declare(name, passive=True)
            break
        except Exception:
            channel = connection.channel()
            time.sleep(0.1)

    def publish(routing_key, data, event_id=None, body=None):
        event = CloudEvent(attributes={
            "id": event_id or str(uuid.uuid4()), "source": "/pe-insight/organisation",
            "type": f"pe.{routing_key}.v1", "subject": data.get("organisation_id", "x"),
            "time": datetime.now(timezone.utc), "datacontenttype": "application/json", "specversion": "1.0"},
            data=data)
        binary = ce_rabbitmq.to_binary_event(event)
        publisher.publish(EXCHANGE, Message(routing_key, body if body is not None else binary.body,
                                            binary.headers, "application/json"))

    yield type("Events", (), dict(publish=staticmethod(publish), spec=spec, channel=channel))
    worker.stop()
    thread.join(10)
    publisher.close()
    for queue in (name, spec.dead_letter_queue):
        channel.queue_delete(queue)
    channel.exchange_delete(spec.dead_letter_exchange)
    connection.close()


def _eventually(check, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def granted(deps, directory):
    organisation = directory.add_organisation()
    contacts = [directory.add_contact(organisation) for _ in range(3)]
    professional = directory.add_account()
    consents = handlers.grant_consents(handlers.GrantConsents(professional, "PE-1", organisation, tuple(contacts),
                                                              None), deps).consents
    return type("Granted", (), dict(organisation=organisation, contacts=contacts, consents=consents,
                                    professional=professional))


def _state(deps, consent):
    return handlers.get_consent(consent.consent_id, deps)


def test_contact_removed_ends_that_contacts_consents_once(organisation_events, deps, granted):
    event_id = str(uuid.uuid4())
    data = {"organisation_id": granted.organisation, "contact_id": granted.contacts[0],
            "account_id": str(uuid.uuid4()), "reason": "left the company", "occurred_at": "2027-01-04T09:00:00Z"}
    organisation_events.publish(CONTACT_REMOVED, data, event_id)
    assert _eventually(lambda: _state(deps, granted.consents[0]).state is State.ENDED)
    ended = _state(deps, granted.consents[0])
    assert ended.end_reason.value == "contact_removed" and ended.sequence == 2
    assert _state(deps, granted.consents[1]).state is State.ACTIVE
    head = handlers.list_events(0, 1, deps)[1]

    organisation_events.publish(CONTACT_REMOVED, data, event_id)  # the same event again
    marker = str(uuid.uuid4())  # a later event shows the duplicate has been handled
    organisation_events.publish(CONTACT_REMOVED, {**data, "contact_id": str(uuid.uuid4())}, marker)
    assert _eventually(lambda: _processed(deps, marker))
    assert handlers.list_events(0, 1, deps)[1] == head
    assert _state(deps, granted.consents[0]).sequence == 2


def _processed(deps, event_id):
    from sqlalchemy import select
    from consent.repository import processed_events
    with deps.store.reading() as reader:
        return reader.connection.execute(select(processed_events.c.event_id).where(
            processed_events.c.event_id == event_id)).first() is not None


def test_organisation_suspended_ends_every_consent_to_its_contacts(organisation_events, deps, granted):
    organisation_events.publish(SUSPENDED, {"organisation_id": granted.organisation, "reason": "fraud",
                                            "occurred_at": "2027-01-04T09:00:00Z"})
    assert _eventually(lambda: all(_state(deps, c).state is State.ENDED for c in granted.consents))
    assert {_state(deps, c).end_reason.value for c in granted.consents} == {"organisation_suspended"}
    assert not handlers.check_access(granted.contacts[2], granted.professional, deps)


def test_an_unreadable_message_is_dead_lettered(organisation_events, deps, granted):
    organisation_events.publish(SUSPENDED, {"organisation_id": "not-a-uuid"})
    organisation_events.publish(SUSPENDED, {}, body=b"\xff not json")

    def dead_letters():
        return organisation_events.channel.queue_declare(organisation_events.spec.dead_letter_queue,
                                                         passive=True).method.message_count
    assert _eventually(lambda: dead_letters() == 2)
    assert all(_state(deps, c).state is State.ACTIVE for c in granted.consents)
