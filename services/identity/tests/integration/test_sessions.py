"""Login, brute-force limits, access tokens the gateway accepts, and rotating refresh tokens."""
from datetime import timedelta

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import select

from gateway.auth import TokenVerifier
import jwt

from identity import handlers
from identity.domain import is_uuid
from identity.__main__ import build
from identity.passwords import Argon2Hasher
from identity.repository import accounts
from pe.identity.v1 import identity_pb2
from svckit.rpc_errors import error_reason, field_violations

pytestmark = pytest.mark.integration

PASSWORD = "paarse olifant danst op zolder"


def refused(call, *args, **kwargs) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(*args, **kwargs)
    return caught.value


def retry_after(error: grpc.RpcError) -> tuple[str, str]:
    """The ErrorInfo's retry_after_seconds and the trailing retry-after, which must agree."""
    status = rpc_status.from_call(error)
    info = error_details_pb2.ErrorInfo()
    next(d for d in status.details if d.Is(info.DESCRIPTOR)).Unpack(info)
    trailing = dict(error.trailing_metadata())
    return info.metadata["retry_after_seconds"], trailing["retry-after"]


def test_login_gives_an_access_token_the_gateway_accepts(harness):
    account = harness.active()
    session = harness.login("J.JANSEN")
    keys = harness.stub.ListSigningKeys(identity_pb2.ListSigningKeysRequest(), timeout=10).keys
    verifier = TokenVerifier(lambda: {key.key_id: key.x for key in keys})
    principal = verifier.verify(session.access_token)
    assert (principal.account_id, principal.kind, principal.username) == (
        account.account_id, "employer_contact", "j.jansen")
    assert session.access_token_expire_time.ToDatetime().replace(tzinfo=harness.clock.now().tzinfo) == \
        harness.clock.now() + timedelta(minutes=10)
    assert len(session.refresh_token) >= 43


@pytest.mark.parametrize("username, password", [
    ("j.jansen", "paarse olifant danst op zolde"),   # wrong password
    ("nobody", PASSWORD),                             # unknown user
    ("waiting", PASSWORD),                            # awaiting its password
])
def test_every_refusal_reads_the_same(harness, username, password):
    harness.active()
    harness.create("waiting", "waiting@example.org")
    error = refused(harness.login, username, password)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error.details() == "username or password is incorrect"


def test_a_username_longer_than_any_is_refused_as_invalid_not_looked_up(harness):
    error = refused(harness.login, "x" * 65, PASSWORD)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(error) == {"username": "must be at most 64 characters"}


def test_a_stranger_failing_elsewhere_slows_the_owner_down_but_never_keeps_them_out(harness):
    account = harness.active()
    for attempt in range(8):
        harness.clock.advance(timedelta(seconds=31))
        error = refused(harness.login, password="wrong password!", address="198.51.100.7")
        expected = grpc.StatusCode.UNAUTHENTICATED if attempt < 5 else grpc.StatusCode.RESOURCE_EXHAUSTED
        assert error.code() == expected, attempt
    # The address that kept failing waits out its own window, the right password included.
    assert error_reason(error) == "TOO_MANY_ATTEMPTS"
    assert error_reason(refused(harness.login, address="198.51.100.7")) == "TOO_MANY_ATTEMPTS"
    # Going on from other addresses, each failure makes everyone wait longer, up to 30 seconds.
    for number in range(6):
        harness.clock.advance(timedelta(seconds=31))
        refused(harness.login, password="wrong password!", address=f"192.0.2.{number}")
    error = refused(harness.login, address="203.0.113.9")
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_reason(error) == "LOGIN_SLOWED_DOWN"
    assert retry_after(error) == ("30", "30")
    # The owner, elsewhere, gets in once that wait is over.
    harness.clock.advance(timedelta(seconds=30))
    session = harness.login(address="203.0.113.9")
    assert session.account.status == identity_pb2.ACCOUNT_STATUS_ACTIVE

    events = harness.stub.ListAccountEvents(identity_pb2.ListAccountEventsRequest(
        account_id=account.account_id, page_size=200), timeout=10).events
    kinds = [event.kind for event in events]
    assert kinds.count("login_failed") == 11                 # attempts not evaluated are not failures
    assert "locked" not in kinds


def test_an_unknown_username_is_slowed_down_like_a_known_one(harness):
    harness.active()
    harness.clock.advance(timedelta(seconds=1))           # failures before a new password do not count
    reasons = []
    for username in ("nobody", "j.jansen"):
        for _ in range(3):
            refused(harness.login, username, "wrong password!", address="198.51.100.7")
        reasons.append(error_reason(refused(harness.login, username, "wrong password!", address="198.51.100.8")))
    assert reasons == ["LOGIN_SLOWED_DOWN", "LOGIN_SLOWED_DOWN"]


