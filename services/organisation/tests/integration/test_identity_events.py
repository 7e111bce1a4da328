"""Identity's `account.email_changed` from a real broker: the holder's confirmed login e-mail becomes
their contact's address, once, whatever the order in which announcements arrive."""
import json
import time
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pika
import pytest
from sqlalchemy import select

from organisation import consumer, repository
from pe.organisation.v1 import organisation_pb2 as pb
from support.broker import isolated_vhost
from svckit.amqp import declare_topic_exchange
from svckit.event_outbox import OutboundEvent, to_message

pytestmark = pytest.mark.integration

OPERATOR = "5d1f5e0c-2b9a-4f0e-8d7c-6a5b4c3d2e1f"


@pytest.fixture
def service_env(service_env, amqp_url):
    with isolated_vhost(amqp_url) as url:   # the consumer's queue has a fixed name
        yield {**service_env, "AMQP_URL": url}


def _announce(amqp_url: str, account_id: str, email: str, at: datetime, event_id: str | None = None) -> None:
    event = OutboundEvent(type="pe.identity.account.email_changed.v1", source="/pe-insight/identity",
                          subject=account_id, routing_key=consumer.EMAIL_CHANGED,
                          data={"account_id": account_id, "kind": "employer_contact", "email": email,
                                "occurred_at": at.isoformat().replace("+00:00", "Z")},
                          occurred_at=at, **({"event_id": event_id} if event_id else {}))
    # As identity's outbox relay sends it: the same CloudEvents binary mode.
    message = to_message(SimpleNamespace(**{**vars(event), "data": json.dumps(event.data)}))
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    declare_topic_exchange(channel, consumer.EXCHANGE)
    channel.basic_publish(consumer.EXCHANGE, message.routing_key, message.body, pika.BasicProperties(
        headers=message.headers, content_type=message.content_type, delivery_mode=2))
    connection.close()


def _email(engine, contact_id: str) -> str:
    with engine.connect() as connection:
        return connection.execute(select(repository.contacts.c.email).where(
            repository.contacts.c.contact_id == contact_id)).scalar_one()


def _wait_for(predicate, seconds=15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_a_confirmed_login_email_reaches_the_contact_card(service, service_env):
    amqp_url = service_env["AMQP_URL"]
    registered = service.stub.RegisterOrganisation(pb.RegisterOrganisationRequest(
        organisation=pb.Organisation(
            name="Flex Force", chamber_of_commerce_number="30000009", phone="010 123 4567",
            email="info@flexforce.example",
            visiting_address=pb.Address(street="Coolsingel 40", postcode="3011 AD", city="Rotterdam")),
        applicant=pb.Applicant(name="Fleur Visser", email="fleur@flexforce.example", phone="0612345678",
                               username=f"fleur-{uuid.uuid4().hex[:8]}")))
    administrator = registered.administrator
    service.start("organisation-identity-events")
    time.sleep(0.5)                                      # the consumer declares its queue first
    now = datetime.now(timezone.utc)
    _announce(amqp_url, administrator.account_id, "fleur@nieuw.example", now)
    assert _wait_for(lambda: _email(service.engine, administrator.contact_id) == "fleur@nieuw.example")
    # An older announcement arriving late, and a repeat of the last, change nothing.
    _announce(amqp_url, administrator.account_id, "fleur@oud.example", now - timedelta(minutes=1))
    _announce(amqp_url, administrator.account_id, "fleur@nieuw.example", now)
    _announce(amqp_url, str(uuid.uuid4()), "nobody@example.org", now)      # not a contact: nothing to do
    time.sleep(1.0)
    assert _email(service.engine, administrator.contact_id) == "fleur@nieuw.example"
    contact = service.stub.GetContact(pb.GetContactRequest(contact_id=administrator.contact_id)).contact
    assert contact.email == "fleur@nieuw.example"
