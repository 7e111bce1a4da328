"""Consent events leave through the outbox as CloudEvents on the real 'pe.consent' exchange, each
as docs/asyncapi.yaml describes it; a relay killed between publishing and marking loses nothing."""
import json
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from cloudevents.core.bindings import rabbitmq as ce_rabbitmq
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import select

from svckit.event_outbox import EventRelay

from consent import events, handlers
from consent.repository import event_outbox

from consent_testkit import received_messages as _received

pytestmark = pytest.mark.integration

ASYNCAPI = Path(__file__).resolve().parents[4] / "docs" / "asyncapi.yaml"


@pytest.fixture(scope="module")
def asyncapi():
    return yaml.safe_load(ASYNCAPI.read_text())


def _validator(document, pointer):
    registry = Registry().with_resource("urn:asyncapi", Resource.from_contents(document,
                                                                              default_specification=DRAFT202012))
    return Draft202012Validator({"$ref": f"urn:asyncapi#{pointer}"}, registry=registry,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def _message_for(document, routing_key):
    """The AsyncAPI channel whose address is this routing key, and its one message."""
    for name, channel in document["channels"].items():
        if channel.get("address") == routing_key:
            (message_name,) = channel["messages"]
            ref = channel["messages"][message_name]["$ref"]
            return name, ref.removeprefix("#")
    raise AssertionError(f"no channel in asyncapi.yaml for {routing_key}")


def _make_history(deps, directory):
    """One of every kind of event: granted, changed, revoked, ended by the system, expired."""
    organisation = directory.add_organisation()
    contacts = [directory.add_contact(organisation) for _ in range(4)]
    professional = directory.add_account()
    written = handlers.grant_consents(handlers.GrantConsents(professional, "PE-77", organisation, tuple(contacts),
                                                             date(2027, 1, 20)), deps)
    first, second, third, _ = written.consents
    handlers.change_end_date(handlers.ChangeEndDate(first.consent_id, professional, None), deps)
    handlers.revoke_consent(handlers.RevokeConsent(first.consent_id, professional), deps)
    handlers.end_for_removed_contact(handlers.IncomingEvent(str(uuid.uuid4()), "t"), second.contact_id, deps)
    handlers.end_for_suspended_organisation(handlers.IncomingEvent(str(uuid.uuid4()), "t"), organisation, deps)
    return {c.consent_id for c in written.consents}


def test_every_event_arrives_as_the_asyncapi_document_says(deps, directory, engine, clock, queue, asyncapi):
    consent_ids = _make_history(deps, directory)
    # one more to expire: granted to a new contact, then the clock passes its end date
    organisation = directory.add_organisation()
    contact = directory.add_contact(organisation)
    expiring = handlers.grant_consents(handlers.GrantConsents(directory.add_account(), "PE-78", organisation,
                                                              (contact,), date(2027, 1, 5)), deps).consents[0]
    clock.advance(timedelta(days=3))
    assert handlers.expire_lapsed(deps) == 1
    consent_ids.add(expiring.consent_id)

    relay = EventRelay(engine, event_outbox, queue.publisher, events.EXCHANGE, clock)
    while relay.publish_due():
        pass
    received = _received(queue.channel, queue.name)
    assert received, "no events arrived"
    seen_keys, positions = set(), []
    for method, properties, body in received:
        _, message_pointer = _message_for(asyncapi, method.routing_key)
        message = asyncapi["components"]["messages"][message_pointer.rsplit("/", 1)[-1]]
        headers = dict(properties.headers)
        assert properties.content_type == message["contentType"] == "application/json"
        assert properties.delivery_mode == 2
        _validator(asyncapi, f"{message_pointer}/headers").validate(headers)
        data = json.loads(body)
        _validator(asyncapi, f"{message_pointer}/payload").validate(data)
        assert headers["ce-subject"] == data["consent_id"] and data["consent_id"] in consent_ids
        assert headers["ce-type"] == message["name"]
        event = ce_rabbitmq.from_binary_event(ce_rabbitmq.RabbitMQMessage(
            headers=headers, content_type=properties.content_type, body=body))
        assert event.get_source() == "/pe-insight/consent" and event.get_data() == data
        seen_keys.add(method.routing_key)
        positions.append(data["position"])
    assert seen_keys == {"consent.granted", "consent.changed", "consent.revoked", "consent.expired"}
    assert positions == list(range(1, len(positions) + 1))
    reasons = {json.loads(body)["reason"] for m, _, body in received if m.routing_key == "consent.revoked"}
    assert reasons == {"revoked", "contact_removed", "organisation_suspended"}


def test_the_schema_refuses_what_the_document_forbids(asyncapi):
    validator = _validator(asyncapi, "/components/messages/consentGranted/payload")
    good = {"consent_id": str(uuid.uuid4()), "professional_id": str(uuid.uuid4()), "pe_registration_number": "PE",
            "organisation_id": str(uuid.uuid4()), "contact_id": str(uuid.uuid4()),
            "valid_from": "2027-01-04T09:00:00+00:00", "valid_until": None, "state": "active", "reason": None,
            "sequence": 1, "position": 1}
    validator.validate(good)
    for bad in ({**good, "state": "paused"}, {**good, "valid_from": "yesterday"}, {**good, "valid_until": "31-12-2027"},
                {k: v for k, v in good.items() if k != "position"}, {**good, "extra": 1}):
        assert list(validator.iter_errors(bad)), bad


def test_the_document_describes_the_exchange_and_leaves_room_for_the_registry(asyncapi):
    assert asyncapi["asyncapi"].startswith("3.")
    binding = asyncapi["components"]["channelBindings"]["consentExchange"]["amqp"]
    assert binding["exchange"] == {"name": "pe.consent", "type": "topic", "durable": True, "autoDelete": False,
                                   "vhost": "/"}
    addresses = {c["address"] for key, c in asyncapi["channels"].items() if key.startswith("consent")}
    assert addresses == {"consent.granted", "consent.changed", "consent.revoked", "consent.expired"}
    consent_operations = [op for name, op in asyncapi["operations"].items() if "Consent" in name]
    assert consent_operations and all(op["action"] == "send" for op in consent_operations)
    assert "PE registry" in ASYNCAPI.read_text()

    def refs(node):
        if isinstance(node, dict):
            yield from ([node["$ref"]] if "$ref" in node else [])
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)
    for ref in refs(asyncapi):  # every reference points at something in the document
        target = asyncapi
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        assert target is not None, ref


