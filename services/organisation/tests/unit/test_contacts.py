"""Contacts: adding (with its account saga), the second-contact rule, changing roles, removing."""
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from organisation import handlers, repository
from organisation.domain import AlreadyExists, ContactRole, InvalidInput, Language, NotFound, RuleViolated
from organisation.handlers import LinkPurpose


@pytest.fixture
def registered(deps, factory):
    return factory.authorised(deps)


@pytest.fixture
def organisation_id(registered):
    return registered.organisation.organisation_id


def _add(deps, factory, organisation_id, **overrides):
    return handlers.add_contact(factory.new_contact(organisation_id, **overrides), deps)


def test_adding_a_contact_makes_an_account_and_invites_it(deps, accounts, factory, organisation_id, engine):
    accounts.links.clear()
    contact = _add(deps, factory, organisation_id, role=ContactRole.DEPARTMENT, name="Afdeling HR",
                   email="hr@debrug.nl", department_name="HR", language=Language.EN, phone="030 123 45 67")
    assert (contact.role, contact.department_name, contact.language, contact.phone) == (
        ContactRole.DEPARTMENT, "HR", Language.EN, "030 123 45 67")
    assert accounts.accounts[contact.account_id].email == "hr@debrug.nl"
    assert accounts.links == [(contact.account_id, LinkPurpose.CONTACT_INVITATION,
                               {"organisation_name": "Uitzendbureau De Brug B.V.", "role": "department"})]
    assert handlers.get_contact(contact.contact_id, deps) == contact
    with engine.connect() as connection:
        event = connection.execute(select(repository.event_outbox).order_by(
            repository.event_outbox.c.position.desc())).first()
    assert event.type == "pe.organisation.contact_added.v1" and event.subject == contact.contact_id
    assert json.loads(event.data) == {
        "organisation_id": organisation_id, "contact_id": contact.contact_id, "account_id": contact.account_id,
        "role": "department", "actor_account_id": "actor-1", "occurred_at": "2026-11-28T09:30:00Z"}


def test_adding_validates_every_field(deps, accounts, factory, organisation_id):
    accounts.calls.clear()
    with pytest.raises(InvalidInput) as refused:
        _add(deps, factory, organisation_id, role=ContactRole.DEPARTMENT, name="", email="hr", phone="12",
             username="")
    assert refused.value.violations == {
        "department_name": "is required", "name": "is required",
        "email": "must be an e-mail address such as name@example.nl",
        "phone": "must be a phone number of 10 to 15 digits, optionally starting with +, with spaces or dashes "
                 "allowed",
        "username": "is required"}
    with pytest.raises(InvalidInput) as administrator:
        _add(deps, factory, organisation_id, role=ContactRole.ADMINISTRATOR)
    assert list(administrator.value.violations) == ["role"]
    assert accounts.calls == []


def test_unknown_organisations_get_no_contacts(deps, accounts, factory):
    for organisation_id in ("nope", "7b0c3f62-0a43-4a55-9a0b-3b9e0e5f2c11"):
        with pytest.raises(NotFound):
            _add(deps, factory, organisation_id, role=ContactRole.CONTACT)
    assert "create_account" not in accounts.calls


def test_at_most_one_second_contact(deps, accounts, factory, organisation_id):
    _add(deps, factory, organisation_id, role=ContactRole.SECOND_CONTACT)
    accounts.calls.clear()
    with pytest.raises(RuleViolated) as refused:
        _add(deps, factory, organisation_id, role=ContactRole.SECOND_CONTACT)
    assert refused.value.reason == "SECOND_CONTACT_EXISTS"
    assert accounts.calls == [], "refused before an account is made"


def test_a_second_contact_added_meanwhile_is_caught_under_the_lock(deps, accounts, factory, organisation_id):
    """Both pass the first check; the one that stores second loses, and its account is undone."""
    winner = []
    accounts.before_create.append(lambda: winner.append(
        _add(deps, factory, organisation_id, role=ContactRole.SECOND_CONTACT, username="winner")))
    with pytest.raises(RuleViolated) as refused:
        _add(deps, factory, organisation_id, role=ContactRole.SECOND_CONTACT, username="loser")
    assert refused.value.reason == "SECOND_CONTACT_EXISTS"
    assert [account.username for account in accounts.live() if account.username in ("winner", "loser")] == [
        "winner"]
    assert "delete_account" in accounts.calls
    page = handlers.list_contacts(handlers.ListContacts(organisation_id), deps)
    assert [c.role for c in page.items].count(ContactRole.SECOND_CONTACT) == 1


def test_a_removed_second_contact_can_be_replaced(deps, factory, organisation_id):
    first = _add(deps, factory, organisation_id, role=ContactRole.SECOND_CONTACT)
    handlers.remove_contact(handlers.RemoveContact(first.contact_id), deps)
    _add(deps, factory, organisation_id, role=ContactRole.SECOND_CONTACT)


