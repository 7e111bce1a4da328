"""Accounts through the real servicer: creation and its refusals, reads, changes, deletion, the audit trail."""
import uuid
from datetime import timedelta

import grpc
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from identity.repository import mail_outbox, metadata
from pe.common.v1 import common_pb2
from pe.identity.v1 import identity_pb2
from svckit.rpc_errors import error_reason, field_violations

pytestmark = pytest.mark.integration

PROFESSIONAL = identity_pb2.ACCOUNT_KIND_PROFESSIONAL


def refused(call, request) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(request, timeout=10)
    return caught.value


def test_the_migrations_build_exactly_the_tables_the_code_uses(engine):
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []


def test_create_then_get(harness):
    created = harness.create("Piet.P", "piet@example.org", kind=PROFESSIONAL, number="NL-12345",
                             language=common_pb2.LANGUAGE_EN, purpose=identity_pb2.LINK_PURPOSE_PROFESSIONAL_WELCOME)
    assert uuid.UUID(created.account_id)
    got = harness.stub.GetAccount(identity_pb2.GetAccountRequest(account_id=created.account_id), timeout=10).account
    assert got == created
    assert (got.username, got.kind, got.language, got.pe_registration_number) == (
        "Piet.P", PROFESSIONAL, common_pb2.LANGUAGE_EN, "NL-12345")
    assert got.status == identity_pb2.ACCOUNT_STATUS_AWAITING_PASSWORD
    assert got.create_time.ToDatetime() == harness.clock.now().replace(tzinfo=None)


def test_usernames_are_unique_without_regard_to_case(harness):
    harness.create("J.Jansen")
    error = refused(harness.stub.CreateAccount, identity_pb2.CreateAccountRequest(account=identity_pb2.NewAccount(
        username="j.JANSEN", email="other@example.org", display_name="Other", kind=PROFESSIONAL,
        pe_registration_number="1")))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert set(field_violations(error)) == {"username"}


def test_registration_numbers_are_unique(harness):
    harness.create("one", "one@example.org", kind=PROFESSIONAL, number="777")
    error = refused(harness.stub.CreateAccount, identity_pb2.CreateAccountRequest(account=identity_pb2.NewAccount(
        username="two", email="two@example.org", display_name="Two", kind=PROFESSIONAL,
        pe_registration_number="777")))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert set(field_violations(error)) == {"pe_registration_number"}


def test_a_repeated_idempotency_key_answers_the_first_account_and_sends_one_mail(harness):
    first = harness.create(key="form-42")
    again = harness.create(key="form-42")
    assert again == first
    harness.deliver()
    assert len(harness.mails_to("jan@example.org")) == 1


