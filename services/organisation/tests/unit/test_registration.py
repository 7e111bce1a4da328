"""RegisterOrganisation as one step: validation, the account saga, compensation, idempotent retries."""
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from organisation import handlers, repository
from organisation.domain import (AlreadyExists, ContactRole, InvalidInput, Language, OrganisationStatus,
                                 RuleViolated)
from organisation.handlers import AccountDirectoryError, AccountRefused, LinkPurpose, RequestInProgress


def _count(engine, table) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def _stored(engine) -> dict[str, int]:
    return {table.name: _count(engine, table) for table in (
        repository.organisations, repository.contacts, repository.transitions, repository.event_outbox,
        repository.requests)}


def test_registers_a_pending_organisation_with_its_administrator(deps, accounts, engine, factory, clock, woken):
    command = factory.registration(applicant={"language": Language.EN})
    result = handlers.register_organisation(command, deps)

    organisation, administrator = result.organisation, result.administrator
    assert organisation.status is OrganisationStatus.PENDING
    assert organisation.details.visiting_address.postcode == "3511 ED"
    assert organisation.created_at == clock.now()
    assert (administrator.role, administrator.organisation_id, administrator.language) == (
        ContactRole.ADMINISTRATOR, organisation.organisation_id, Language.EN)
    account = accounts.accounts[administrator.account_id]
    assert (account.username, account.email, account.display_name, account.language) == (
        command.applicant.username, "anna@debrug.nl", "Anna de Vries", "en")
    assert accounts.calls == ["create_account", "issue_setup_link"]
    assert accounts.links == [(administrator.account_id, LinkPurpose.REGISTRATION,
                               {"organisation_name": "Uitzendbureau De Brug B.V."})]
    transitions = handlers.list_transitions(organisation.organisation_id, deps)
    assert [(t.from_status, t.to_status, t.actor_account_id, t.reason) for t in transitions] == [
        (None, OrganisationStatus.PENDING, administrator.account_id, "registered")]
    with engine.connect() as connection:
        event = connection.execute(select(repository.event_outbox)).one()
        contact_row = connection.execute(select(repository.contacts)).one()
    assert (event.type, event.routing_key, event.subject) == (
        "pe.organisation.contact_added.v1", "organisation.contact_added", administrator.contact_id)
    assert json.loads(event.data)["role"] == "administrator"
    assert contact_row.follow_up is None and contact_row.link_issued_at is not None
    assert woken, "the event relay is woken after the commit"


def test_every_bad_field_is_named_and_nothing_happens(deps, accounts, engine):
    command = handlers.RegisterOrganisation(handlers.OrganisationForm(), handlers.ApplicantForm(username="x y"))
    with pytest.raises(InvalidInput) as refused:
        handlers.register_organisation(command, deps)
    assert refused.value.violations == {
        "organisation.name": "is required",
        "organisation.chamber_of_commerce_number": "is required",
        "organisation.visiting_address.street": "is required",
        "organisation.visiting_address.postcode": "is required",
        "organisation.visiting_address.city": "is required",
        "organisation.phone": "is required",
        "organisation.email": "is required",
        "applicant.name": "is required",
        "applicant.email": "is required",
        "applicant.phone": "is required",
        "applicant.username": "may hold only letters, digits and . _ - @",
    }
    assert accounts.calls == []
    assert _count(engine, repository.organisations) == 0


def test_over_long_idempotency_key_is_bad_input(deps, factory):
    with pytest.raises(InvalidInput) as refused:
        handlers.register_organisation(factory.registration(idempotency_key="k" * 201), deps)
    assert refused.value.violations == {"idempotency_key": "must be at most 200 characters"}


def test_a_kvk_number_in_use_is_refused_before_any_account_is_made(deps, accounts, factory):
    first = handlers.register_organisation(factory.registration(), deps)
    number = first.organisation.details.chamber_of_commerce_number
    accounts.calls.clear()
    with pytest.raises(AlreadyExists) as taken:
        handlers.register_organisation(factory.registration(organisation={"chamber_of_commerce_number": number}),
                                       deps)
    assert (taken.value.field, taken.value.reason) == ("organisation.chamber_of_commerce_number",
                                                       "CHAMBER_OF_COMMERCE_NUMBER_TAKEN")
    assert accounts.calls == []


def test_a_taken_username_stores_nothing(deps, accounts, engine, factory):
    handlers.register_organisation(factory.registration(applicant={"username": "Anna"}), deps)
    before = _stored(engine)
    with pytest.raises(AlreadyExists) as taken:
        handlers.register_organisation(factory.registration(applicant={"username": "anna"}), deps)
    assert (taken.value.field, taken.value.reason) == ("applicant.username", "USERNAME_TAKEN")
    assert _stored(engine) == before
    assert len(accounts.live()) == 1


def test_identity_refusing_a_field_is_named_as_the_applicants(deps, accounts, engine, factory):
    accounts.fail("create_account", error=AccountRefused({"email": "domain does not take mail"}))
    with pytest.raises(InvalidInput) as refused:
        handlers.register_organisation(factory.registration(idempotency_key="k-1"), deps)
    assert refused.value.violations == {"applicant.email": "domain does not take mail"}
    assert _count(engine, repository.requests) == 0


