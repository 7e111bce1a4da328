"""The use cases against an in-memory database, with fakes for organisation and identity."""
import json
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, insert, select

from consent import handlers
from consent.domain import (ConsentNotActive, ConsentNotFound, EndDateInPast, NotContactsOf,
                            OrganisationNotAuthorised, ProfessionalUnknown, State)
from consent.repository import consent_changes, event_outbox, mail_outbox
from consent_testkit import START, Directory, ManualClock, make_deps, memory_engine, new_id

UTC = timezone.utc


@pytest.fixture
def world():
    directory = Directory()
    organisation = directory.add_organisation("Uitzendbureau De Brug")
    contacts = [directory.add_contact(organisation, name) for name in ("Anna de Vries", "HR-afdeling", "L&D")]
    professional = directory.add_account("Jan Jansen")
    clock = ManualClock(START)
    engine = memory_engine()
    deps = make_deps(engine, directory, clock)
    return type("World", (), dict(directory=directory, organisation=organisation, contacts=contacts,
                                  professional=professional, clock=clock, engine=engine, deps=deps))


def _grant(world, contacts=None, end_date=None, key="", professional=None, organisation=None):
    return handlers.grant_consents(handlers.GrantConsents(
        professional or world.professional, "PE-0001", organisation or world.organisation,
        tuple(contacts or world.contacts[:1]), end_date, key), world.deps)


def _events(world):
    with world.engine.connect() as connection:
        return connection.execute(select(event_outbox).order_by(event_outbox.c.position)).all()


def _mails(world):
    with world.engine.connect() as connection:
        return connection.execute(select(mail_outbox).order_by(mail_outbox.c.created_at)).all()


def test_one_request_grants_every_contact_with_one_receipt(world):
    written = _grant(world, world.contacts, date(2027, 12, 31))
    assert [c.contact_id for c in written.consents] == world.contacts
    assert {c.state for c in written.consents} == {State.ACTIVE}
    assert written.log_position == 3
    assert [(e.position, e.type, e.routing_key) for e in _events(world)] == [
        (n, "pe.consent.granted.v1", "consent.granted") for n in (1, 2, 3)]
    assert [json.loads(e.data)["position"] for e in _events(world)] == [1, 2, 3]
    mails = _mails(world)
    assert len(mails) == 1
    assert "Anna de Vries" in mails[0].text_body and "HR-afdeling" in mails[0].text_body
    assert "31-12-2027" in mails[0].text_body and "https://pe-insight.test/consents" in mails[0].text_body
    assert "L&amp;D" in mails[0].html_body


def test_granting_again_answers_with_the_consent_already_held(world):
    first = _grant(world, world.contacts[:2])
    again = _grant(world, world.contacts)
    assert [c.consent_id for c in again.consents[:2]] == [c.consent_id for c in first.consents]
    assert again.log_position == 3
    assert len(_events(world)) == 3
    assert len(_mails(world)) == 2  # the second receipt names only the newly granted contact
    assert "L&D" in _mails(world)[1].text_body and "Anna" not in _mails(world)[1].text_body
    nothing_new = _grant(world, world.contacts)
    assert nothing_new.log_position == 3 and len(_events(world)) == 3 and len(_mails(world)) == 2


def test_a_repeated_idempotency_key_answers_the_first_answer(world):
    first = _grant(world, world.contacts[:1], key="k-1")
    handlers.revoke_consent(handlers.RevokeConsent(first.consents[0].consent_id, world.professional), world.deps)
    world.directory.calls.clear()
    repeat = _grant(world, world.contacts[:1], key="k-1")
    assert [c.consent_id for c in repeat.consents] == [c.consent_id for c in first.consents]
    assert repeat.log_position == first.log_position
    assert world.directory.calls == []  # answered from the record, nobody else asked
    assert len(_events(world)) == 2


def test_only_to_an_authorised_organisation(world):
    world.directory.set_authorised(world.organisation, False)
    with pytest.raises(OrganisationNotAuthorised):
        _grant(world)
    with pytest.raises(OrganisationNotAuthorised):
        _grant(world, organisation=new_id())  # unknown looks the same as not authorised
    assert _events(world) == []


