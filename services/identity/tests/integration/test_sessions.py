"""Login, brute-force limits, access tokens the gateway accepts, and rotating refresh tokens."""
from datetime import timedelta

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import select

from gateway.auth import TokenVerifier
from identity import handlers
from identity.__main__ import build
from identity.passwords import Argon2Hasher
from identity.repository import accounts
from pe.identity.v1 import identity_pb2
from svckit.rpc_errors import error_reason

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


def test_five_failures_lock_the_account_for_fifteen_minutes_then_it_opens(harness):
    account = harness.active()
    for _ in range(5):
        harness.clock.advance(timedelta(seconds=30))
        assert refused(harness.login, password="wrong password!").code() == grpc.StatusCode.UNAUTHENTICATED
    fifth = harness.clock.now()
    error = refused(harness.login)                     # the right password, all the same
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_reason(error) == "ACCOUNT_LOCKED"
    assert retry_after(error) == ("900", "900")
    got = harness.stub.GetAccount(identity_pb2.GetAccountRequest(account_id=account.account_id), timeout=10)
    assert got.account.status == identity_pb2.ACCOUNT_STATUS_LOCKED

    harness.clock.set(fifth + timedelta(minutes=10))
    error = refused(harness.login)
    assert retry_after(error) == ("300", "300")        # attempts during the lock do not extend it
    harness.clock.set(fifth + timedelta(minutes=15))
    assert harness.login().account.status == identity_pb2.ACCOUNT_STATUS_ACTIVE
    # The failures before the lock no longer count: one more failure does not lock again.
    refused(harness.login, password="wrong password!")
    assert harness.login().account.account_id == account.account_id

    events = harness.stub.ListAccountEvents(identity_pb2.ListAccountEventsRequest(
        account_id=account.account_id, page_size=200), timeout=10).events
    kinds = [event.kind for event in reversed(events)]
    assert kinds.count("locked") == 1 and kinds.count("login_succeeded") == 2
    assert {e.client_address for e in events if e.kind.startswith("login")} == {"192.0.2.10"}


def test_an_unknown_username_locks_like_a_known_one(harness):
    for _ in range(5):
        refused(harness.login, "nobody", "wrong password!")
    assert error_reason(refused(harness.login, "nobody", "wrong password!")) == "ACCOUNT_LOCKED"


def test_twenty_failures_from_one_address_hold_that_address_back(harness):
    harness.active()
    for number in range(20):
        harness.clock.advance(timedelta(seconds=15))
        refused(harness.login, f"guess{number}", "wrong password!", address="198.51.100.7")
    error = refused(harness.login, address="198.51.100.7")
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_reason(error) == "TOO_MANY_ATTEMPTS"
    assert retry_after(error) == (str(15 * 60 - 19 * 15), str(15 * 60 - 19 * 15))
    assert harness.login(address="203.0.113.9")        # another address is not held back
    harness.clock.advance(timedelta(seconds=15 * 60 - 19 * 15))
    assert harness.login(address="198.51.100.7")


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
