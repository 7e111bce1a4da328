"""What only the holder changes: the password, and the login e-mail (confirmed by the new address);
and how often anyone can have a link mailed to an account."""
import json
import re
import uuid
from datetime import timedelta
from pathlib import Path

import grpc
import pika
import pytest
import yaml
from jsonschema import Draft202012Validator
from sqlalchemy import select

from identity import events
from identity.repository import email_changes
from pe.common.v1 import common_pb2
from pe.identity.v1 import identity_pb2
from svckit.amqp import declare_topic_exchange
from svckit.rpc_errors import error_reason, field_violations

pytestmark = pytest.mark.integration

PASSWORD = "paarse olifant danst op zolder"
ASYNCAPI = Path(__file__).resolve().parents[4] / "docs" / "asyncapi.yaml"
CONFIRM = re.compile(r"/confirm-email\?token=([A-Za-z0-9_-]+)")


def refused(call, *args, **kwargs) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(*args, **kwargs)
    return caught.value


def forgot(harness, wanted="j.jansen") -> None:
    harness.stub.IssuePasswordSetupLink(identity_pb2.IssuePasswordSetupLinkRequest(username_or_email=wanted),
                                        timeout=10)


def text(mail) -> str:
    return mail.get_body(preferencelist=("plain",)).get_content()


def ask_email_change(harness, account, new_email="jan@nieuw.example", password=PASSWORD):
    return harness.stub.RequestEmailChange(identity_pb2.RequestEmailChangeRequest(
        account_id=account.account_id, current_password=password, new_email=new_email,
        client_address="192.0.2.10"), timeout=10)


def confirm(harness, token: str) -> identity_pb2.Account:
    return harness.stub.ConfirmEmailChange(identity_pb2.ConfirmEmailChangeRequest(token=token), timeout=10).account


def _header(properties, name: str) -> str:
    value = properties.headers[name]
    return value.decode() if isinstance(value, bytes) else value


def confirmation_token(harness, address="jan@nieuw.example") -> str:
    return CONFIRM.search(text(harness.mails_to(address)[-1])).group(1)


# --- link mails ---------------------------------------------------------------------------------

def test_anyone_asking_gets_at_most_three_link_mails_an_hour_sent_to_one_account(harness):
    harness.active()
    before = len(harness.mails_to("jan@example.org"))
    for _ in range(21):
        forgot(harness)                                       # answered the same every time
        harness.deliver()
    assert len(harness.mails_to("jan@example.org")) - before == 2   # the first link of the hour was the setup
    harness.clock.advance(timedelta(hours=1, seconds=1))
    forgot(harness)
    harness.deliver()
    assert len(harness.mails_to("jan@example.org")) - before == 3


def test_an_organisations_invitation_is_not_held_back_by_the_limit(harness):
    account = harness.create("wacht", "wacht@example.org", purpose=identity_pb2.LINK_PURPOSE_CONTACT_INVITATION)
    for _ in range(4):
        harness.stub.IssuePasswordSetupLink(identity_pb2.IssuePasswordSetupLinkRequest(
            account_id=account.account_id, purpose=identity_pb2.LINK_PURPOSE_CONTACT_INVITATION,
            mail_context={"organisation_name": "Acme", "role": "contact"}), timeout=10)
    harness.deliver()
    assert len(harness.mails_to("wacht@example.org")) == 5


# --- the login e-mail ---------------------------------------------------------------------------

def test_nobody_but_the_holder_changes_the_email_of_an_account_whose_password_is_set(harness):
    account = harness.active()
    error = refused(harness.stub.UpdateAccount, identity_pb2.UpdateAccountRequest(
        account_id=account.account_id, email="mallory@evil.example", update_mask=["email"]), timeout=10)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(error) == "EMAIL_CHANGED_BY_HOLDER_ONLY"
    got = harness.stub.GetAccount(identity_pb2.GetAccountRequest(account_id=account.account_id), timeout=10)
    assert got.account.email == "jan@example.org"
    # The name still follows the organisation.
    renamed = harness.stub.UpdateAccount(identity_pb2.UpdateAccountRequest(
        account_id=account.account_id, display_name="Jan de Jong", email="jan@example.org",
        update_mask=["display_name", "email"]), timeout=10).account
    assert renamed.display_name == "Jan de Jong"


