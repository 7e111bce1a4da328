"""Operator transitions: recorded, evented, and each decision mailed to administrator and second contact."""
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from organisation import handlers, repository
from organisation.domain import ContactRole, InvalidInput, Language, NotFound, OrganisationStatus, RuleViolated

OPERATOR = "0a8c6c1e-6b7d-4d6e-9a51-1f0f8b1d2c3e"


def _change(deps, organisation_id, to_status, reason="", actor=OPERATOR):
    return handlers.change_organisation_status(
        handlers.ChangeStatus(organisation_id, to_status, actor, reason), deps)


@pytest.fixture
def registered(deps, factory):
    return handlers.register_organisation(factory.registration(), deps)


def _events(engine) -> list:
    with engine.connect() as connection:
        return connection.execute(select(repository.event_outbox).order_by(repository.event_outbox.c.position)).all()


def _mails(engine) -> list:
    with engine.connect() as connection:
        return connection.execute(select(repository.mail_outbox).order_by(repository.mail_outbox.c.recipient)).all()


def _add_managers(deps, factory, organisation_id):
    handlers.add_contact(factory.new_contact(organisation_id, role=ContactRole.SECOND_CONTACT, name="Ben Bakker",
                                             email="ben@debrug.nl", language=Language.EN), deps)
    handlers.add_contact(factory.new_contact(organisation_id, role=ContactRole.CONTACT, email="carl@debrug.nl"),
                         deps)


def _forget_mail(engine) -> None:
    with engine.begin() as connection:  # only what the next decision sends
        connection.execute(repository.mail_outbox.delete())


def test_authorising_records_events_and_mails_the_managing_contacts(deps, registered, factory, engine, clock):
    organisation_id = registered.organisation.organisation_id
    clock.advance(timedelta(hours=2))

    organisation = _change(deps, organisation_id, OrganisationStatus.AUTHORISED, reason="checked with KvK")
    assert organisation.status is OrganisationStatus.AUTHORISED
    assert organisation.updated_at == clock.now()

    transitions = handlers.list_transitions(organisation_id, deps)
    assert [(t.from_status, t.to_status, t.actor_account_id, t.reason, t.occurred_at) for t in transitions][1:] == [
        (OrganisationStatus.PENDING, OrganisationStatus.AUTHORISED, OPERATOR, "checked with KvK", clock.now())]

    event = _events(engine)[-1]
    assert (event.type, event.routing_key, event.subject, event.source) == (
        "pe.organisation.authorised.v1", "organisation.authorised", organisation_id, "/pe-insight/organisation")
    assert json.loads(event.data) == {"organisation_id": organisation_id, "actor_account_id": OPERATOR,
                                      "reason": "checked with KvK", "occurred_at": "2026-11-28T11:30:00Z"}

    anna, = _mails(engine)
    assert anna.recipient == "anna@debrug.nl"
    assert anna.subject == "Uitzendbureau De Brug B.V. is geautoriseerd op pe-insight"
    assert "Beste Anna de Vries" in anna.text_body and "op 28-11-2026 geautoriseerd" in anna.text_body
    assert "Als beheerder kunt u" in anna.text_body.replace("\n", " ")

    # Authorised again after a suspension: the second contact, in English, hears it too; a contact does not.
    _add_managers(deps, factory, organisation_id)
    _change(deps, organisation_id, OrganisationStatus.SUSPENDED, reason="unpaid invoices")
    _forget_mail(engine)
    _change(deps, organisation_id, OrganisationStatus.AUTHORISED, reason="paid")
    assert [mail.recipient for mail in _mails(engine)] == ["anna@debrug.nl", "ben@debrug.nl"]
    ben = _mails(engine)[1]
    assert ben.subject == "Uitzendbureau De Brug B.V. has been authorised on pe-insight"
    assert "Dear Ben Bakker" in ben.text_body and "As second contact" in ben.text_body.replace("\n", " ")


def test_a_removed_second_contact_gets_no_mail(deps, registered, factory, engine):
    organisation_id = registered.organisation.organisation_id
    _change(deps, organisation_id, OrganisationStatus.AUTHORISED)
    second = handlers.add_contact(factory.new_contact(organisation_id, role=ContactRole.SECOND_CONTACT,
                                                      email="ben@debrug.nl"), deps)
    handlers.remove_contact(handlers.RemoveContact(second.contact_id, "actor"), deps)
    _forget_mail(engine)
    _change(deps, organisation_id, OrganisationStatus.SUSPENDED, reason="unpaid invoices")
    assert [mail.recipient for mail in _mails(engine)] == ["anna@debrug.nl"]


def test_a_rejection_is_mailed_with_its_reason(deps, registered, engine, clock):
    clock.advance(timedelta(hours=2))
    _change(deps, registered.organisation.organisation_id, OrganisationStatus.REJECTED,
            reason="KvK number belongs to another company")
    anna, = _mails(engine)
    assert anna.recipient == "anna@debrug.nl"
    assert anna.subject == "Uitzendbureau De Brug B.V. is niet geautoriseerd op pe-insight"
    assert "op 28-11-2026 afgewezen" in anna.text_body
    assert "Reden: KvK number belongs to another company" in anna.text_body


