"""The identity client against a gRPC identity: deadlines, request ids, and identity's answers as ours."""
import grpc
import pytest

from organisation.clients import IdentityAccounts
from organisation.domain import Language
from organisation.handlers import AccountDirectoryError, AccountRefused, LinkPurpose, NewAccount, UsernameTaken
from pe.identity.v1 import identity_pb2
from svckit.logs import REQUEST_ID

pytestmark = pytest.mark.integration


@pytest.fixture
def client(identity):
    channel = grpc.insecure_channel(identity.address)
    yield IdentityAccounts(channel, timeout_seconds=2)
    channel.close()


def _new(username="jan") -> NewAccount:
    return NewAccount(username, "jan@example.nl", "Jan", Language.EN)


def test_create_link_disable_delete(client, identity):
    token = REQUEST_ID.set("req-42")
    try:
        account_id = client.create_account(_new(), idempotency_key="k-1")
        assert client.create_account(_new(), idempotency_key="k-1") == account_id
        client.issue_setup_link(account_id, LinkPurpose.CONTACT_INVITATION,
                                {"organisation_name": "X", "role": "contact"})
        client.disable_account(account_id, actor_account_id="op", reason="removed")
        client.delete_account(account_id)
        client.delete_account(account_id)  # already gone counts as done
    finally:
        REQUEST_ID.reset(token)
    created = identity.accounts.get(account_id) or identity_pb2.Account()
    assert identity.links[0].purpose == identity_pb2.LINK_PURPOSE_CONTACT_INVITATION
    assert account_id in identity.disabled and account_id in identity.deleted
    assert created.account_id == ""  # deleted
    assert {metadata.get("x-request-id") for _, metadata in identity.calls} == {"req-42"}
    assert all(0 < remaining < 3 for remaining in identity.deadlines), identity.deadlines  # 2 s, give or take


def test_identity_answers_become_our_errors(client, identity):
    client.create_account(_new("piet"), idempotency_key="k-2")
    with pytest.raises(UsernameTaken):
        client.create_account(_new("PIET"), idempotency_key="k-3")
    identity.refuse["CreateAccount"] = grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(AccountRefused) as refused:
        client.create_account(_new("klaas"), idempotency_key="k-4")
    assert refused.value.violations == {"username": "CreateAccount refused by the test"}
    identity.refuse["IssuePasswordSetupLink"] = grpc.StatusCode.UNAVAILABLE
    with pytest.raises(AccountDirectoryError):
        client.issue_setup_link("a", LinkPurpose.REGISTRATION, {})


def test_unreachable_identity_is_a_directory_error(port_factory):
    channel = grpc.insecure_channel(f"127.0.0.1:{port_factory()}")
    client = IdentityAccounts(channel, timeout_seconds=0.5)
    with pytest.raises(AccountDirectoryError, match="UNAVAILABLE|DEADLINE_EXCEEDED"):
        client.create_account(_new(), idempotency_key="k")
    channel.close()
