"""gRPC servicer of the identity service: proto in, use case, proto out; refusals as statuses with details."""
from __future__ import annotations

import collections
import functools

import grpc
from google.protobuf import any_pb2
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from identity import handlers
from identity.domain import (Account, AccountKind, AccountStatus, AlreadyExists, DomainError, InvalidInput,
                             Language, LinkInvalid, LinkPurpose, NewAccount, NotAllowed, NotAuthenticated,
                             NotFound, Session, SessionInvalid, Throttled)
from identity.handlers import Deps
from identity.keys import SigningKeyStore
from pe.common.v1 import common_pb2
from pe.identity.v1 import identity_pb2, identity_pb2_grpc
from svckit import rpc_errors
from svckit.logs import get_logger

log = get_logger(__name__)

DOMAIN = "pe-insight"

_KINDS = {identity_pb2.ACCOUNT_KIND_EMPLOYER_CONTACT: AccountKind.EMPLOYER_CONTACT,
          identity_pb2.ACCOUNT_KIND_PROFESSIONAL: AccountKind.PROFESSIONAL,
          identity_pb2.ACCOUNT_KIND_OPERATOR: AccountKind.OPERATOR}
_STATUSES = {AccountStatus.AWAITING_PASSWORD: identity_pb2.ACCOUNT_STATUS_AWAITING_PASSWORD,
             AccountStatus.ACTIVE: identity_pb2.ACCOUNT_STATUS_ACTIVE,
             AccountStatus.DISABLED: identity_pb2.ACCOUNT_STATUS_DISABLED}
_LANGUAGES = {common_pb2.LANGUAGE_NL: Language.NL, common_pb2.LANGUAGE_EN: Language.EN}
_PURPOSES = {identity_pb2.LINK_PURPOSE_REGISTRATION: LinkPurpose.REGISTRATION,
             identity_pb2.LINK_PURPOSE_CONTACT_INVITATION: LinkPurpose.CONTACT_INVITATION,
             identity_pb2.LINK_PURPOSE_PROFESSIONAL_WELCOME: LinkPurpose.PROFESSIONAL_WELCOME,
             identity_pb2.LINK_PURPOSE_PASSWORD_RESET: LinkPurpose.PASSWORD_RESET}


# --- errors -------------------------------------------------------------------------------------

class _Status(collections.namedtuple("_Status", ("code", "details", "trailing_metadata")), grpc.Status):
    pass


def _status(code: grpc.StatusCode, message: str, *details, metadata=()) -> grpc.Status:
    proto = status_pb2.Status(code=getattr(code_pb2, code.name), message=message)
    for detail in details:
        packed = any_pb2.Any()
        packed.Pack(detail)
        proto.details.append(packed)
    base = rpc_status.to_status(proto)
    return _Status(base.code, base.details, (*base.trailing_metadata, *metadata))


def status_of(error: DomainError) -> grpc.Status:
    if isinstance(error, InvalidInput):
        return rpc_errors.invalid_argument(error.violations)
    if isinstance(error, AlreadyExists):
        violation = error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=error.field, description=error.message)])
        return _status(grpc.StatusCode.ALREADY_EXISTS, f"{error.field} {error.message}", violation)
    if isinstance(error, Throttled):
        seconds = str(error.retry_after_seconds)
        info = error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN,
                                           metadata={"retry_after_seconds": seconds})
        return _status(grpc.StatusCode.RESOURCE_EXHAUSTED, str(error), info, metadata=(("retry-after", seconds),))
    if isinstance(error, NotFound):
        return rpc_errors.failure(grpc.StatusCode.NOT_FOUND, "ACCOUNT_NOT_FOUND", str(error))
    if isinstance(error, LinkInvalid):
        return rpc_errors.failure(grpc.StatusCode.FAILED_PRECONDITION, "LINK_INVALID", str(error))
    if isinstance(error, NotAuthenticated):
        return rpc_errors.failure(grpc.StatusCode.UNAUTHENTICATED, "INVALID_CREDENTIALS", str(error))
    if isinstance(error, SessionInvalid):
        return rpc_errors.failure(grpc.StatusCode.UNAUTHENTICATED, "SESSION_INVALID", str(error))
    if isinstance(error, NotAllowed):
        return rpc_errors.failure(grpc.StatusCode.FAILED_PRECONDITION, error.reason, str(error))
    return rpc_errors.failure(grpc.StatusCode.FAILED_PRECONDITION, "REFUSED", str(error))