def test_a_relay_killed_between_publish_and_marking_publishes_again(deps, directory, engine, clock, queue,
                                                                    monkeypatch):
    organisation = directory.add_organisation()
    contact = directory.add_contact(organisation)
    handlers.grant_consents(handlers.GrantConsents(directory.add_account(), "PE-1", organisation, (contact,), None),
                            deps)
    dying = EventRelay(engine, event_outbox, queue.publisher, events.EXCHANGE, clock)

    def killed(_published, _unpublished):  # dies after the broker's confirm, before marking or releasing
        raise SystemExit("killed")
    monkeypatch.setattr(dying, "_settle", killed)
    with pytest.raises(SystemExit):
        dying.publish_due()

    survivor = EventRelay(engine, event_outbox, queue.publisher, events.EXCHANGE, clock)
    assert survivor.publish_due() == 0  # the dead relay's lease still holds
    clock.advance(timedelta(minutes=1))
    assert survivor.publish_due() == 1
    received = _received(queue.channel, queue.name)
    assert len(received) == 2
    assert received[0][1].headers["ce-id"] == received[1][1].headers["ce-id"]  # the copy is recognisable
    with engine.connect() as connection:
        assert connection.execute(select(event_outbox.c.published_at)).scalar_one() is not None
    # the event log itself shows it once, published or not
    assert [e.position for e in handlers.list_events(0, 100, deps)[0]] == [1]