def test_only_to_contacts_of_that_organisation(world):
    other = world.directory.add_organisation("Ander Bureau")
    stranger = world.directory.add_contact(other)
    with pytest.raises(NotContactsOf) as refused:
        _grant(world, [world.contacts[0], stranger, new_id()])
    assert refused.value.positions == [1, 2]
    assert _events(world) == []


def test_a_removed_contact_cannot_be_granted_even_if_organisation_still_knows_it(world):
    handlers.end_for_removed_contact(handlers.IncomingEvent(new_id(), "t"), world.contacts[1], world.deps)
    with pytest.raises(NotContactsOf) as refused:
        _grant(world, world.contacts[:2])
    assert refused.value.positions == [1]


def test_end_date_rules_at_the_grant(world):
    world.clock.set(datetime(2027, 1, 4, 23, 30, tzinfo=UTC))  # 5 January, 00:30 in Amsterdam
    with pytest.raises(EndDateInPast):
        _grant(world, end_date=date(2027, 1, 4))
    assert _grant(world, end_date=date(2027, 1, 5)).consents[0].end_date == date(2027, 1, 5)


def test_an_unknown_professional_gets_no_consent(world):
    with pytest.raises(ProfessionalUnknown):
        _grant(world, professional=new_id())


def test_change_and_revoke_only_by_the_owner_and_only_while_active(world):
    consent = _grant(world, end_date=date(2027, 3, 1)).consents[0]
    intruder = world.directory.add_account("Piet")
    with pytest.raises(ConsentNotFound):
        handlers.change_end_date(handlers.ChangeEndDate(consent.consent_id, intruder, None), world.deps)
    with pytest.raises(ConsentNotFound):
        handlers.revoke_consent(handlers.RevokeConsent(consent.consent_id, intruder), world.deps)
    changed = handlers.change_end_date(handlers.ChangeEndDate(consent.consent_id, world.professional,
                                                              date(2027, 6, 30)), world.deps)
    assert changed.consents[0].end_date == date(2027, 6, 30) and changed.consents[0].sequence == 2
    revoked = handlers.revoke_consent(handlers.RevokeConsent(consent.consent_id, world.professional), world.deps)
    assert revoked.consents[0].state is State.REVOKED and revoked.log_position == 3
    with pytest.raises(ConsentNotActive):
        handlers.revoke_consent(handlers.RevokeConsent(consent.consent_id, world.professional), world.deps)
    with pytest.raises(ConsentNotActive):
        handlers.change_end_date(handlers.ChangeEndDate(consent.consent_id, world.professional, None), world.deps)
    assert [m.subject for m in _mails(world)][1:] == [
        "Bevestiging: de einddatum van uw toestemming is gewijzigd", "Bevestiging: u hebt uw toestemming ingetrokken"]


def test_changing_to_the_same_end_date_changes_nothing(world):
    consent = _grant(world, end_date=date(2027, 3, 1)).consents[0]
    same = handlers.change_end_date(handlers.ChangeEndDate(consent.consent_id, world.professional,
                                                           date(2027, 3, 1)), world.deps)
    assert same.consents[0].sequence == 1 and same.log_position == 1 and len(_events(world)) == 1


def test_revocation_denies_access_at_once_and_keeps_the_history(world):
    consent = _grant(world).consents[0]
    assert handlers.check_access(world.contacts[0], world.professional, world.deps).consent_id == consent.consent_id
    handlers.revoke_consent(handlers.RevokeConsent(consent.consent_id, world.professional), world.deps)
    assert handlers.check_access(world.contacts[0], world.professional, world.deps) is None
    changes, more = handlers.list_history(world.professional, 0, 50, world.deps)
    assert [c.kind.value for c in changes] == ["granted", "revoked"] and not more
    assert handlers.get_consent(consent.consent_id, world.deps).state is State.REVOKED


