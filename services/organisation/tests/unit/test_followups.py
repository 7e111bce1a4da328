"""What identity has not yet heard (a link, a disable) is retried by the follow-up worker, with backoff."""
import threading
from datetime import timedelta

from sqlalchemy import select

from organisation import handlers, repository
from organisation.domain import ContactRole
from organisation.followups import FollowUpWorker


def _row(engine, contact_id):
    with engine.connect() as connection:
        return connection.execute(select(repository.contacts).where(
            repository.contacts.c.contact_id == contact_id)).one()


def test_a_link_that_failed_is_sent_by_the_worker_with_backoff(deps, accounts, factory, engine, clock):
    accounts.fail("issue_setup_link", times=2)
    administrator = handlers.register_organisation(factory.registration(), deps).administrator
    assert _row(engine, administrator.contact_id).follow_up == "link"

    assert handlers.follow_up_due(deps) == 1            # due at once after the call's own failure
    assert accounts.links == []
    assert handlers.follow_up_due(deps) == 0            # backing off
    clock.advance(timedelta(seconds=5))
    assert handlers.follow_up_due(deps) == 1
    assert [link[0] for link in accounts.links] == [administrator.account_id]
    row = _row(engine, administrator.contact_id)
    assert row.follow_up is None and row.link_issued_at is not None and row.follow_up_attempts == 2


def test_a_link_being_sent_is_left_alone_until_its_lease_runs_out(deps, accounts, factory, engine, clock,
                                                                  monkeypatch):
    monkeypatch.setattr(handlers, "_send_link_now", lambda *args, **kwargs: None)  # the caller died
    handlers.register_organisation(factory.registration(), deps)
    assert handlers.follow_up_due(deps) == 0
    clock.advance(deps.lease + timedelta(seconds=1))
    assert handlers.follow_up_due(deps) == 1
    assert len(accounts.links) == 1


def test_a_removed_contact_is_disabled_by_the_worker_and_owes_no_link(deps, accounts, factory, engine, clock):
    organisation_id = factory.authorised(deps).organisation.organisation_id
    accounts.fail("issue_setup_link")
    contact = handlers.add_contact(factory.new_contact(organisation_id, role=ContactRole.CONTACT), deps)
    accounts.fail("disable_account")
    handlers.remove_contact(handlers.RemoveContact(contact.contact_id), deps)
    assert _row(engine, contact.contact_id).follow_up == "disable"
    assert not accounts.accounts[contact.account_id].disabled

    links_before = len(accounts.links)
    assert handlers.follow_up_due(deps) == 1
    assert accounts.accounts[contact.account_id].disabled
    assert len(accounts.links) == links_before
    assert _row(engine, contact.contact_id).follow_up is None


def test_the_worker_loop_stops_when_asked(deps):
    worker = FollowUpWorker(deps, poll_seconds=0.01)
    thread = threading.Thread(target=worker.run)
    thread.start()
    worker.stop()
    thread.join(2)
    assert not thread.is_alive()
