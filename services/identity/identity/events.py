"""Identity's events as CloudEvents, published on the durable topic exchange `pe.identity` by
svckit's EventRelay through the service's outbox.

The organisation service keeps a copy of each contact's e-mail; `account.email_changed` tells it
(and any other subscriber) that a holder confirmed a new login e-mail. A breaking change to a
payload gets a new `.vN` type.
"""
from __future__ import annotations

from datetime import datetime, timezone

from identity.domain import Account
from svckit.event_outbox import OutboundEvent

EXCHANGE = "pe.identity"
SOURCE = "/pe-insight/identity"
EMAIL_CHANGED = ("pe.identity.account.email_changed.v1", "account.email_changed")


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def email_changed(account: Account, new_email: str, now: datetime) -> OutboundEvent:
    event_type, routing_key = EMAIL_CHANGED
    return OutboundEvent(type=event_type, source=SOURCE, subject=account.account_id, routing_key=routing_key,
                         data={"account_id": account.account_id, "kind": account.kind.value, "email": new_email,
                               "occurred_at": rfc3339(now)},
                         occurred_at=now)