def test_a_suspension_is_mailed_with_its_reason_to_both_managers(deps, registered, factory, engine, clock):
    organisation_id = registered.organisation.organisation_id
    _change(deps, organisation_id, OrganisationStatus.AUTHORISED)
    _add_managers(deps, factory, organisation_id)
    _forget_mail(engine)
    clock.advance(timedelta(hours=2))

    _change(deps, organisation_id, OrganisationStatus.SUSPENDED, reason="KvK number belongs to another company")

    anna, ben = _mails(engine)
    assert (anna.recipient, ben.recipient) == ("anna@debrug.nl", "ben@debrug.nl")
    assert anna.subject == "Uitzendbureau De Brug B.V. is geschorst op pe-insight"
    assert "op 28-11-2026 geschorst" in anna.text_body and "Reden: KvK number belongs to another company" in anna.text_body
    assert "Reason: KvK number belongs to another company" in ben.text_body and "Dear Ben Bakker" in ben.text_body


def test_reject_and_suspend_need_a_reason(deps, registered):
    organisation_id = registered.organisation.organisation_id
    for status in (OrganisationStatus.REJECTED, OrganisationStatus.SUSPENDED):
        with pytest.raises(InvalidInput) as refused:
            _change(deps, organisation_id, status, reason="  ")
        assert refused.value.violations == {"reason": "is required"}


def test_an_actor_is_required_and_reasons_have_a_limit(deps, registered):
    with pytest.raises(InvalidInput) as refused:
        _change(deps, registered.organisation.organisation_id, OrganisationStatus.REJECTED, reason="x" * 1001,
                actor="")
    assert refused.value.violations == {"actor_account_id": "is required",
                                        "reason": "must be at most 1000 characters"}


def test_the_life_of_an_organisation(deps, registered, engine):
    organisation_id = registered.organisation.organisation_id
    with pytest.raises(RuleViolated) as refused:
        _change(deps, organisation_id, OrganisationStatus.SUSPENDED, reason="fraud")
    assert refused.value.reason == "INVALID_TRANSITION"

    _change(deps, organisation_id, OrganisationStatus.AUTHORISED)
    _change(deps, organisation_id, OrganisationStatus.SUSPENDED, reason="unpaid invoices")
    _change(deps, organisation_id, OrganisationStatus.AUTHORISED, reason="paid")
    with pytest.raises(RuleViolated):
        _change(deps, organisation_id, OrganisationStatus.REJECTED, reason="too late")

    transitions = handlers.list_transitions(organisation_id, deps)
    assert [(t.from_status and t.from_status.value, t.to_status.value) for t in transitions] == [
        (None, "pending"), ("pending", "authorised"), ("authorised", "suspended"), ("suspended", "authorised")]
    assert [event.type for event in _events(engine)] == [
        "pe.organisation.contact_added.v1", "pe.organisation.authorised.v1", "pe.organisation.suspended.v1",
        "pe.organisation.authorised.v1"]
    suspended = json.loads(_events(engine)[2].data)
    assert suspended["reason"] == "unpaid invoices"
    assert [mail.subject for mail in _mails(engine)] == [
        "Uitzendbureau De Brug B.V. is geautoriseerd op pe-insight",
        "Uitzendbureau De Brug B.V. is geschorst op pe-insight",
        "Uitzendbureau De Brug B.V. is geautoriseerd op pe-insight"], "each decision is mailed"


def test_a_rejected_organisation_stays_rejected(deps, registered, factory):
    organisation_id = registered.organisation.organisation_id
    _change(deps, organisation_id, OrganisationStatus.REJECTED, reason="not an employer")
    for status in (OrganisationStatus.AUTHORISED, OrganisationStatus.SUSPENDED):
        with pytest.raises(RuleViolated):
            _change(deps, organisation_id, status, reason="x")
    with pytest.raises(RuleViolated) as refused:
        handlers.add_contact(factory.new_contact(organisation_id, role=ContactRole.CONTACT), deps)
    assert refused.value.reason == "ORGANISATION_NOT_AUTHORISED"


@pytest.mark.parametrize("decisions", [(), (OrganisationStatus.AUTHORISED, OrganisationStatus.SUSPENDED)],
                         ids=["pending", "suspended"])
def test_only_an_authorised_organisation_gets_contacts(deps, registered, factory, engine, decisions):
    organisation_id = registered.organisation.organisation_id
    for status in decisions:
        _change(deps, organisation_id, status, reason="unpaid invoices")
    _forget_mail(engine)
    with pytest.raises(RuleViolated) as refused:
        handlers.add_contact(factory.new_contact(organisation_id, role=ContactRole.CONTACT,
                                                 name="Klik hier: http://phish.example"), deps)
    assert refused.value.reason == "ORGANISATION_NOT_AUTHORISED"
    assert _mails(engine) == []


@pytest.mark.parametrize("organisation_id", ["", "nonsense", "7b0c3f62-0a43-4a55-9a0b-3b9e0e5f2c11"])
def test_unknown_organisations_are_not_found(deps, organisation_id):
    with pytest.raises(NotFound):
        _change(deps, organisation_id, OrganisationStatus.AUTHORISED)
    with pytest.raises(NotFound):
        handlers.list_transitions(organisation_id, deps)
    with pytest.raises(NotFound):
        handlers.get_organisation(organisation_id, deps)
