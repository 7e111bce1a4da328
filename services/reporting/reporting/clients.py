"""gRPC clients of the services reporting asks: consent (its event log), organisation (the name on
a report, and the contacts whose consents it counts) and identity (professionals' display names).

Every call has a deadline and passes the request id on. Only idempotent reads are made; the
channel (svckit.tls.open_channel) spreads them over the replicas of the service and tries one
again on another when it was unreachable.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timezone

import grpc

from pe.common.v1 import common_pb2
from pe.consent.v1 import consent_pb2, consent_pb2_grpc
from pe.identity.v1 import identity_pb2, identity_pb2_grpc
from pe.organisation.v1 import organisation_pb2, organisation_pb2_grpc
from reporting.domain import Consent, ConsentEvent, ConsentState, NotFound, event_problem
from reporting.handlers import ConsentLogUnavailable, OrganisationInfo, Unavailable
from svckit.interceptors import outgoing_metadata
from svckit.logs import get_logger

log = get_logger(__name__)

_STATES = {consent_pb2.CONSENT_STATE_ACTIVE: ConsentState.ACTIVE,
           consent_pb2.CONSENT_STATE_REVOKED: ConsentState.REVOKED,
           consent_pb2.CONSENT_STATE_EXPIRED: ConsentState.EXPIRED,
           consent_pb2.CONSENT_STATE_ENDED: ConsentState.ENDED}


def _call(method, request, timeout: float):
    """One idempotent read with its deadline and the request id."""
    return method(request, timeout=timeout, metadata=outgoing_metadata())


def _date(value: common_pb2.Date) -> date:
    return date(value.year, value.month, value.day)


def _time(value) -> datetime:
    return value.ToDatetime(tzinfo=timezone.utc)


def consent_from_proto(consent: consent_pb2.Consent) -> Consent:
    state = _STATES.get(consent.state)
    if state is None:
        raise ValueError(f"consent {consent.consent_id} has no known state ({consent.state})")
    if not consent.consent_id or not consent.professional_id or consent.sequence < 1:
        raise ValueError("consent without id, professional or sequence")
    return Consent(consent_id=consent.consent_id, professional_id=consent.professional_id,
                   pe_registration_number=consent.pe_registration_number,
                   organisation_id=consent.organisation_id, contact_id=consent.contact_id,
                   valid_from=_time(consent.valid_from),
                   end_date=_date(consent.end_date) if consent.HasField("end_date") else None,
                   state=state, reason=consent.end_reason or None, sequence=consent.sequence)


def event_from_proto(event: consent_pb2.ConsentEvent) -> ConsentEvent:
    consent = consent_from_proto(event.consent)
    if event.reason and not consent.reason:
        consent = replace(consent, reason=event.reason)
    found = ConsentEvent(event_id=event.event_id, type=event.type, consent=consent, position=event.position,
                         occurred_at=_time(event.occur_time) if event.HasField("occur_time") else None)
    problem = event_problem(found)
    if problem:
        raise ValueError(problem)
    return found


class ConsentLogClient:
    def __init__(self, channel: grpc.Channel, timeout: float = 5.0):
        self._stub = consent_pb2_grpc.ConsentServiceStub(channel)
        self._timeout = timeout

    def events_after(self, position: int, page_size: int, timeout: float | None = None) -> tuple[list[ConsentEvent], int]:
        try:
            reply = _call(self._stub.ListConsentEvents,
                          consent_pb2.ListConsentEventsRequest(after_position=position, page_size=page_size),
                          timeout or self._timeout)
        except grpc.RpcError as error:
            raise ConsentLogUnavailable(f"ListConsentEvents failed: {error.code().name}") from None
        try:
            return [event_from_proto(event) for event in reply.events], reply.head_position
        except ValueError as error:
            raise ConsentLogUnavailable(f"ListConsentEvents answered an unusable event: {error}") from None


class OrganisationClient:
    """The organisation's name and status, and its contacts, asked on every report and never kept:
    a renamed organisation's next report carries the new name, and a suspended one gets none. One
    GetOrganisation is little beside rendering a report."""

    CONTACTS_PAGE = 200

    def __init__(self, channel: grpc.Channel, timeout: float = 5.0):
        self._stub = organisation_pb2_grpc.OrganisationServiceStub(channel)
        self._timeout = timeout

    def organisation(self, organisation_id: str) -> OrganisationInfo:
        try:
            reply = _call(self._stub.GetOrganisation,
                          organisation_pb2.GetOrganisationRequest(organisation_id=organisation_id), self._timeout)
        except grpc.RpcError as error:
            if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise NotFound("no such organisation") from None
            raise Unavailable("ORGANISATION_UNAVAILABLE",
                              f"the organisation service did not answer ({error.code().name})") from None
        return OrganisationInfo(organisation_id, reply.organisation.name,
                                reply.organisation.status == organisation_pb2.ORGANISATION_STATUS_AUTHORISED)

    def contact_ids(self, organisation_id: str) -> frozenset[str]:
        found: set[str] = set()
        token = ""
        while True:
            try:
                reply = _call(self._stub.ListContacts, organisation_pb2.ListContactsRequest(
                    organisation_id=organisation_id, page_size=self.CONTACTS_PAGE, page_token=token), self._timeout)
            except grpc.RpcError as error:
                if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                    raise NotFound("no such organisation") from None
                raise Unavailable("ORGANISATION_UNAVAILABLE",
                                  f"the organisation service did not answer ({error.code().name})") from None
            found.update(contact.contact_id for contact in reply.contacts)
            token = reply.next_page_token
            if not token:
                return frozenset(found)


class AccountClient:
    """Display names from identity (BatchGetAccounts), cached; on failure, what the cache has."""

    BATCH = 500

    def __init__(self, channel: grpc.Channel, timeout: float = 5.0, ttl_seconds: float = 600.0,
                 max_entries: int = 100_000):
        self._stub = identity_pb2_grpc.IdentityServiceStub(channel)
        self._timeout, self._ttl, self._max = timeout, ttl_seconds, max_entries
        self._cache: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def display_names(self, account_ids: Sequence[str]) -> dict[str, str]:
        now = time.monotonic()
        names, wanted = {}, []
        with self._lock:
            for account_id in dict.fromkeys(account_ids):
                cached = self._cache.get(account_id)
                if cached and now - cached[0] < self._ttl:
                    names[account_id] = cached[1]
                else:
                    wanted.append(account_id)
        for start in range(0, len(wanted), self.BATCH):
            batch = wanted[start:start + self.BATCH]
            try:
                reply = _call(self._stub.BatchGetAccounts,
                              identity_pb2.BatchGetAccountsRequest(account_ids=batch), self._timeout)
            except grpc.RpcError as error:
                log.warning("display names unavailable, shown without them", error=error.code().name,
                            missing=len(wanted) - start)
                with self._lock:  # stale names beat none
                    names.update({i: self._cache[i][1] for i in wanted[start:] if i in self._cache})
                break
            fetched = {account.account_id: account.display_name for account in reply.accounts}
            names.update(fetched)
            with self._lock:
                for account_id, name in fetched.items():
                    self._cache[account_id] = (now, name)
                    self._cache.move_to_end(account_id)
                while len(self._cache) > self._max:
                    self._cache.popitem(last=False)
        return names