def test_access_ends_with_the_end_date_before_any_job_runs(world):
    _grant(world, end_date=date(2027, 1, 10))
    world.clock.set(datetime(2027, 1, 10, 22, 59, 59, 999999, tzinfo=UTC))  # 23:59:59.999999 there
    assert handlers.check_access(world.contacts[0], world.professional, world.deps) is not None
    world.clock.advance(timedelta(microseconds=1))
    assert handlers.check_access(world.contacts[0], world.professional, world.deps) is None
    page = handlers.list_consents(world.professional, False, None, 50, world.deps)
    assert page.consents == []
    assert len(handlers.list_consents(world.professional, True, None, 50, world.deps).consents) == 1


def test_expiry_marks_lapsed_consents_once(world):
    consent = _grant(world, end_date=date(2027, 1, 10)).consents[0]
    assert handlers.expire_lapsed(world.deps) == 0
    world.clock.set(datetime(2027, 1, 12, tzinfo=UTC))
    assert handlers.expire_lapsed(world.deps) == 1
    assert handlers.expire_lapsed(world.deps) == 0
    expired = handlers.get_consent(consent.consent_id, world.deps)
    assert (expired.state, expired.end_time) == (State.EXPIRED, datetime(2027, 1, 10, 23, tzinfo=UTC))
    assert [e.type for e in _events(world)] == ["pe.consent.granted.v1", "pe.consent.expired.v1"]


def test_granting_again_after_the_end_date_starts_a_new_consent(world):
    old = _grant(world, end_date=date(2027, 1, 10)).consents[0]
    world.clock.set(datetime(2027, 1, 12, tzinfo=UTC))
    new = _grant(world).consents[0]
    assert new.consent_id != old.consent_id
    assert handlers.get_consent(old.consent_id, world.deps).state is State.EXPIRED
    assert [e.type for e in _events(world)] == ["pe.consent.granted.v1", "pe.consent.expired.v1",
                                                "pe.consent.granted.v1"]


def test_reminder_is_sent_once_before_the_end_date(world):
    consent = _grant(world, end_date=date(2027, 3, 1)).consents[0]
    world.clock.set(datetime(2027, 2, 14, 12, tzinfo=UTC))  # 15 days before
    assert handlers.send_reminders(world.deps) == 0
    world.clock.set(datetime(2027, 2, 15, 12, tzinfo=UTC))  # 14 days before
    assert handlers.send_reminders(world.deps) == 1
    assert handlers.send_reminders(world.deps) == 0
    reminder = _mails(world)[-1]
    assert reminder.subject == "Herinnering: uw toestemming loopt af op 01-03-2027"
    assert "Anna de Vries" in reminder.text_body
    # a new end date is a new reminder
    handlers.change_end_date(handlers.ChangeEndDate(consent.consent_id, world.professional,
                                                    date(2027, 6, 1)), world.deps)
    world.clock.set(datetime(2027, 5, 18, 12, tzinfo=UTC))
    assert handlers.send_reminders(world.deps) == 1


def test_an_end_date_within_the_reminder_period_is_reminded_by_the_receipt(world):
    _grant(world, end_date=date(2027, 1, 10))
    assert handlers.send_reminders(world.deps) == 0
    assert len(_mails(world)) == 1


def test_english_when_the_account_prefers_it(world):
    professional = world.directory.add_account("John Smith", language="en")
    _grant(world, professional=professional, end_date=date(2027, 12, 31))
    mail = _mails(world)[0]
    assert mail.subject == "Confirmation: you have given access to your PE dossier"
    assert "31 December 2027" in mail.text_body and "Dear John Smith" in mail.text_body


def test_removing_a_contact_ends_its_consents_once_per_event(world):
    other_professional = world.directory.add_account("Els")
    a = _grant(world, world.contacts[:2]).consents
    b = _grant(world, world.contacts[:1], professional=other_professional).consents
    event = handlers.IncomingEvent(new_id(), "pe.organisation.contact_removed.v1")
    assert handlers.end_for_removed_contact(event, world.contacts[0], world.deps) == 2
    assert handlers.end_for_removed_contact(event, world.contacts[0], world.deps) == 0
    for consent in (a[0], b[0]):
        ended = handlers.get_consent(consent.consent_id, world.deps)
        assert (ended.state.value, ended.end_reason.value) == ("ended", "contact_removed")
    assert handlers.get_consent(a[1].consent_id, world.deps).state is State.ACTIVE
    revoked = [json.loads(e.data) for e in _events(world) if e.type == "pe.consent.revoked.v1"]
    assert {(d["state"], d["reason"]) for d in revoked} == {("ended", "contact_removed")}