def test_the_address_of_an_account_awaiting_its_password_can_still_be_corrected(harness):
    account = harness.create("wacht", "wacht@example.org")
    harness.deliver()
    moved = harness.stub.UpdateAccount(identity_pb2.UpdateAccountRequest(
        account_id=account.account_id, email="wacht@goed.example", update_mask=["email"]), timeout=10).account
    assert moved.email == "wacht@goed.example"
    assert refused(harness.stub.CompletePasswordSetup, identity_pb2.CompletePasswordSetupRequest(
        token=harness.last_token("wacht@example.org"), password=PASSWORD), timeout=10).code() == \
        grpc.StatusCode.FAILED_PRECONDITION                  # the link sent to the old address is void


def test_an_email_change_needs_the_password_and_takes_effect_when_the_new_address_confirms(harness):
    account = harness.active()
    error = refused(ask_email_change, harness, account, password="not the password")
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "current_password" in field_violations(error)
    assert not harness.mails_to("jan@nieuw.example")

    ask_email_change(harness, account)
    harness.deliver()
    notice = harness.mails_to("jan@example.org")[-1]
    assert "j***@nieuw.example" in text(notice) and "wachtwoord vergeten" in text(notice)
    assert CONFIRM.search(text(notice)) is None               # the old address cannot confirm it
    # Until confirmed, everything still goes to the old address; the new one finds no account.
    forgot(harness, "jan@nieuw.example")
    harness.deliver()
    assert len(harness.mails_to("jan@nieuw.example")) == 1    # only the confirmation

    changed = confirm(harness, confirmation_token(harness))
    assert changed.email == "jan@nieuw.example"
    harness.deliver()
    assert "j***@nieuw.example" in text(harness.mails_to("jan@example.org")[-1])
    assert refused(confirm, harness, confirmation_token(harness)).code() == grpc.StatusCode.FAILED_PRECONDITION
    forgot(harness)
    harness.deliver()
    assert harness.last_token("jan@nieuw.example")           # links now go to the confirmed address
    events_ = harness.stub.ListAccountEvents(identity_pb2.ListAccountEventsRequest(
        account_id=account.account_id), timeout=10).events
    assert {"email_change_requested", "email_changed"} <= {event.kind for event in events_}


def test_a_pending_change_voids_open_links_and_a_new_password_voids_the_change(harness):
    account = harness.active()
    forgot(harness)
    harness.deliver()
    open_link = harness.last_token("jan@example.org")
    ask_email_change(harness, account, "mallory@evil.example")
    harness.deliver()
    assert refused(harness.stub.CompletePasswordSetup, identity_pb2.CompletePasswordSetupRequest(
        token=open_link, password="een heel ander wachtwoord"), timeout=10).code() == \
        grpc.StatusCode.FAILED_PRECONDITION
    # The holder, warned, sets a new password: the change asked with the old one is void.
    harness.clock.advance(timedelta(hours=1, seconds=1))
    forgot(harness)
    harness.deliver()
    harness.stub.CompletePasswordSetup(identity_pb2.CompletePasswordSetupRequest(
        token=harness.last_token("jan@example.org"), password="een heel ander wachtwoord"), timeout=10)
    error = refused(confirm, harness, confirmation_token(harness, "mallory@evil.example"))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    got = harness.stub.GetAccount(identity_pb2.GetAccountRequest(account_id=account.account_id), timeout=10)
    assert got.account.email == "jan@example.org"


