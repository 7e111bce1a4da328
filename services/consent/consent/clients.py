"""The other services this one asks: organisation (is it authorised, whose contact is this) and
identity (where to mail the professional). Each call carries a deadline and the request id. These
are all idempotent reads: the channel (svckit.tls.open_channel) spreads them over the replicas of the
other service and tries one again on another when it was unavailable.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import grpc

from pe.common.v1 import common_pb2
from pe.identity.v1 import identity_pb2, identity_pb2_grpc
from pe.organisation.v1 import organisation_pb2, organisation_pb2_grpc
from svckit.interceptors import outgoing_metadata
from svckit.logs import get_logger

log = get_logger(__name__)

_ABSENT = (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT)


class DirectoryUnavailable(Exception):
    """Another service did not answer in time or failed; the request may be retried later."""


@dataclass(frozen=True)
class Organisation:
    organisation_id: str
    name: str
    authorised: bool


@dataclass(frozen=True)
class Contact:
    contact_id: str
    organisation_id: str
    name: str


@dataclass(frozen=True)
class Account:
    account_id: str
    email: str
    display_name: str
    language: str      # "nl" or "en"


class OrganisationDirectory(Protocol):
    def get_organisation(self, organisation_id: str) -> Organisation | None: ...

    def get_contacts(self, contact_ids: Sequence[str]) -> dict[str, Contact | None]: ...


class AccountDirectory(Protocol):
    def get_account(self, account_id: str) -> Account | None: ...


def _call(name: str, method, request, timeout: float):
    """One read with a deadline; None if absent."""
    try:
        return method(request, timeout=timeout, metadata=outgoing_metadata())
    except grpc.RpcError as error:
        if error.code() in _ABSENT:
            return None
        raise DirectoryUnavailable(f"{name}: {error.code().name}") from None


def contact_label(contact: organisation_pb2.Contact) -> str:
    """How a contact is named in a mail: a department by its department name as well."""
    if contact.department_name and contact.department_name != contact.name:
        return f"{contact.name} ({contact.department_name})" if contact.name else contact.department_name
    return contact.name


class GrpcOrganisationDirectory:
    def __init__(self, channel: grpc.Channel, timeout: float = 3.0):
        self._stub = organisation_pb2_grpc.OrganisationServiceStub(channel)
        self._timeout = timeout

    def get_organisation(self, organisation_id: str) -> Organisation | None:
        response = _call("GetOrganisation", self._stub.GetOrganisation,
                         organisation_pb2.GetOrganisationRequest(organisation_id=organisation_id), self._timeout)
        if response is None:
            return None
        organisation = response.organisation
        return Organisation(organisation.organisation_id or organisation_id, organisation.name,
                            organisation.status == organisation_pb2.ORGANISATION_STATUS_AUTHORISED)

    def get_contacts(self, contact_ids: Sequence[str]) -> dict[str, Contact | None]:
        """Asks for all contacts at once; a removed or unknown contact answers None."""
        pending = {contact_id: self._stub.GetContact.future(
            organisation_pb2.GetContactRequest(contact_id=contact_id), timeout=self._timeout,
            metadata=outgoing_metadata()) for contact_id in contact_ids}
        found: dict[str, Contact | None] = {}
        for contact_id, future in pending.items():
            try:
                response = future.result()
            except grpc.RpcError as error:
                if error.code() in _ABSENT:
                    found[contact_id] = None
                    continue
                raise DirectoryUnavailable(f"GetContact: {error.code().name}") from None
            contact = response.contact
            found[contact_id] = Contact(contact.contact_id or contact_id, contact.organisation_id,
                                        contact_label(contact))
        return found


class GrpcAccountDirectory:
    def __init__(self, channel: grpc.Channel, timeout: float = 3.0):
        self._stub = identity_pb2_grpc.IdentityServiceStub(channel)
        self._timeout = timeout

    def get_account(self, account_id: str) -> Account | None:
        response = _call("GetAccount", self._stub.GetAccount, identity_pb2.GetAccountRequest(account_id=account_id),
                         self._timeout)
        if response is None or not response.account.email:
            return None
        account = response.account
        language = "en" if account.language == common_pb2.LANGUAGE_EN else "nl"
        return Account(account.account_id or account_id, account.email, account.display_name or account.username,
                       language)