def test_suspending_an_organisation_ends_all_consents_to_its_contacts(world):
    other = world.directory.add_organisation("Ander")
    outsider = world.directory.add_contact(other)
    _grant(world, world.contacts)
    kept = _grant(world, [outsider], organisation=other).consents[0]
    event = handlers.IncomingEvent(new_id(), "pe.organisation.suspended.v1")
    assert handlers.end_for_suspended_organisation(event, world.organisation, world.deps) == 3
    page = handlers.list_organisation_professionals(world.organisation, None, 50, world.deps)
    assert page.consents == [] and page.log_position == 7
    assert handlers.check_access(outsider, world.professional, world.deps).consent_id == kept.consent_id


def test_positions_have_no_gaps_even_when_the_database_skipped_some(world):
    _grant(world, world.contacts[:1])
    with world.engine.begin() as connection:  # a value taken by a transaction that rolled back
        connection.execute(insert(event_outbox).values(
            position=5, event_id=new_id(), type="x", source="x", subject="x", routing_key="x", data="{}",
            occurred_at=START, attempts=0))
        connection.execute(event_outbox.delete().where(event_outbox.c.position == 5))
    written = _grant(world, world.contacts[1:2])
    assert written.log_position == 2
    assert [e.position for e in _events(world)] == [1, 2]
    assert json.loads(_events(world)[1].data)["position"] == 2


def test_lists_page_through_everything_once(world):
    professionals = [world.directory.add_account(f"P{i}") for i in range(7)]
    for index, professional in enumerate(professionals):
        world.clock.advance(timedelta(seconds=index % 2))  # some grants share an instant
        _grant(world, world.contacts[:1], professional=professional)
    seen, after = [], None
    while True:
        page = handlers.list_contact_professionals(world.contacts[0], after, 3, world.deps)
        seen += [c.professional_id for c in page.consents]
        if not page.more:
            break
        last = page.consents[-1]
        after = handlers.PageKey(last.valid_from, last.consent_id)
    assert sorted(seen) == sorted(professionals) and len(seen) == 7


def test_history_is_oldest_first(world):
    consent = _grant(world, end_date=date(2027, 2, 1)).consents[0]
    handlers.change_end_date(handlers.ChangeEndDate(consent.consent_id, world.professional, None), world.deps)
    handlers.revoke_consent(handlers.RevokeConsent(consent.consent_id, world.professional), world.deps)
    changes, _ = handlers.list_history(world.professional, 0, 2, world.deps)
    rest, more = handlers.list_history(world.professional, changes[-1].change_id, 2, world.deps)
    assert [c.kind.value for c in changes + rest] == ["granted", "changed", "revoked"] and not more
    with world.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(consent_changes)).scalar_one() == 3


def test_a_grant_racing_a_suspension_is_refused(world):
    class SuspendedWhileAsking:
        """Organisation answers 'authorised', then the suspension event is handled before the grant commits."""

        def __init__(self, directory):
            self._directory = directory

        def get_organisation(self, organisation_id):
            answer = world.directory.organisations.get(organisation_id)
            world.clock.advance(timedelta(milliseconds=5))
            handlers.end_for_suspended_organisation(handlers.IncomingEvent(new_id(), "t"), organisation_id,
                                                    world.deps)
            return answer

        def get_contacts(self, contact_ids):
            return {c: world.directory.contacts.get(c) for c in contact_ids}
    world.deps.organisations = SuspendedWhileAsking(world.directory)
    with pytest.raises(OrganisationNotAuthorised):
        _grant(world)
    assert handlers.check_access(world.contacts[0], world.professional, world.deps) is None
