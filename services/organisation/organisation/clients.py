"""The identity service, as the organisation service needs it (handlers.AccountDirectory), over gRPC.

Every call carries a deadline and the current x-request-id. The channel (svckit.tls.open_channel)
spreads the calls over identity's replicas and retries only the read (GetAccount) on another when
one was unreachable; the writes are made safe to repeat by the saga in handlers (idempotency key,
compensation, follow-ups), never by a retry here.
"""
from __future__ import annotations

from collections.abc import Mapping

import grpc

from organisation.domain import Language
from organisation.handlers import (AccountDirectoryError, AccountRefused, EmailOwnedByHolder, LinkPurpose,
                                   NewAccount, UsernameTaken)
from pe.common.v1 import common_pb2
from pe.identity.v1 import identity_pb2, identity_pb2_grpc
from svckit.interceptors import outgoing_metadata
from svckit.rpc_errors import error_reason, field_violations

_LANGUAGES = {Language.NL: common_pb2.LANGUAGE_NL, Language.EN: common_pb2.LANGUAGE_EN}
_PURPOSES = {LinkPurpose.REGISTRATION: identity_pb2.LINK_PURPOSE_REGISTRATION,
             LinkPurpose.CONTACT_INVITATION: identity_pb2.LINK_PURPOSE_CONTACT_INVITATION}


def _field(name: str) -> str:
    """identity's field name (maybe 'account.username') as ours: username, email, name, language."""
    last = name.rpartition(".")[2]
    return {"display_name": "name"}.get(last, last)


class IdentityAccounts:
    """handlers.AccountDirectory on identity's gRPC API."""

    def __init__(self, channel: grpc.Channel, *, timeout_seconds: float = 5.0):
        self._stub = identity_pb2_grpc.IdentityServiceStub(channel)
        self._timeout = timeout_seconds

    def _call(self, method: str, request, *, absent_is_done: bool = False):
        try:
            return getattr(self._stub, method)(request, timeout=self._timeout, metadata=outgoing_metadata())
        except grpc.RpcError as error:
            if absent_is_done and error.code() == grpc.StatusCode.NOT_FOUND:
                return None
            if method == "CreateAccount" and error.code() == grpc.StatusCode.ALREADY_EXISTS:
                raise UsernameTaken(request.account.username) from None
            if method == "UpdateAccount" and error_reason(error) == "EMAIL_CHANGED_BY_HOLDER_ONLY":
                raise EmailOwnedByHolder(self._account(request.account_id).email) from None
            if method == "CreateAccount" and error.code() == grpc.StatusCode.INVALID_ARGUMENT:
                violations = {_field(name): text for name, text in field_violations(error).items()}
                raise AccountRefused(violations or {"username": error.details() or "was refused"}) from None
            raise AccountDirectoryError(f"identity {method}: {error.code().name} {error.details()}") from None

    def create_account(self, account: NewAccount, *, idempotency_key: str) -> str:
        response = self._call("CreateAccount", identity_pb2.CreateAccountRequest(
            account=identity_pb2.NewAccount(
                username=account.username, email=account.email, display_name=account.display_name,
                kind=identity_pb2.ACCOUNT_KIND_EMPLOYER_CONTACT, language=_LANGUAGES[account.language],
                link_purpose=identity_pb2.LINK_PURPOSE_UNSPECIFIED),
            idempotency_key=idempotency_key))
        return response.account.account_id

    def delete_account(self, account_id: str) -> None:
        # Not found: never made, or already undone.
        self._call("DeleteAccount", identity_pb2.DeleteAccountRequest(account_id=account_id), absent_is_done=True)

    def issue_setup_link(self, account_id: str, purpose: LinkPurpose, mail_context: Mapping[str, str]) -> None:
        self._call("IssuePasswordSetupLink", identity_pb2.IssuePasswordSetupLinkRequest(
            account_id=account_id, purpose=_PURPOSES[purpose], mail_context=dict(mail_context)))

    def update_profile(self, account_id: str, *, email: str, display_name: str) -> bool:
        response = self._call("UpdateAccount", identity_pb2.UpdateAccountRequest(
            account_id=account_id, email=email, display_name=display_name, update_mask=["email", "display_name"]),
            absent_is_done=True)
        return response is not None and response.account.status == identity_pb2.ACCOUNT_STATUS_AWAITING_PASSWORD

    def awaits_password(self, account_id: str) -> bool:
        account = self._account(account_id)
        return account is None or account.status == identity_pb2.ACCOUNT_STATUS_AWAITING_PASSWORD

    def _account(self, account_id: str) -> identity_pb2.Account | None:
        response = self._call("GetAccount", identity_pb2.GetAccountRequest(account_id=account_id), absent_is_done=True)
        return response.account if response is not None else None

    def disable_account(self, account_id: str, *, actor_account_id: str, reason: str) -> None:
        self._call("DisableAccount", identity_pb2.DisableAccountRequest(
            account_id=account_id, actor_account_id=actor_account_id, reason=reason), absent_is_done=True)