def test_when_the_database_step_fails_the_account_is_undone(deps, accounts, engine, factory, monkeypatch):
    def broken(self, transition):
        raise RuntimeError("disk full")
    monkeypatch.setattr(repository.TransitionRepository, "add", broken)
    command = factory.registration(idempotency_key="key-1")
    with pytest.raises(RuntimeError, match="disk full"):
        handlers.register_organisation(command, deps)

    assert accounts.calls == ["create_account", "delete_account"]
    assert accounts.live() == []
    assert _stored(engine) == dict.fromkeys(_stored(engine), 0), "nothing half-registered remains"

    monkeypatch.undo()
    result = handlers.register_organisation(command, deps)  # the same key works once the fault is gone
    assert result.organisation.status is OrganisationStatus.PENDING
    assert len(accounts.live()) == 1


def test_when_the_undo_fails_a_retry_reuses_the_account(deps, accounts, engine, factory, monkeypatch):
    def broken(self, transition):
        raise RuntimeError("disk full")
    monkeypatch.setattr(repository.TransitionRepository, "add", broken)
    accounts.fail("delete_account")
    command = factory.registration(idempotency_key="key-2")
    with pytest.raises(RuntimeError):
        handlers.register_organisation(command, deps)
    assert len(accounts.live()) == 1

    monkeypatch.undo()
    result = handlers.register_organisation(command, deps)
    assert len(accounts.live()) == 1
    assert result.administrator.account_id == accounts.live()[0].account_id


def test_a_retry_with_the_same_key_answers_the_first_result(deps, accounts, engine, factory):
    command = factory.registration(idempotency_key="retry-me")
    first = handlers.register_organisation(command, deps)
    again = handlers.register_organisation(command, deps)
    assert again.organisation.organisation_id == first.organisation.organisation_id
    assert again.administrator.contact_id == first.administrator.contact_id
    assert accounts.calls == ["create_account", "issue_setup_link"]
    assert _count(engine, repository.organisations) == 1


def test_a_retry_reissues_the_link_only_if_it_was_not_issued(deps, accounts, engine, factory):
    accounts.fail("issue_setup_link")
    command = factory.registration(idempotency_key="link-failed")
    first = handlers.register_organisation(command, deps)  # registered; the link is owed
    assert accounts.links == []
    assert first.organisation.status is OrganisationStatus.PENDING

    handlers.register_organisation(command, deps)
    assert [link[0] for link in accounts.links] == [first.administrator.account_id]
    handlers.register_organisation(command, deps)
    assert len(accounts.links) == 1


def test_the_same_key_for_a_different_request_is_refused(deps, factory):
    handlers.register_organisation(factory.registration(idempotency_key="once"), deps)
    with pytest.raises(RuleViolated) as refused:
        handlers.register_organisation(factory.registration(idempotency_key="once"), deps)
    assert refused.value.reason == "IDEMPOTENCY_KEY_REUSED"


def test_a_retry_while_the_first_runs_is_told_to_wait(deps, accounts, factory, clock):
    command = factory.registration(idempotency_key="busy")
    seen = []

    def meanwhile():
        with pytest.raises(RequestInProgress):
            handlers.register_organisation(command, deps)
        seen.append("refused")
    accounts.before_create.append(meanwhile)
    handlers.register_organisation(command, deps)
    assert seen == ["refused"]


def test_after_identity_timed_out_a_retry_gets_the_same_account(deps, accounts, engine, factory):
    """The account may have been made; the retry must find it, not trip over its username."""
    made = []
    original = accounts.create_account

    def made_then_lost(account, *, idempotency_key):
        made.append(original(account, idempotency_key=idempotency_key))
        raise AccountDirectoryError("deadline exceeded")
    accounts.create_account = made_then_lost
    command = factory.registration(idempotency_key="timeout")
    with pytest.raises(AccountDirectoryError):
        handlers.register_organisation(command, deps)
    assert _count(engine, repository.organisations) == 0

    accounts.create_account = original
    result = handlers.register_organisation(command, deps)
    assert result.administrator.account_id == made[0]
    assert len(accounts.live()) == 1


def test_a_crashed_attempt_is_resumed_once_its_lease_ran_out(deps, accounts, factory, clock, engine):
    made = []
    original = accounts.create_account

    def made_then_died(account, *, idempotency_key):
        made.append(original(account, idempotency_key=idempotency_key))
        raise KeyboardInterrupt  # the process died right after identity made the account
    accounts.create_account = made_then_died
    command = factory.registration(idempotency_key="crashed")
    with pytest.raises(KeyboardInterrupt):
        handlers.register_organisation(command, deps)
    accounts.create_account = original
    with pytest.raises(RequestInProgress):
        handlers.register_organisation(command, deps)

    clock.advance(deps.lease + timedelta(seconds=1))
    result = handlers.register_organisation(command, deps)
    assert result.administrator.account_id == made[0]
    assert len(accounts.live()) == 1


def test_without_a_key_each_request_stands_alone(deps, factory):
    command = factory.registration()
    handlers.register_organisation(command, deps)
    with pytest.raises(AlreadyExists):
        handlers.register_organisation(command, deps)


def test_a_kvk_number_taken_meanwhile_is_reported_and_the_account_undone(deps, accounts, engine, factory):
    command = factory.registration(idempotency_key="slow")
    rival = factory.registration(organisation={
        "chamber_of_commerce_number": command.organisation.chamber_of_commerce_number})
    accounts.before_create.append(lambda: handlers.register_organisation(rival, deps))
    with pytest.raises(AlreadyExists) as taken:
        handlers.register_organisation(command, deps)
    assert taken.value.field == "organisation.chamber_of_commerce_number"
    assert [account.username for account in accounts.live()] == [rival.applicant.username]
    assert _count(engine, repository.organisations) == 1
    assert _count(engine, repository.requests) == 1, "only the rival's request is kept"
