"""The expiry job on a real database: expired exactly once per consent, even with two job
instances racing, and the reminder mail once."""
import json
import threading
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from svckit.event_outbox import EventRelay

from consent import events, handlers
from consent.domain import State
from consent.handlers import Dependencies
from consent.jobs import ExpiryJob
from consent.repository import ConsentStore, event_outbox, mail_outbox
from consent_testkit import received_messages

pytestmark = pytest.mark.integration


def _grant_many(deps, directory, count, end_date):
    organisation = directory.add_organisation()
    contacts = tuple(directory.add_contact(organisation) for _ in range(10))
    consents = []
    for _ in range(count // len(contacts)):
        consents += handlers.grant_consents(handlers.GrantConsents(directory.add_account(), "PE", organisation,
                                                                   contacts, end_date), deps).consents
    return consents


def test_two_job_instances_racing_expire_each_consent_once(deps, directory, engine, clock, queue):
    consents = _grant_many(deps, directory, 60, date(2027, 1, 10))
    clock.set(datetime(2027, 1, 10, 22, 59, 59, tzinfo=timezone.utc))
    assert ExpiryJob(deps).run_once()[0] == 0  # the last second of the end date: still valid
    clock.set(datetime(2027, 1, 10, 23, 0, tzinfo=timezone.utc))
    # two replicas: each its own store (own pool of connections) on the same database
    replicas = [Dependencies(**{**deps.__dict__, "store": ConsentStore(engine)}) for _ in range(2)]
    jobs = [ExpiryJob(replica) for replica in replicas]
    counts, barrier = [], threading.Barrier(2)

    def run(job):
        barrier.wait()
        counts.append(job.run_once()[0])
    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(counts) == 60
    with engine.connect() as connection:
        expired = [json.loads(row.data) for row in connection.execute(
            select(event_outbox.c.data).where(event_outbox.c.type == "pe.consent.expired.v1"))]
    assert sorted(e["consent_id"] for e in expired) == sorted(c.consent_id for c in consents)
    assert {(e["state"], e["reason"], e["sequence"]) for e in expired} == {("expired", "expired", 2)}
    assert ExpiryJob(deps).run_once() == (0, 0)
    relays = [EventRelay(engine, event_outbox, queue.publisher, events.EXCHANGE, clock, batch=7) for _ in range(2)]
    publishers = [threading.Thread(target=lambda r=relay: [None for _ in iter(r.publish_due, 0)]) for relay in relays]
    for thread in publishers:
        thread.start()
    for thread in publishers:
        thread.join(60)
    published = [json.loads(body) for method, _, body in received_messages(queue.channel, queue.name)
                 if method.routing_key == "consent.expired"]
    assert sorted(e["consent_id"] for e in published) == sorted(c.consent_id for c in consents)
    assert all(handlers.get_consent(c.consent_id, deps).state is State.EXPIRED for c in consents[:5])


def test_the_reminder_is_queued_once_by_racing_jobs(deps, directory, engine, clock):
    _grant_many(deps, directory, 10, date(2027, 3, 1))
    clock.set(datetime(2027, 2, 15, 8, tzinfo=timezone.utc))
    jobs = [ExpiryJob(Dependencies(**{**deps.__dict__, "store": ConsentStore(engine)})) for _ in range(2)]
    threads = [threading.Thread(target=job.run_once) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with engine.connect() as connection:
        subjects = connection.execute(select(mail_outbox.c.subject)).scalars().all()
    assert sum(s.startswith("Herinnering") for s in subjects) == 10


def test_the_job_loop_stops_when_asked(deps):
    job = ExpiryJob(deps, interval_seconds=30)
    thread = threading.Thread(target=job.worker().run)
    thread.start()
    job.stop()
    thread.join(5)
    assert not thread.is_alive()