def test_a_confirmation_link_expires_after_a_day_and_only_the_newest_works(harness):
    account = harness.active()
    ask_email_change(harness, account, "eerste@nieuw.example")
    ask_email_change(harness, account, "tweede@nieuw.example")
    harness.deliver()
    assert refused(confirm, harness, confirmation_token(harness, "eerste@nieuw.example")).code() == \
        grpc.StatusCode.FAILED_PRECONDITION
    harness.clock.advance(timedelta(hours=24))
    assert refused(confirm, harness, confirmation_token(harness, "tweede@nieuw.example")).code() == \
        grpc.StatusCode.FAILED_PRECONDITION


def test_nothing_usable_of_a_confirmation_link_is_stored(harness, engine):
    account = harness.active()
    ask_email_change(harness, account)
    harness.deliver()
    token = confirmation_token(harness)
    with engine.connect() as connection:
        stored = connection.execute(select(email_changes.c.token_hash)).scalars().all()
    assert stored and token not in stored


def test_the_change_is_announced_as_a_cloudevent(harness, amqp_url):
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    declare_topic_exchange(channel, events.EXCHANGE)
    name = f"test.identity.{uuid.uuid4().hex[:8]}"
    channel.queue_declare(name, durable=False, auto_delete=False)
    channel.queue_bind(name, events.EXCHANGE, routing_key="account.#")
    try:
        account = harness.active(language=common_pb2.LANGUAGE_EN)
        ask_email_change(harness, account)
        harness.deliver()
        assert "Confirm" in harness.mails_to("jan@nieuw.example")[-1]["Subject"]
        confirm(harness, confirmation_token(harness))
        assert harness.service.event_relay.publish_due() == 1
        method, properties, body = channel.basic_get(name, auto_ack=True)
        assert method.routing_key == "account.email_changed"
        assert _header(properties, "ce-type") == "pe.identity.account.email_changed.v1"
        assert _header(properties, "ce-subject") == account.account_id
        data = json.loads(body)
        assert data | {"occurred_at": "-"} == {
            "account_id": account.account_id, "kind": "employer_contact", "email": "jan@nieuw.example",
            "occurred_at": "-"}
        described = yaml.safe_load(ASYNCAPI.read_text())["components"]["schemas"]["AccountEmailChangedData"]
        Draft202012Validator(described, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(data)
    finally:
        channel.queue_delete(name)
        connection.close()


# --- the password -------------------------------------------------------------------------------

def test_the_holder_changes_the_password_with_the_current_one_and_every_session_ends(harness):
    account = harness.active()
    session = harness.login()
    change = harness.stub.ChangePassword

    def request(current, new):
        return identity_pb2.ChangePasswordRequest(account_id=account.account_id, current_password=current,
                                                  new_password=new, client_address="192.0.2.10")

    wrong = refused(change, request("not the password", "een heel ander wachtwoord"), timeout=10)
    assert error_reason(wrong) is None and "current_password" in field_violations(wrong)
    weak = refused(change, request(PASSWORD, "password"), timeout=10)
    assert "new_password" in field_violations(weak)
    change(request(PASSWORD, "een heel ander wachtwoord"), timeout=10)
    assert refused(harness.stub.CheckSession, identity_pb2.CheckSessionRequest(
        session_id=session.session_id, account_id=account.account_id), timeout=10).code() == \
        grpc.StatusCode.UNAUTHENTICATED
    assert refused(harness.login).code() == grpc.StatusCode.UNAUTHENTICATED
    assert harness.login(password="een heel ander wachtwoord")


def test_guessing_the_current_password_counts_as_failed_logins(harness):
    account = harness.active()
    harness.clock.advance(timedelta(seconds=1))
    for _ in range(3):
        refused(ask_email_change, harness, account, password="a wrong guess!")
    error = refused(ask_email_change, harness, account)
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_reason(error) == "LOGIN_SLOWED_DOWN"