def test_add_contact_compensates_and_retries_like_registration(deps, accounts, factory, organisation_id,
                                                               monkeypatch):
    original = repository.ContactRepository.add

    def broken(self, contact, *, claimed_until):
        raise RuntimeError("database went away")
    monkeypatch.setattr(repository.ContactRepository, "add", broken)
    command = factory.new_contact(organisation_id, role=ContactRole.CONTACT, idempotency_key="add-1")
    with pytest.raises(RuntimeError):
        handlers.add_contact(command, deps)
    assert accounts.accounts and not [a for a in accounts.live() if a.username == command.username]

    monkeypatch.setattr(repository.ContactRepository, "add", original)
    first = handlers.add_contact(command, deps)
    again = handlers.add_contact(command, deps)
    assert again.contact_id == first.contact_id
    assert [a.username for a in accounts.live()].count(command.username) == 1


def test_a_taken_username_is_the_contacts(deps, factory, organisation_id, registered, accounts):
    taken = accounts.accounts[registered.administrator.account_id].username
    with pytest.raises(AlreadyExists) as refused:
        _add(deps, factory, organisation_id, role=ContactRole.CONTACT, username=taken.upper())
    assert refused.value.field == "username"


def test_updating_a_contact(deps, factory, organisation_id, clock):
    contact = _add(deps, factory, organisation_id, role=ContactRole.CONTACT)
    changed = handlers.update_contact(handlers.UpdateContact(
        contact.contact_id, ("name", "email", "role", "department_name"), role=ContactRole.DEPARTMENT,
        name="L&D", email="ld@debrug.nl", department_name="L&D"), deps)
    assert (changed.name, changed.email, changed.role, changed.department_name, changed.phone) == (
        "L&D", "ld@debrug.nl", ContactRole.DEPARTMENT, "L&D", "")
    assert handlers.get_contact(contact.contact_id, deps) == changed


def test_update_contact_rules(deps, factory, organisation_id, registered):
    administrator = registered.administrator
    second = _add(deps, factory, organisation_id, role=ContactRole.SECOND_CONTACT)
    other = _add(deps, factory, organisation_id, role=ContactRole.CONTACT)

    def update(contact_id, mask, **values):
        return handlers.update_contact(handlers.UpdateContact(contact_id, mask, **values), deps)

    with pytest.raises(RuleViolated) as refused:
        update(other.contact_id, ("role",), role=ContactRole.SECOND_CONTACT)
    assert refused.value.reason == "SECOND_CONTACT_EXISTS"
    with pytest.raises(RuleViolated) as refused:
        update(administrator.contact_id, ("role",), role=ContactRole.CONTACT)
    assert refused.value.reason == "ADMINISTRATOR_ROLE_FIXED"
    with pytest.raises(InvalidInput) as refused:
        update(other.contact_id, ("role",), role=ContactRole.ADMINISTRATOR)
    assert list(refused.value.violations) == ["contact.role"]
    with pytest.raises(InvalidInput) as refused:
        update(other.contact_id, ())
    assert list(refused.value.violations) == ["update_mask"]
    with pytest.raises(InvalidInput) as refused:
        update(other.contact_id, ("username",))
    assert "cannot change username" in refused.value.violations["update_mask"]
    with pytest.raises(InvalidInput) as refused:
        update(other.contact_id, ("email", "name"), email="nope", name="")
    assert refused.value.violations == {"contact.email": "must be an e-mail address such as name@example.nl",
                                        "contact.name": "is required"}
    assert update(second.contact_id, ("role",), role=ContactRole.SECOND_CONTACT).role is ContactRole.SECOND_CONTACT
    update(second.contact_id, ("role",), role=ContactRole.CONTACT)
    assert update(other.contact_id, ("role",), role=ContactRole.SECOND_CONTACT).role is ContactRole.SECOND_CONTACT
    with pytest.raises(NotFound):
        update("7b0c3f62-0a43-4a55-9a0b-3b9e0e5f2c11", ("name",), name="x")