def test_past_a_hundred_failures_only_a_new_password_lets_the_owner_in(harness):
    harness.active()
    for number in range(100):
        harness.clock.advance(timedelta(seconds=31))
        refused(harness.login, password="wrong password!", address=f"198.51.{number // 250}.{number % 250}")
    error = refused(harness.login, address="203.0.113.9")     # the right password is not even tried
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_reason(error) == "PASSWORD_RESET_REQUIRED"
    assert "forgot password" in error.details()
    harness.stub.IssuePasswordSetupLink(identity_pb2.IssuePasswordSetupLinkRequest(
        username_or_email="j.jansen"), timeout=10)
    harness.deliver()
    harness.stub.CompletePasswordSetup(identity_pb2.CompletePasswordSetupRequest(
        token=harness.last_token("jan@example.org"), password="een heel ander wachtwoord"), timeout=10)
    assert harness.login(password="een heel ander wachtwoord", address="203.0.113.9")


def test_refresh_rotates_and_a_reused_token_ends_the_family(harness):
    harness.active()
    first = harness.login()
    refresh = harness.stub.RefreshSession
    second = refresh(identity_pb2.RefreshSessionRequest(refresh_token=first.refresh_token), timeout=10).session
    assert second.refresh_token != first.refresh_token and second.access_token
    assert second.refresh_token_expire_time == first.refresh_token_expire_time
    third = refresh(identity_pb2.RefreshSessionRequest(refresh_token=second.refresh_token), timeout=10).session

    reuse = refused(refresh, identity_pb2.RefreshSessionRequest(refresh_token=first.refresh_token), timeout=10)
    assert reuse.code() == grpc.StatusCode.UNAUTHENTICATED
    # The newest token of the family ends as well: the thief and the owner must both log in again.
    ended = refused(refresh, identity_pb2.RefreshSessionRequest(refresh_token=third.refresh_token), timeout=10)
    assert ended.code() == grpc.StatusCode.UNAUTHENTICATED
    other = harness.login()
    assert refresh(identity_pb2.RefreshSessionRequest(refresh_token=other.refresh_token), timeout=10)


def test_a_refresh_token_expires(harness):
    harness.active()
    session = harness.login()
    harness.clock.advance(timedelta(hours=12))
    error = refused(harness.stub.RefreshSession,
                    identity_pb2.RefreshSessionRequest(refresh_token=session.refresh_token), timeout=10)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


def check(harness, session: identity_pb2.Session) -> grpc.StatusCode:
    try:
        harness.stub.CheckSession(identity_pb2.CheckSessionRequest(
            session_id=session.session_id, account_id=session.account.account_id), timeout=10)
    except grpc.RpcError as error:
        assert error_reason(error) == "SESSION_INVALID"
        return error.code()
    return grpc.StatusCode.OK


def test_an_access_token_names_its_session_which_stays_the_same_through_refreshes(harness):
    harness.active()
    session = harness.login()
    keys = harness.stub.ListSigningKeys(identity_pb2.ListSigningKeysRequest(), timeout=10).keys
    claims = jwt.decode(session.access_token, options={"verify_signature": False})
    assert claims["sid"] == session.session_id and is_uuid(session.session_id)
    refreshed = harness.stub.RefreshSession(identity_pb2.RefreshSessionRequest(
        refresh_token=session.refresh_token), timeout=10).session
    assert refreshed.session_id == session.session_id
    assert jwt.decode(refreshed.access_token, options={"verify_signature": False})["sid"] == session.session_id
    assert keys and check(harness, session) == grpc.StatusCode.OK


def test_a_session_is_only_live_for_its_own_account_and_until_it_expires(harness):
    harness.active()
    other = harness.active("p.pietersen", "piet@example.org")
    session = harness.login()
    borrowed = identity_pb2.Session(session_id=session.session_id, account=other)
    assert check(harness, borrowed) == grpc.StatusCode.UNAUTHENTICATED
    unknown = identity_pb2.Session(session_id="7d0b1b2a-1c1d-4e5f-8a9b-0c1d2e3f4a5b", account=session.account)
    assert check(harness, unknown) == grpc.StatusCode.UNAUTHENTICATED
    harness.clock.advance(timedelta(hours=12))
    assert check(harness, session) == grpc.StatusCode.UNAUTHENTICATED


def test_logout_by_the_session_id_ends_only_the_holders_own_session(harness):
    account = harness.active()
    other = harness.active("p.pietersen", "piet@example.org")
    session, second = harness.login(), harness.login()
    # Another account naming this session ends nothing.
    harness.stub.RevokeSession(identity_pb2.RevokeSessionRequest(
        session_id=session.session_id, account_id=other.account_id), timeout=10)
    assert check(harness, session) == grpc.StatusCode.OK
    harness.stub.RevokeSession(identity_pb2.RevokeSessionRequest(
        session_id=session.session_id, account_id=account.account_id), timeout=10)
    assert check(harness, session) == grpc.StatusCode.UNAUTHENTICATED
    assert refused(harness.stub.RefreshSession, identity_pb2.RefreshSessionRequest(
        refresh_token=session.refresh_token), timeout=10).code() == grpc.StatusCode.UNAUTHENTICATED
    assert check(harness, second) == grpc.StatusCode.OK      # the holder's other login goes on