def test_bad_fields_are_named(harness):
    error = refused(harness.stub.CreateAccount, identity_pb2.CreateAccountRequest(account=identity_pb2.NewAccount(
        username="a b", email="nope", kind=PROFESSIONAL, language=7)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(error)) == {"username", "email", "display_name", "pe_registration_number",
                                            "language"}


def test_a_batch_creates_each_row_on_its_own(harness):
    rows = [identity_pb2.NewAccount(username="prof1", email="p1@example.org", display_name="P1",
                                    pe_registration_number="100"),
            identity_pb2.NewAccount(username="PROF1", email="p2@example.org", display_name="P2",
                                    pe_registration_number="200"),
            identity_pb2.NewAccount(username="prof3", email="bad", display_name="P3", pe_registration_number="300"),
            identity_pb2.NewAccount(username="prof4", email="p4@example.org", display_name="P4",
                                    pe_registration_number="400",
                                    link_purpose=identity_pb2.LINK_PURPOSE_PROFESSIONAL_WELCOME)]
    results = harness.stub.BatchCreateAccounts(identity_pb2.BatchCreateAccountsRequest(accounts=rows),
                                               timeout=10).results
    assert [r.index for r in results] == [0, 1, 2, 3]
    assert results[0].account.kind == PROFESSIONAL and not results[0].error
    assert results[1].error == "username: is taken; choose another username" and not results[1].account.account_id
    assert results[2].error.startswith("email: ")
    assert results[3].account.username == "prof4"
    harness.deliver()
    assert [m["Subject"] for m in harness.smtp.inbox.mails] == ["Welkom bij pe-insight: stel uw wachtwoord in"]


def test_an_operator_is_never_created_over_grpc(harness):
    error = refused(harness.stub.CreateAccount, identity_pb2.CreateAccountRequest(account=identity_pb2.NewAccount(
        username="beheer", email="beheer@example.org", display_name="Beheer", kind=identity_pb2.ACCOUNT_KIND_OPERATOR)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(error)) == {"account.kind"}
    assert "create-operator" in field_violations(error)["account.kind"]

    rows = [identity_pb2.NewAccount(username="prof1", email="p1@example.org", display_name="P1",
                                    pe_registration_number="100"),
            identity_pb2.NewAccount(username="beheer", email="beheer@example.org", display_name="Beheer",
                                    kind=identity_pb2.ACCOUNT_KIND_OPERATOR)]
    error = refused(harness.stub.BatchCreateAccounts, identity_pb2.BatchCreateAccountsRequest(accounts=rows))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(error)) == {"accounts[1].kind"}
    with harness.engine.connect() as connection:  # nothing made, not even the good row
        assert connection.execute(select(func.count()).select_from(metadata.tables["accounts"])).scalar() == 0

def test_unknown_or_malformed_ids_are_not_found(harness):
    for account_id in (str(uuid.uuid4()), "x", ""):
        error = refused(harness.stub.GetAccount, identity_pb2.GetAccountRequest(account_id=account_id))
        assert error.code() == grpc.StatusCode.NOT_FOUND


def test_batch_get_answers_the_accounts_that_exist_in_the_order_asked(harness):
    a = harness.create("aaa", "a@example.org")
    b = harness.create("bbb", "b@example.org")
    got = harness.stub.BatchGetAccounts(identity_pb2.BatchGetAccountsRequest(
        account_ids=[b.account_id, "nonsense", str(uuid.uuid4()), a.account_id, b.account_id]), timeout=10)
    assert [x.account_id for x in got.accounts] == [b.account_id, a.account_id]


def test_update_changes_only_the_masked_fields(harness):
    account = harness.create()
    harness.clock.advance(timedelta(minutes=1))
    updated = harness.stub.UpdateAccount(identity_pb2.UpdateAccountRequest(
        account_id=account.account_id, display_name="Jan de Vries", email="jdv@example.org",
        language=common_pb2.LANGUAGE_EN, update_mask=["display_name", "language"]), timeout=10).account
    assert (updated.display_name, updated.email, updated.language) == (
        "Jan de Vries", "jan@example.org", common_pb2.LANGUAGE_EN)
    assert updated.update_time.ToDatetime() > account.update_time.ToDatetime()
    error = refused(harness.stub.UpdateAccount, identity_pb2.UpdateAccountRequest(
        account_id=account.account_id, email="x", update_mask=["email", "username"]))
    assert set(field_violations(error)) == {"email", "update_mask"}
    error = refused(harness.stub.UpdateAccount, identity_pb2.UpdateAccountRequest(account_id=account.account_id))
    assert set(field_violations(error)) == {"update_mask"}


def test_only_an_account_awaiting_its_password_can_be_deleted_and_its_mail_goes_with_it(harness):
    waiting = harness.create("waiting", "waiting@example.org")
    harness.stub.DeleteAccount(identity_pb2.DeleteAccountRequest(account_id=waiting.account_id), timeout=10)
    with harness.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(mail_outbox)).scalar_one() == 0
    assert refused(harness.stub.GetAccount, identity_pb2.GetAccountRequest(
        account_id=waiting.account_id)).code() == grpc.StatusCode.NOT_FOUND
    harness.create("waiting", "waiting@example.org")      # the username is free again

    active = harness.active()
    error = refused(harness.stub.DeleteAccount, identity_pb2.DeleteAccountRequest(account_id=active.account_id))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and error_reason(error) == "ACCOUNT_IN_USE"


def test_the_audit_trail_pages_newest_first(harness):
    account = harness.active()
    for _ in range(3):
        harness.login()
    kinds, token, pages = [], "", 0
    while True:
        page = harness.stub.ListAccountEvents(identity_pb2.ListAccountEventsRequest(
            account_id=account.account_id, page_size=2, page_token=token), timeout=10)
        kinds += [event.kind for event in page.events]
        pages, token = pages + 1, page.next_page_token
        if not token:
            break
    assert kinds == ["login_succeeded"] * 3 + ["password_set", "link_issued", "created"]
    assert pages == 3
    error = refused(harness.stub.ListAccountEvents, identity_pb2.ListAccountEventsRequest(
        account_id=account.account_id, page_token="garbage"))
    assert set(field_violations(error)) == {"page_token"}


REQUESTS = {
    "CreateAccount": identity_pb2.CreateAccountRequest(),
    "BatchCreateAccounts": identity_pb2.BatchCreateAccountsRequest(accounts=[identity_pb2.NewAccount()]),
    "GetAccount": identity_pb2.GetAccountRequest(),
    "BatchGetAccounts": identity_pb2.BatchGetAccountsRequest(account_ids=["", "x" * 5000]),
    "UpdateAccount": identity_pb2.UpdateAccountRequest(update_mask=["nonsense"], language=9),
    "DisableAccount": identity_pb2.DisableAccountRequest(actor_account_id="x"),
    "DeleteAccount": identity_pb2.DeleteAccountRequest(account_id="x" * 5000),
    "IssuePasswordSetupLink": identity_pb2.IssuePasswordSetupLinkRequest(purpose=42),
    "CompletePasswordSetup": identity_pb2.CompletePasswordSetupRequest(),
    "Authenticate": identity_pb2.AuthenticateRequest(username="x" * 5000, password="y" * 5000),
    "RefreshSession": identity_pb2.RefreshSessionRequest(),
    "RevokeSession": identity_pb2.RevokeSessionRequest(),
    "ListAccountEvents": identity_pb2.ListAccountEventsRequest(page_size=-1),
}


@pytest.mark.parametrize("method", sorted(REQUESTS))
def test_bad_input_is_never_a_server_error(harness, method):
    try:
        getattr(harness.stub, method)(REQUESTS[method], timeout=10)
    except grpc.RpcError as error:
        assert error.code() not in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL), error.details()


def test_every_rpc_of_the_contract_is_implemented(harness):
    service = identity_pb2.DESCRIPTOR.services_by_name["IdentityService"]
    implemented = type(harness.service.servicer).__dict__
    assert [m.name for m in service.methods if m.name not in implemented] == []