def test_removing_a_contact(deps, accounts, factory, organisation_id, engine):
    contact = _add(deps, factory, organisation_id, role=ContactRole.CONTACT)
    handlers.remove_contact(handlers.RemoveContact(contact.contact_id, "actor-9"), deps)

    assert accounts.accounts[contact.account_id].disabled
    with pytest.raises(NotFound):
        handlers.get_contact(contact.contact_id, deps)
    with pytest.raises(NotFound):
        handlers.remove_contact(handlers.RemoveContact(contact.contact_id), deps)
    with engine.connect() as connection:
        row = connection.execute(select(repository.contacts).where(
            repository.contacts.c.contact_id == contact.contact_id)).one()
        event = connection.execute(select(repository.event_outbox).order_by(
            repository.event_outbox.c.position.desc())).first()
    assert row.removed_at is not None and row.removed_by == "actor-9", "kept for history"
    assert row.account_disabled_at is not None and row.follow_up is None
    assert (event.type, event.routing_key, event.subject) == (
        "pe.organisation.contact_removed.v1", "organisation.contact_removed", contact.contact_id)
    data = json.loads(event.data)
    assert (data["organisation_id"], data["contact_id"], data["account_id"], data["actor_account_id"]) == (
        organisation_id, contact.contact_id, contact.account_id, "actor-9")


def test_the_administrator_cannot_be_removed(deps, registered):
    with pytest.raises(RuleViolated) as refused:
        handlers.remove_contact(handlers.RemoveContact(registered.administrator.contact_id), deps)
    assert refused.value.reason == "ADMINISTRATOR_NOT_REMOVABLE"


def test_memberships_are_the_active_contacts_of_an_account(deps, factory, registered, organisation_id):
    account_id = registered.administrator.account_id
    memberships = handlers.list_memberships(account_id, deps)
    assert [(m.organisation_id, m.contact_id, m.role, m.organisation_status.value) for m in memberships] == [
        (organisation_id, registered.administrator.contact_id, ContactRole.ADMINISTRATOR, "authorised")]
    contact = _add(deps, factory, organisation_id, role=ContactRole.CONTACT)
    handlers.remove_contact(handlers.RemoveContact(contact.contact_id), deps)
    assert handlers.list_memberships(contact.account_id, deps) == []
    assert handlers.list_memberships("unknown", deps) == []
    with pytest.raises(InvalidInput):
        handlers.list_memberships("", deps)


# --- identity hears of a changed name or address -------------------------------------------------

def _change(deps, contact, **values):
    return handlers.update_contact(handlers.UpdateContact(contact.contact_id, tuple(values), **values), deps)


def _link_issued_at(engine, contact_id):
    with engine.connect() as connection:
        return connection.execute(select(repository.contacts.c.link_issued_at).where(
            repository.contacts.c.contact_id == contact_id)).scalar_one()


def test_a_new_address_reaches_the_account_with_a_new_link_while_no_password_is_set(
        deps, accounts, factory, organisation_id, engine, clock):
    contact = _add(deps, factory, organisation_id, role=ContactRole.CONTACT, email="typo@debrug.nk")
    first_link_at = _link_issued_at(engine, contact.contact_id)
    accounts.links.clear()
    accounts.calls.clear()
    clock.advance(timedelta(minutes=5))
    _change(deps, contact, email="piet@debrug.nl", name="Piet de Vries")
    assert _link_issued_at(engine, contact.contact_id) == first_link_at + timedelta(minutes=5)
    account = accounts.accounts[contact.account_id]
    assert (account.email, account.display_name) == ("piet@debrug.nl", "Piet de Vries")
    assert accounts.calls == ["awaits_password", "update_profile", "issue_setup_link"]
    assert accounts.links == [(contact.account_id, LinkPurpose.CONTACT_INVITATION,
                               {"organisation_name": "Uitzendbureau De Brug B.V.", "role": "contact"})]
    assert handlers.follow_up_due(deps) == 0


def test_the_address_of_a_contact_who_set_a_password_is_theirs_to_change(deps, accounts, factory, organisation_id,
                                                                          engine, clock):
    contact = _add(deps, factory, organisation_id, role=ContactRole.CONTACT)
    accounts.accounts[contact.account_id].password_set = True
    accounts.links.clear()
    clock.advance(timedelta(minutes=5))
    with pytest.raises(RuleViolated) as refused:
        _change(deps, contact, email="mallory@evil.example", name="Piet de Vries")
    assert refused.value.reason == "EMAIL_CHANGED_BY_HOLDER_ONLY"
    assert handlers.get_contact(contact.contact_id, deps).email == contact.email   # nothing half-written
    assert accounts.accounts[contact.account_id].email == contact.email
    assert accounts.links == []
    # The same address again is no change; the name, role and phone stay the managers' to change.
    renamed = _change(deps, contact, email=contact.email, name="Piet de Vries")
    assert renamed.name == "Piet de Vries" and accounts.accounts[contact.account_id].display_name == "Piet de Vries"


