"""The composition root with every worker running: a grant over gRPC leaves as an event on the
broker and a receipt by mail, and an organisation event from the broker ends the consent."""
import threading
import time
import uuid
from datetime import datetime, timezone

import grpc
import pytest
from aiosmtpd.controller import Controller
from cloudevents.core.bindings import rabbitmq as ce_rabbitmq
from cloudevents.core.v1.event import CloudEvent
from prometheus_client import CollectorRegistry

from pe.consent.v1 import consent_pb2 as pb, consent_pb2_grpc
from svckit.amqp import ConfirmingPublisher, Message, connect
from svckit.server import GrpcHost

from consent import config
from consent.__main__ import bootstrap
from consent.consumer import CONTACT_REMOVED, EXCHANGE, QUEUE
from consent_testkit import Inbox, received_messages

pytestmark = pytest.mark.integration


def _eventually(check, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def service(engine, others, directory, amqp_url, port_factory, queue):
    inbox, smtp_port = Inbox(), port_factory()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    settings = config.load({"AMQP_URL": amqp_url, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port),
                            "ORGANISATION_ADDR": others.organisation_addr, "IDENTITY_ADDR": others.identity_addr,
                            "PUBLIC_URL": "https://pe-insight.test", "EXPIRY_INTERVAL_SECONDS": "0.5"})
    parts = bootstrap(settings, engine, tls=None, registry=CollectorRegistry())
    host = GrpcHost(port=port_factory(), bind_host="127.0.0.1", registry=CollectorRegistry(), credentials=None,
                    registrations=parts.registrations)
    host.start()
    threads = [threading.Thread(target=w.run, name=w.name, daemon=True) for w in parts.workers]
    for thread in threads:
        thread.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{host.port}")
    yield type("Service", (), dict(api=consent_pb2_grpc.ConsentServiceStub(channel), inbox=inbox))
    channel.close()
    host.drain(0)
    for worker in parts.workers:
        worker.stop()
    for thread in threads:
        thread.join(10)
    controller.stop()
    # the service's own queue outlives the test; empty it so nothing stale is left for later runs
    connection = connect(amqp_url)
    connection.channel().queue_purge(QUEUE.name)
    connection.close()


def test_grant_event_mail_and_organisation_event_end_to_end(service, directory, queue, amqp_url):
    organisation = directory.add_organisation()
    contact = directory.add_contact(organisation, "Anna")
    professional = directory.add_account("Jan", email="jan@example.org")
    granted = service.api.GrantConsents(pb.GrantConsentsRequest(
        professional_id=professional, pe_registration_number="PE-1", organisation_id=organisation,
        contact_ids=[contact]), timeout=10)
    consent_id = granted.consents[0].consent_id

    assert _eventually(lambda: len(service.inbox.messages) == 1)
    assert service.inbox.messages[0]["To"] == "jan@example.org"
    messages = []
    assert _eventually(lambda: messages.extend(received_messages(queue.channel, queue.name)) or messages)
    assert messages[0][0].routing_key == "consent.granted"
    assert messages[0][1].headers["ce-subject"] == consent_id

    event = CloudEvent(attributes={"id": str(uuid.uuid4()), "source": "/pe-insight/organisation",
                                   "type": "pe.organisation.contact_removed.v1", "subject": organisation,
                                   "time": datetime.now(timezone.utc), "datacontenttype": "application/json"},
                       data={"organisation_id": organisation, "contact_id": contact, "account_id": str(uuid.uuid4()),
                             "reason": "left", "occurred_at": datetime.now(timezone.utc).isoformat()})
    binary = ce_rabbitmq.to_binary_event(event)
    publisher = ConfirmingPublisher(amqp_url, exchanges=(EXCHANGE,))
    try:
        publisher.publish(EXCHANGE, Message(CONTACT_REMOVED, binary.body, binary.headers, "application/json"))
    finally:
        publisher.close()

    def ended():
        consent = service.api.GetConsent(pb.GetConsentRequest(consent_id=consent_id), timeout=5).consent
        return consent.state == pb.CONSENT_STATE_ENDED
    assert _eventually(ended)
    assert not service.api.CheckAccess(pb.CheckAccessRequest(contact_id=contact, professional_id=professional),
                                       timeout=5).allowed
    assert _eventually(lambda: messages.extend(received_messages(queue.channel, queue.name)) or len(messages) == 2)
    assert messages[1][0].routing_key == "consent.revoked"
