"""The organisation's events as CloudEvents: type, routing key, subject and JSON data of each.

Published on the durable topic exchange `pe.organisation` by svckit's EventRelay. Subscribers
(consent ends consents on `organisation.suspended` and `organisation.contact_removed`) rely on
these names; a breaking change to a payload gets a new `.vN` type.
"""
from __future__ import annotations

from datetime import datetime, timezone

from organisation.domain import (ContactAdded, ContactRemoved, DomainEvent, OrganisationAuthorised,
                                 OrganisationRejected, OrganisationSuspended)
from svckit.event_outbox import OutboundEvent

EXCHANGE = "pe.organisation"
SOURCE = "/pe-insight/organisation"

# event class -> (CloudEvents type, routing key)
NAMES = {
    OrganisationAuthorised: ("pe.organisation.authorised.v1", "organisation.authorised"),
    OrganisationSuspended: ("pe.organisation.suspended.v1", "organisation.suspended"),
    OrganisationRejected: ("pe.organisation.rejected.v1", "organisation.rejected"),
    ContactAdded: ("pe.organisation.contact_added.v1", "organisation.contact_added"),
    ContactRemoved: ("pe.organisation.contact_removed.v1", "organisation.contact_removed"),
}


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def outbound(event: DomainEvent) -> OutboundEvent:
    event_type, routing_key = NAMES[type(event)]
    data = {"organisation_id": event.organisation_id, "actor_account_id": event.actor_account_id,
            "occurred_at": rfc3339(event.occurred_at)}
    if isinstance(event, (ContactAdded, ContactRemoved)):
        subject = event.contact_id
        data.update(contact_id=event.contact_id, account_id=event.account_id, role=event.role.value)
        if isinstance(event, ContactRemoved):
            data["reason"] = event.reason
    else:
        subject = event.organisation_id
        data["reason"] = event.reason
    return OutboundEvent(type=event_type, source=SOURCE, subject=subject, routing_key=routing_key, data=data,
                         occurred_at=event.occurred_at)