def test_a_password_set_while_a_correction_travels_keeps_the_holders_address(deps, accounts, factory,
                                                                              organisation_id, clock):
    contact = _add(deps, factory, organisation_id, role=ContactRole.CONTACT, email="typo@debrug.nk")
    accounts.links.clear()
    accounts.fail("update_profile")                        # identity is away when the correction is made
    clock.advance(timedelta(minutes=1))
    _change(deps, contact, email="piet@debrug.nl")
    accounts.accounts[contact.account_id].password_set = True   # the first link is used meanwhile
    clock.advance(timedelta(minutes=10))
    handlers.follow_up_due(deps)
    assert handlers.get_contact(contact.contact_id, deps).email == "typo@debrug.nk"
    assert accounts.accounts[contact.account_id].email == "typo@debrug.nk"
    handlers.follow_up_due(deps)       # the contact changed while identity heard it: once more, then done
    assert handlers.follow_up_due(deps) == 0
    assert accounts.links == []                            # no link to an address the holder did not confirm


def test_a_confirmed_login_email_becomes_the_contacts_address_and_a_late_older_one_does_not(
        deps, factory, organisation_id, clock):
    contact = _add(deps, factory, organisation_id, role=ContactRole.CONTACT)
    newer, older = clock.now() + timedelta(minutes=2), clock.now() + timedelta(minutes=1)
    assert handlers.adopt_login_email(contact.account_id, "nieuw@debrug.nl", newer, deps) == 1
    assert handlers.adopt_login_email(contact.account_id, "oud@debrug.nl", older, deps) == 0
    assert handlers.adopt_login_email(contact.account_id, "nieuw@debrug.nl", newer, deps) == 0   # a repeat
    assert handlers.get_contact(contact.contact_id, deps).email == "nieuw@debrug.nl"


def test_a_new_name_alone_changes_the_account_and_sends_nothing(deps, accounts, factory, organisation_id):
    contact = _add(deps, factory, organisation_id, role=ContactRole.CONTACT)
    accounts.links.clear()
    accounts.calls.clear()
    _change(deps, contact, name="Anna Jansen")
    assert accounts.accounts[contact.account_id].display_name == "Anna Jansen"
    assert accounts.calls == ["update_profile"]
    assert accounts.links == []


def test_a_phone_or_role_change_does_not_call_identity(deps, accounts, factory, organisation_id):
    contact = _add(deps, factory, organisation_id, role=ContactRole.CONTACT)
    accounts.calls.clear()
    _change(deps, contact, phone="030 765 43 21")
    assert accounts.calls == []


def test_a_change_before_the_invitation_went_out_sends_it_to_the_new_address(
        deps, accounts, factory, organisation_id, clock):
    accounts.fail("issue_setup_link")  # identity does not take the first invitation
    contact = _add(deps, factory, organisation_id, role=ContactRole.CONTACT, email="typo@debrug.nk")
    accounts.links.clear()
    _change(deps, contact, email="piet@debrug.nl")
    assert accounts.accounts[contact.account_id].email == "piet@debrug.nl"
    assert [link[0] for link in accounts.links] == [contact.account_id]
    assert handlers.follow_up_due(deps) == 0


def test_with_identity_down_the_change_holds_and_identity_hears_it_later(
        deps, accounts, factory, organisation_id, clock):
    contact = _add(deps, factory, organisation_id, role=ContactRole.CONTACT)
    accounts.fail("update_profile", times=2)
    changed = _change(deps, contact, name="Anna Jansen")
    assert handlers.get_contact(contact.contact_id, deps) == changed
    assert accounts.accounts[contact.account_id].display_name != "Anna Jansen"
    clock.advance(timedelta(seconds=10))
    handlers.follow_up_due(deps)  # fails again: identity still down
    clock.advance(timedelta(seconds=600))
    assert handlers.follow_up_due(deps) == 1
    assert accounts.accounts[contact.account_id].display_name == "Anna Jansen"
    assert handlers.follow_up_due(deps) == 0


def test_a_change_while_identity_hears_the_last_one_is_sent_again(deps, accounts, factory, organisation_id, engine,
                                                                  clock):
    contact = _add(deps, factory, organisation_id, role=ContactRole.CONTACT)
    accounts.fail("update_profile", times=2)  # both changes below stay due
    _change(deps, contact, name="Anna Jansen")
    with repository.SqlUnitOfWork(engine) as uow:  # what a worker reads before it calls identity
        seen = uow.contacts.follow_up_context(contact.contact_id).updated_at
    clock.advance(timedelta(seconds=1))
    _change(deps, contact, name="Anna de Vries")
    with repository.SqlUnitOfWork(engine) as uow:  # that worker, done with the older name
        assert not uow.contacts.finish_follow_up(contact.contact_id, "profile", now=clock.now(), seen=seen)
    clock.advance(timedelta(seconds=600))
    assert handlers.follow_up_due(deps) == 1
    assert accounts.accounts[contact.account_id].display_name == "Anna de Vries"
    assert handlers.follow_up_due(deps) == 0