def _refusals_as_status(method):
    @functools.wraps(method)
    def wrapper(self, request, context):
        try:
            return method(self, request, context)
        except DomainError as error:
            context.abort_with_status(status_of(error))
        except SQLAlchemyError as error:
            # Logged without the statement's parameters: they can hold a mail body with its link.
            log.error("database call failed", method=method.__name__, error=type(error).__name__)
            if isinstance(error, OperationalError):
                context.abort(grpc.StatusCode.UNAVAILABLE, "the database cannot be reached; try again")
            context.abort(grpc.StatusCode.INTERNAL, "the request failed inside the identity service")
    return wrapper


# --- conversions --------------------------------------------------------------------------------

def _timestamp(moment) -> Timestamp:
    stamp = Timestamp()
    if moment is not None:
        stamp.FromDatetime(moment)
    return stamp


def _enum(value: int, known: dict, name: str, unknown: list[str]):
    if value in known:
        return known[value]
    if value != 0:
        unknown.append(name)
    return None


def new_account(message: identity_pb2.NewAccount, *, default_kind: AccountKind | None = None) -> NewAccount:
    unknown: list[str] = []
    kind = _enum(message.kind, _KINDS, "kind", unknown) or (default_kind if "kind" not in unknown else None)
    return NewAccount(
        username=message.username, email=message.email, display_name=message.display_name, kind=kind,
        language=_enum(message.language, _LANGUAGES, "language", unknown),
        pe_registration_number=message.pe_registration_number,
        link_purpose=_enum(message.link_purpose, _PURPOSES, "link_purpose", unknown),
        mail_context=dict(message.mail_context), unknown=tuple(unknown))


