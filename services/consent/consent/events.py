"""The published form of a consent change: CloudEvent type, routing key and JSON payload.

docs/asyncapi.yaml describes exactly this; a breaking change to it gets a new `.vN` type.
"""
from __future__ import annotations

from svckit.event_outbox import OutboundEvent

from consent.domain import ConsentChanged

SOURCE = "/pe-insight/consent"
EXCHANGE = "pe.consent"


def payload(change: ConsentChanged, position: int) -> dict:
    consent = change.consent
    return {
        "consent_id": consent.consent_id,
        "professional_id": consent.professional_id,
        "pe_registration_number": consent.pe_registration_number,
        "organisation_id": consent.organisation_id,
        "contact_id": consent.contact_id,
        "valid_from": consent.valid_from.isoformat(),
        "valid_until": consent.end_date.isoformat() if consent.end_date else None,
        "state": consent.state.value,
        "reason": change.reason.value if change.reason else None,
        "sequence": consent.sequence,
        "position": position,
    }


def outbound(change: ConsentChanged, position: int) -> OutboundEvent:
    return OutboundEvent(type=change.event_type, source=SOURCE, subject=change.consent.consent_id,
                         routing_key=change.routing_key, data=payload(change, position),
                         occurred_at=change.occurred_at)