@pytest.mark.parametrize("ending", ["logout", "refresh_reuse", "new_password", "disabled"])
def test_every_way_a_session_ends_makes_its_check_fail(harness, ending):
    account = harness.active()
    session = harness.login()
    stub = harness.stub
    if ending == "logout":
        stub.RevokeSession(identity_pb2.RevokeSessionRequest(refresh_token=session.refresh_token), timeout=10)
    elif ending == "refresh_reuse":
        stub.RefreshSession(identity_pb2.RefreshSessionRequest(refresh_token=session.refresh_token), timeout=10)
        refused(stub.RefreshSession, identity_pb2.RefreshSessionRequest(refresh_token=session.refresh_token),
                timeout=10)
    elif ending == "new_password":
        stub.IssuePasswordSetupLink(identity_pb2.IssuePasswordSetupLinkRequest(account_id=account.account_id),
                                    timeout=10)
        harness.deliver()
        stub.CompletePasswordSetup(identity_pb2.CompletePasswordSetupRequest(
            token=harness.last_token("jan@example.org"), password="een heel ander wachtwoord"), timeout=10)
    else:
        stub.DisableAccount(identity_pb2.DisableAccountRequest(account_id=account.account_id), timeout=10)
    assert check(harness, session) == grpc.StatusCode.UNAUTHENTICATED


def test_logout_ends_the_family(harness):
    account = harness.active()
    session = harness.login()
    harness.stub.RevokeSession(identity_pb2.RevokeSessionRequest(refresh_token=session.refresh_token), timeout=10)
    error = refused(harness.stub.RefreshSession,
                    identity_pb2.RefreshSessionRequest(refresh_token=session.refresh_token), timeout=10)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    harness.stub.RevokeSession(identity_pb2.RevokeSessionRequest(refresh_token="unknown"), timeout=10)
    events = harness.stub.ListAccountEvents(identity_pb2.ListAccountEventsRequest(
        account_id=account.account_id), timeout=10).events
    assert events[0].kind == "logout"


def test_disabling_ends_every_session_and_every_login(harness):
    account = harness.active()
    sessions = [harness.login(), harness.login()]
    disabled = harness.stub.DisableAccount(identity_pb2.DisableAccountRequest(
        account_id=account.account_id, reason="left the company"), timeout=10).account
    assert disabled.status == identity_pb2.ACCOUNT_STATUS_DISABLED
    for session in sessions:
        assert refused(harness.stub.RefreshSession, identity_pb2.RefreshSessionRequest(
            refresh_token=session.refresh_token), timeout=10).code() == grpc.StatusCode.UNAUTHENTICATED
    assert refused(harness.login).details() == "username or password is incorrect"
    harness.stub.IssuePasswordSetupLink(identity_pb2.IssuePasswordSetupLinkRequest(
        username_or_email="j.jansen"), timeout=10)
    harness.deliver()
    assert len(harness.mails_to("jan@example.org")) == 1     # no new link for a disabled account


def test_a_login_rehashes_a_hash_made_with_weaker_parameters(harness, settings, engine, clock):
    account = harness.active()

    def read():
        with engine.connect() as connection:
            return connection.execute(select(accounts.c.password_hash).where(
                accounts.c.account_id == account.account_id)).scalar_one()

    assert read().startswith("$argon2id$v=19$m=8,t=1,p=1$")
    strong = build(settings, engine, clock=clock, hasher=Argon2Hasher())
    handlers.authenticate(handlers.Authenticate("j.jansen", PASSWORD, "192.0.2.10"), strong.deps)
    assert read().startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert harness.login()                                   # the low-cost verifier reads the new hash too


def test_setting_a_new_password_ends_the_old_sessions(harness):
    account = harness.active()
    session = harness.login()
    harness.stub.IssuePasswordSetupLink(identity_pb2.IssuePasswordSetupLinkRequest(
        account_id=account.account_id), timeout=10)
    harness.deliver()
    harness.stub.CompletePasswordSetup(identity_pb2.CompletePasswordSetupRequest(
        token=harness.last_token("jan@example.org"), password="een heel ander wachtwoord"), timeout=10)
    assert refused(harness.stub.RefreshSession, identity_pb2.RefreshSessionRequest(
        refresh_token=session.refresh_token), timeout=10).code() == grpc.StatusCode.UNAUTHENTICATED
    assert harness.login(password="een heel ander wachtwoord")
