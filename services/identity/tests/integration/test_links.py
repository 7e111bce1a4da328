"""Password-setup links: mailed in the account's language, usable once, expiring, voided by newer ones."""
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import grpc
import pytest
from sqlalchemy import func, select

from identity.repository import link_requests, mail_outbox
from pe.common.v1 import common_pb2
from pe.identity.v1 import identity_pb2
from svckit.rpc_errors import error_reason, field_violations

pytestmark = pytest.mark.integration

PASSWORD = "paarse olifant danst op zolder"


class HeldHasher:
    """Hashes only once every concurrent caller has come this far."""

    def __init__(self, hasher, barrier):
        self._hasher, self._barrier = hasher, barrier

    def hash(self, password):
        self._barrier.wait()
        return self._hasher.hash(password)

    def __getattr__(self, name):
        return getattr(self._hasher, name)


def complete(harness, token, password=PASSWORD):
    return harness.stub.CompletePasswordSetup(
        identity_pb2.CompletePasswordSetupRequest(token=token, password=password), timeout=10)


def refused(call, *args):
    with pytest.raises(grpc.RpcError) as caught:
        call(*args)
    return caught.value


def test_registration_mail_in_dutch_with_text_and_html_and_a_link_that_works_once(harness):
    account = harness.create(context={"organisation_name": "Acme B.V."})
    assert account.status == identity_pb2.ACCOUNT_STATUS_AWAITING_PASSWORD
    harness.deliver()
    [mail] = harness.mails_to("jan@example.org")
    assert mail["Subject"] == "Uw gebruikersnaam voor pe-insight: stel uw wachtwoord in"
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "Beste Jan Jansen" in text and "j.jansen" in text and "Acme B.V." in text
    assert "https://pe.example.org/set-password?token=" in text
    assert harness.last_token("jan@example.org") in html

    token = harness.last_token("jan@example.org")
    done = complete(harness, token).account
    assert done.status == identity_pb2.ACCOUNT_STATUS_ACTIVE
    error = refused(complete, harness, token)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(error) == "LINK_INVALID"
    assert harness.login().account.account_id == account.account_id


def test_english_when_the_account_prefers_it(harness):
    harness.create(language=common_pb2.LANGUAGE_EN, purpose=identity_pb2.LINK_PURPOSE_CONTACT_INVITATION,
                   context={"organisation_name": "Acme", "role": "administrator"})
    harness.deliver()
    [mail] = harness.mails_to("jan@example.org")
    assert mail["Subject"] == "You have been added to pe-insight by Acme"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Dear Jan Jansen" in text and "as administrator" in text
    assert '<html lang="en">' in mail.get_body(preferencelist=("html",)).get_content()


def test_no_mail_without_a_purpose(harness):
    harness.create(purpose=identity_pb2.LINK_PURPOSE_UNSPECIFIED)
    harness.deliver()
    assert harness.mails_to("jan@example.org") == []


def test_of_many_concurrent_uses_of_one_token_exactly_one_wins(harness):
    harness.create()
    harness.deliver()
    token = harness.last_token("jan@example.org")
    attempts = 8
    barrier = threading.Barrier(attempts)
    # Every attempt is held after the checks that precede the consuming UPDATE until all are there,
    # so only that one conditional UPDATE can decide between them.
    harness.service.deps.hasher = HeldHasher(harness.service.deps.hasher, threading.Barrier(attempts, timeout=20))

    def attempt(_):
        barrier.wait()
        try:
            complete(harness, token)
            return "ok"
        except grpc.RpcError as error:
            return error_reason(error) or error.code().name

    with ThreadPoolExecutor(attempts) as pool:
        outcomes = list(pool.map(attempt, range(attempts)))
    assert sorted(outcomes) == ["LINK_INVALID"] * (attempts - 1) + ["ok"]


def test_a_link_expires_after_72_hours(harness):
    harness.create("early", "early@example.org")
    harness.create("late", "late@example.org")
    harness.deliver()
    harness.clock.advance(timedelta(hours=72) - timedelta(seconds=1))
    assert complete(harness, harness.last_token("early@example.org")).account.username == "early"
    harness.clock.advance(timedelta(seconds=1))
    error = refused(complete, harness, harness.last_token("late@example.org"))
    assert error_reason(error) == "LINK_INVALID"


def test_a_new_link_voids_the_older_unused_ones(harness):
    account = harness.create()
    harness.deliver()
    first = harness.last_token("jan@example.org")
    harness.stub.IssuePasswordSetupLink(identity_pb2.IssuePasswordSetupLinkRequest(
        account_id=account.account_id, purpose=identity_pb2.LINK_PURPOSE_PASSWORD_RESET), timeout=10)
    harness.deliver()
    second = harness.last_token("jan@example.org")
    assert len(harness.mails_to("jan@example.org")) == 2 and first != second
    assert error_reason(refused(complete, harness, first)) == "LINK_INVALID"
    assert complete(harness, second).account.status == identity_pb2.ACCOUNT_STATUS_ACTIVE


