"""Events reach RabbitMQ as CloudEvents; the authorisation mail reaches a real SMTP server."""
import json
import threading
import time
import uuid
from email import message_from_bytes, policy

import grpc
import pika
import pytest
from aiosmtpd.controller import Controller

from organisation import outbox
from pe.common.v1 import common_pb2
from pe.organisation.v1 import organisation_pb2 as pb
from svckit.amqp import declare_topic_exchange

pytestmark = pytest.mark.integration

OPERATOR = "5d1f5e0c-2b9a-4f0e-8d7c-6a5b4c3d2e1f"


def _wait(predicate, seconds=15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _register(service, kvk: str, name="Flex Force"):
    return service.stub.RegisterOrganisation(pb.RegisterOrganisationRequest(
        organisation=pb.Organisation(
            name=name, chamber_of_commerce_number=kvk, phone="010 123 4567", email="info@flexforce.example",
            visiting_address=pb.Address(street="Coolsingel 40", postcode="3011 AD", city="Rotterdam")),
        applicant=pb.Applicant(name="Fleur Visser", email="fleur@flexforce.example", phone="0612345678",
                               username=f"fleur-{uuid.uuid4().hex[:8]}")))


@pytest.fixture
def queue(amqp_url):
    """A queue bound to every organisation event, removed afterwards."""
    name = f"test.organisation.{uuid.uuid4().hex[:8]}"
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    declare_topic_exchange(channel, outbox.EXCHANGE)
    channel.queue_declare(name, durable=False, auto_delete=False)
    channel.queue_bind(name, outbox.EXCHANGE, routing_key="organisation.#")
    yield channel, name
    channel.queue_delete(name)
    connection.close()


def _drain(channel, name, organisation_id, received: list) -> None:
    while True:
        method, properties, body = channel.basic_get(name, auto_ack=True)
        if method is None:
            return
        data = json.loads(body)
        if data.get("organisation_id") == organisation_id:
            received.append((method.routing_key, properties, data))


def test_authorise_suspend_and_remove_contact_arrive_as_cloudevents(service, queue):
    channel, name = queue
    service.start("event-relay")
    registered = _register(service, "30000001")
    organisation_id = registered.organisation.organisation_id
    service.stub.AuthoriseOrganisation(pb.AuthoriseOrganisationRequest(
        organisation_id=organisation_id, actor_account_id=OPERATOR, reason="documents checked"))
    contact = service.stub.AddContact(pb.AddContactRequest(
        organisation_id=organisation_id, role=pb.CONTACT_ROLE_CONTACT, name="Kees", email="kees@flexforce.example",
        username=f"kees-{uuid.uuid4().hex[:8]}", actor_account_id=OPERATOR)).contact
    service.stub.RemoveContact(pb.RemoveContactRequest(contact_id=contact.contact_id, actor_account_id=OPERATOR))
    service.stub.SuspendOrganisation(pb.SuspendOrganisationRequest(
        organisation_id=organisation_id, actor_account_id=OPERATOR, reason="no longer an employer"))

    received = []
    assert _wait(lambda: _drain(channel, name, organisation_id, received) or len(received) >= 5), received
    keys = [key for key, _, _ in received]
    assert keys == ["organisation.contact_added", "organisation.authorised", "organisation.contact_added",
                    "organisation.contact_removed", "organisation.suspended"]

    by_key = {key: (properties, data) for key, properties, data in received}
    properties, data = by_key["organisation.authorised"]
    headers = properties.headers
    assert headers["ce-type"] == "pe.organisation.authorised.v1"
    assert headers["ce-source"] == "/pe-insight/organisation"
    assert headers["ce-subject"] == organisation_id
    assert headers["ce-specversion"] == "1.0"
    assert headers["ce-id"] == properties.message_id and headers["ce-time"].endswith("Z")
    assert properties.content_type == "application/json" and properties.delivery_mode == 2
    assert data["reason"] == "documents checked" and data["actor_account_id"] == OPERATOR
    assert data["occurred_at"].endswith("Z")

    properties, data = by_key["organisation.contact_removed"]
    assert properties.headers["ce-type"] == "pe.organisation.contact_removed.v1"
    assert properties.headers["ce-subject"] == contact.contact_id
    assert (data["organisation_id"], data["contact_id"], data["account_id"]) == (
        organisation_id, contact.contact_id, contact.account_id)

    properties, data = by_key["organisation.suspended"]
    assert properties.headers["ce-type"] == "pe.organisation.suspended.v1"
    assert data["reason"] == "no longer an employer"
    assert len({p.headers["ce-id"] for _, p, _ in received}) == 5


class _Inbox:
    def __init__(self):
        self.mails = []
        self.lock = threading.Lock()

    async def handle_DATA(self, _server, _session, envelope):
        with self.lock:
            self.mails.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        return "250 Message accepted"


@pytest.fixture
def smtp(service_env):
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=int(service_env["SMTP_PORT"]))
    controller.start()
    yield inbox
    controller.stop()


