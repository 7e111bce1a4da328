"""CloudEvents in binary mode read into consent and registry events; anything else is unusable."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from cloudevents.core.bindings import rabbitmq as ce_rabbitmq
from cloudevents.core.v1.event import CloudEvent

from reporting.consumer import (UnusableEvent, consent_event_from_message, consent_queue, registry_event_from_message,
                                registry_queue)
from reporting.domain import ConsentState
from svckit.amqp import Message

DATA = {"consent_id": "c-1", "professional_id": "p-1", "pe_registration_number": "PE-1", "organisation_id": "o-1",
        "contact_id": "k-1", "valid_from": "2026-11-28T10:00:00Z", "valid_until": "2027-03-31", "state": "active",
        "reason": None, "sequence": 1, "position": 7}


def message(data, *, event_type="pe.consent.granted.v1", event_id="e-1", body=None) -> Message:
    event = CloudEvent(attributes={"id": event_id, "source": "/pe-insight/consent", "type": event_type,
                                   "subject": "c-1", "time": datetime(2026, 11, 28, 10, tzinfo=timezone.utc),
                                   "datacontenttype": "application/json", "specversion": "1.0"}, data=data)
    binary = ce_rabbitmq.to_binary_event(event)
    return Message("consent.granted", body if body is not None else binary.body, binary.headers,
                   binary.content_type, event_id)


def test_the_queues_are_the_services_own_and_bound_to_the_exchanges():
    spec = consent_queue()
    assert spec.name == "reporting.consent-events.v2" and spec.bindings == (("pe.consent", "consent.#"),)
    assert spec.dead_letter_queue == "reporting.consent-events.v2.dead"
    assert spec.replaces == "reporting.consent-events"  # the classic queue of earlier releases
    assert registry_queue().bindings == (("pe.registry", "registry.progress_updated"),)


def test_a_consent_event_is_read_with_its_position_and_sequence():
    event = consent_event_from_message(message(DATA))
    assert (event.event_id, event.type, event.position) == ("e-1", "pe.consent.granted.v1", 7)
    consent = event.consent
    assert consent.end_date == date(2027, 3, 31) and consent.state is ConsentState.ACTIVE
    assert consent.valid_from == datetime(2026, 11, 28, 10, tzinfo=timezone.utc) and consent.sequence == 1
    assert event.occurred_at == datetime(2026, 11, 28, 10, tzinfo=timezone.utc)
    assert consent_event_from_message(message({**DATA, "valid_until": None})).consent.end_date is None


@pytest.mark.parametrize("broken", [
    {**DATA, "state": "paused"}, {**DATA, "sequence": 0}, {**DATA, "sequence": "1"}, {**DATA, "valid_until": "31/03"},
    {**DATA, "valid_from": "yesterday"}, {k: v for k, v in DATA.items() if k != "consent_id"}, ["not", "an", "object"],
    {**DATA, "consent_id": "x" * 37}, {**DATA, "pe_registration_number": "9" * 65}, {**DATA, "position": 0},
])
def test_unusable_consent_events_are_refused(broken):
    with pytest.raises(UnusableEvent):
        consent_event_from_message(message(broken))


def test_not_a_cloud_event_or_not_json_is_refused():
    with pytest.raises(UnusableEvent, match="binary mode"):
        consent_event_from_message(Message("consent.granted", b"{}", {}, "application/json"))
    with pytest.raises(UnusableEvent):
        consent_event_from_message(message(DATA, body=b"{not json"))
    with pytest.raises(UnusableEvent, match="unexpected event type"):
        consent_event_from_message(message(DATA, event_type="pe.other.v1"))


def test_a_registry_event_is_its_progress_record():
    record = {"pe_registration_number": "PE-1", "period_start": "2025-01-01", "period_end": "2027-12-31",
              "points_required": 60, "points_earned": 1, "renewal_submitted_date": None, "activities": []}
    event_id, data, occurred = registry_event_from_message(
        message(record, event_type="pe.registry.progress_updated.v1", event_id="r-1"))
    assert event_id == "r-1" and data == record and occurred.year == 2026
    with pytest.raises(UnusableEvent):
        registry_event_from_message(message(record, event_type="pe.registry.other.v1"))