def test_a_new_email_address_voids_the_links_mailed_to_the_old_one(harness):
    account = harness.create(email="typo@example.nk")
    harness.deliver()
    mailed_to_old = harness.last_token("typo@example.nk")
    harness.stub.UpdateAccount(identity_pb2.UpdateAccountRequest(
        account_id=account.account_id, email="jan@example.org", update_mask=["email"]), timeout=10)
    assert error_reason(refused(complete, harness, mailed_to_old)) == "LINK_INVALID"


def test_a_new_name_leaves_the_link_usable(harness):
    account = harness.create()
    harness.deliver()
    token = harness.last_token("jan@example.org")
    harness.stub.UpdateAccount(identity_pb2.UpdateAccountRequest(
        account_id=account.account_id, display_name="Jan de Vries", email="JAN@example.org",
        update_mask=["display_name", "email"]), timeout=10)
    assert complete(harness, token).account.display_name == "Jan de Vries"


def test_one_message_for_a_wrong_a_used_and_an_expired_token(harness):
    harness.create()
    harness.deliver()
    token = harness.last_token("jan@example.org")
    complete(harness, token)
    used = refused(complete, harness, token)
    wrong = refused(complete, harness, "x" * 43)
    assert used.details() == wrong.details() and error_reason(used) == error_reason(wrong) == "LINK_INVALID"


def test_a_password_the_policy_refuses_does_not_spend_the_token(harness):
    harness.create()
    harness.deliver()
    token = harness.last_token("jan@example.org")
    for password, message in [("kort", "must be at least 12 characters"),
                              ("password1234", "is one of the most common passwords"),
                              ("ik ben j.jansen echt", "must not contain the username"),
                              ("jan@example.org!!!!!", "must not contain the e-mail address")]:
        error = refused(complete, harness, token, password)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert message in field_violations(error)["password"]
    assert complete(harness, token).account.status == identity_pb2.ACCOUNT_STATUS_ACTIVE


def test_forgot_password_answers_the_same_whether_or_not_the_account_exists(harness):
    harness.active()
    issue = harness.stub.IssuePasswordSetupLink
    with harness.engine.connect() as connection:
        queued = lambda: connection.execute(select(func.count()).select_from(link_requests)).scalar_one()
        answers = []
        for wanted in ("J.JANSEN", "jan@example.org", "nobody", "nobody@example.org",
                       "1f0e4c1c-0000-4000-8000-000000000000"):
            before = queued()
            answers.append(issue(identity_pb2.IssuePasswordSetupLinkRequest(username_or_email=wanted), timeout=10))
            connection.commit()
            assert queued() == before + 1  # the same work on every path: one queued request
    assert all(answer == identity_pb2.IssuePasswordSetupLinkResponse() for answer in answers)
    harness.deliver()
    mails = harness.mails_to("jan@example.org")
    assert len(mails) == 3 and mails[-1]["Subject"] == "Nieuw wachtwoord instellen voor pe-insight"
    assert {mail["To"] for mail in harness.smtp.inbox.mails} == {"jan@example.org"}


def test_forgot_password_by_email_reaches_every_account_with_that_address(harness):
    harness.create("hr-team", "team@example.org")
    harness.create("ld-team", "TEAM@example.org")
    harness.deliver()
    harness.stub.IssuePasswordSetupLink(identity_pb2.IssuePasswordSetupLinkRequest(
        username_or_email="team@example.org"), timeout=10)
    harness.deliver()
    resets = [m for m in harness.smtp.inbox.mails if m["Subject"] == "Nieuw wachtwoord instellen voor pe-insight"]
    assert sorted(m["To"] for m in resets) == ["TEAM@example.org", "team@example.org"]


def test_mail_survives_an_smtp_outage_and_is_sent_once(harness):
    harness.smtp.stop()
    harness.create()
    harness.deliver()                                         # SMTP is down: the attempt fails
    with harness.engine.connect() as connection:
        row = connection.execute(select(mail_outbox)).one()
    assert row.sent_at is None and row.attempts == 1 and row.last_error
    harness.smtp.start()
    harness.deliver()                                         # not due yet: backing off
    assert harness.mails_to("jan@example.org") == []
    harness.clock.advance(timedelta(seconds=3))
    harness.deliver()
    harness.clock.advance(timedelta(minutes=10))
    harness.deliver()
    assert len(harness.mails_to("jan@example.org")) == 1
    with harness.engine.connect() as connection:
        assert connection.execute(select(mail_outbox.c.sent_at)).scalar_one() is not None