def test_the_authorisation_mail_reaches_administrator_and_second_contact(smtp, service):
    service.start("mail-relay")
    registered = _register(service, "30000002", name="Flex & Force")
    organisation_id = registered.organisation.organisation_id
    # Contacts come once the organisation is authorised; after a suspension both managers hear of the
    # renewed authorisation.
    service.stub.AuthoriseOrganisation(pb.AuthoriseOrganisationRequest(
        organisation_id=organisation_id, actor_account_id=OPERATOR))
    service.stub.AddContact(pb.AddContactRequest(
        organisation_id=organisation_id, role=pb.CONTACT_ROLE_SECOND_CONTACT, name="Sophie Smit",
        email="sophie@flexforce.example", username=f"sophie-{uuid.uuid4().hex[:8]}",
        language=common_pb2.LANGUAGE_EN))
    service.stub.AddContact(pb.AddContactRequest(
        organisation_id=organisation_id, role=pb.CONTACT_ROLE_CONTACT, name="Kees", email="kees@flexforce.example",
        username=f"kees-{uuid.uuid4().hex[:8]}"))
    service.stub.SuspendOrganisation(pb.SuspendOrganisationRequest(
        organisation_id=organisation_id, actor_account_id=OPERATOR, reason="unpaid invoices"))
    assert _wait(lambda: len(smtp.mails) >= 3)              # the first authorisation, then the suspension
    smtp.mails.clear()
    service.stub.AuthoriseOrganisation(pb.AuthoriseOrganisationRequest(
        organisation_id=organisation_id, actor_account_id=OPERATOR))

    assert _wait(lambda: len(smtp.mails) >= 2)
    time.sleep(0.3)  # nothing more should come
    by_recipient = {rcpt[0]: mail for rcpt, mail in smtp.mails}
    assert sorted(by_recipient) == ["fleur@flexforce.example", "sophie@flexforce.example"]

    dutch = by_recipient["fleur@flexforce.example"]
    assert dutch["Subject"] == "Flex & Force is geautoriseerd op pe-insight"
    assert "noreply@pe-insight.local" in dutch["From"]
    assert "Beste Fleur Visser" in dutch.get_body(("plain",)).get_content()
    assert "https://pe-insight.example/" in dutch.get_body(("plain",)).get_content()
    assert "Flex &amp; Force" in dutch.get_body(("html",)).get_content()

    english = by_recipient["sophie@flexforce.example"]
    assert english["Subject"] == "Flex & Force has been authorised on pe-insight"
    assert "Dear Sophie Smit" in english.get_body(("plain",)).get_content()


def test_links_owed_are_sent_by_the_follow_up_worker(service):
    service.identity.refuse["IssuePasswordSetupLink"] = grpc.StatusCode.UNAVAILABLE
    registered = _register(service, "30000003")
    assert service.identity.links == []
    del service.identity.refuse["IssuePasswordSetupLink"]
    service.start("identity-follow-ups")
    assert _wait(lambda: len(service.identity.links) == 1)
    assert service.identity.links[0].account_id == registered.administrator.account_id