class IdentityService(identity_pb2_grpc.IdentityServiceServicer):
    """The v1 API of the identity service."""

    def __init__(self, keys: SigningKeyStore, deps: Deps):
        self._keys, self._deps = keys, deps

    def _account(self, account: Account) -> identity_pb2.Account:
        return identity_pb2.Account(
            account_id=account.account_id, username=account.username, email=account.email,
            display_name=account.display_name, kind=_kind_proto(account.kind),
            status=_STATUSES[account.status], language=_language_proto(account.language),
            pe_registration_number=account.pe_registration_number or "",
            create_time=_timestamp(account.created_at), update_time=_timestamp(account.updated_at))

    def _session(self, session: Session) -> identity_pb2.Session:
        return identity_pb2.Session(
            access_token=session.access_token,
            access_token_expire_time=_timestamp(session.access_token_expires_at),
            refresh_token=session.refresh_token,
            refresh_token_expire_time=_timestamp(session.refresh_token_expires_at),
            account=self._account(session.account), session_id=session.session_id)

    # --- accounts ------------------------------------------------------------------------------

    @_refusals_as_status
    def CreateAccount(self, request, context):
        _refuse_operators({"account.kind": request.account.kind})
        account = handlers.create_account(
            handlers.CreateAccount(new_account(request.account), request.idempotency_key), self._deps)
        return identity_pb2.CreateAccountResponse(account=self._account(account))

    @_refusals_as_status
    def BatchCreateAccounts(self, request, context):
        _refuse_operators({f"accounts[{index}].kind": row.kind for index, row in enumerate(request.accounts)})
        rows = [new_account(row, default_kind=AccountKind.PROFESSIONAL) for row in request.accounts]
        results = handlers.batch_create_accounts(rows, self._deps)
        Result = identity_pb2.BatchCreateAccountsResponse.Result
        return identity_pb2.BatchCreateAccountsResponse(results=[
            Result(index=index, account=self._account(account)) if account else Result(index=index, error=error)
            for index, (account, error) in enumerate(results)])

    @_refusals_as_status
    def GetAccount(self, request, context):
        return identity_pb2.GetAccountResponse(account=self._account(
            handlers.get_account(request.account_id, self._deps)))

    @_refusals_as_status
    def BatchGetAccounts(self, request, context):
        accounts = handlers.batch_get_accounts(list(request.account_ids), self._deps)
        return identity_pb2.BatchGetAccountsResponse(accounts=[self._account(a) for a in accounts])

    @_refusals_as_status
    def UpdateAccount(self, request, context):
        unknown: list[str] = []
        language = _enum(request.language, _LANGUAGES, "language", unknown)
        if unknown:
            raise InvalidInput({"language": "choose nl or en"})
        account = handlers.update_account(handlers.UpdateAccount(
            account_id=request.account_id, update_mask=list(request.update_mask),
            display_name=request.display_name, email=request.email, language=language), self._deps)
        return identity_pb2.UpdateAccountResponse(account=self._account(account))

    @_refusals_as_status
    def DisableAccount(self, request, context):
        account = handlers.disable_account(handlers.DisableAccount(
            request.account_id, request.actor_account_id, request.reason), self._deps)
        return identity_pb2.DisableAccountResponse(account=self._account(account))

    @_refusals_as_status
    def DeleteAccount(self, request, context):
        handlers.delete_account(request.account_id, self._deps)
        return identity_pb2.DeleteAccountResponse()

    # --- links ---------------------------------------------------------------------------------

    @_refusals_as_status
    def IssuePasswordSetupLink(self, request, context):
        unknown: list[str] = []
        purpose = _enum(request.purpose, _PURPOSES, "purpose", unknown)
        if unknown:
            raise InvalidInput({"purpose": "has a value this service does not know"})
        handlers.issue_password_setup_link(handlers.IssueLink(
            account_id=request.account_id, username_or_email=request.username_or_email, purpose=purpose,
            mail_context=dict(request.mail_context)), self._deps)
        return identity_pb2.IssuePasswordSetupLinkResponse()

    @_refusals_as_status
    def CompletePasswordSetup(self, request, context):
        account = handlers.complete_password_setup(
            handlers.CompletePasswordSetup(request.token, request.password), self._deps)
        return identity_pb2.CompletePasswordSetupResponse(account=self._account(account))

    # --- sessions ------------------------------------------------------------------------------

    @_refusals_as_status
    def Authenticate(self, request, context):
        session = handlers.authenticate(handlers.Authenticate(
            request.username, request.password, request.client_address), self._deps)
        return identity_pb2.AuthenticateResponse(session=self._session(session))

    @_refusals_as_status
    def RefreshSession(self, request, context):
        return identity_pb2.RefreshSessionResponse(session=self._session(
            handlers.refresh_session(request.refresh_token, self._deps)))

    @_refusals_as_status
    def RevokeSession(self, request, context):
        handlers.end_session(handlers.EndSession(request.refresh_token, request.session_id, request.account_id),
                             self._deps)
        return identity_pb2.RevokeSessionResponse()

    @_refusals_as_status
    def CheckSession(self, request, context):
        handlers.check_session(request.session_id, request.account_id, self._deps)
        return identity_pb2.CheckSessionResponse()

    @_refusals_as_status
    def ChangePassword(self, request, context):
        account = handlers.change_password(handlers.ChangePassword(
            request.account_id, request.current_password, request.new_password, request.client_address), self._deps)
        return identity_pb2.ChangePasswordResponse(account=self._account(account))

    @_refusals_as_status
    def RequestEmailChange(self, request, context):
        handlers.request_email_change(handlers.RequestEmailChange(
            request.account_id, request.current_password, request.new_email, request.client_address), self._deps)
        return identity_pb2.RequestEmailChangeResponse()

    @_refusals_as_status
    def ConfirmEmailChange(self, request, context):
        account = handlers.confirm_email_change(request.token, self._deps)
        return identity_pb2.ConfirmEmailChangeResponse(account=self._account(account))

    @_refusals_as_status
    def ListSigningKeys(self, request, context):
        return identity_pb2.ListSigningKeysResponse(keys=[
            identity_pb2.SigningKey(key_id=key.key_id, key_type="OKP", curve="Ed25519", x=key.x,
                                    create_time=_timestamp(key.created_at))
            for key in self._keys.public_keys()])

    # --- audit ---------------------------------------------------------------------------------

    @_refusals_as_status
    def ListAccountEvents(self, request, context):
        events, next_token = handlers.list_account_events(handlers.ListEvents(
            request.account_id, request.page_size, request.page_token), self._deps)
        return identity_pb2.ListAccountEventsResponse(next_page_token=next_token, events=[
            identity_pb2.AccountEvent(event_id=e.event_id, account_id=e.account_id, kind=e.kind,
                                      occur_time=_timestamp(e.occurred_at), client_address=e.client_address or "")
            for e in events])


def _refuse_operators(kinds: dict[str, int]) -> None:
    """Operators are made only with `python -m identity create-operator`, on the service's own
    machine; whoever may create accounts over gRPC may never make one."""
    operators = {field: "an operator account is never created over gRPC; use python -m identity create-operator"
                 for field, kind in kinds.items() if kind == identity_pb2.ACCOUNT_KIND_OPERATOR}
    if operators:
        raise InvalidInput(operators)


def _kind_proto(kind: AccountKind) -> int:
    return next(number for number, value in _KINDS.items() if value is kind)


def _language_proto(language: Language) -> int:
    return next(number for number, value in _LANGUAGES.items() if value is language)
