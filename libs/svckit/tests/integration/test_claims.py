"""Leasing rows for background work: oldest first, a leased row left alone, each row won once."""
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, insert, select

from svckit.claims import Claim
from svckit.db import make_engine, write_transaction
from svckit.types import UtcDateTime

pytestmark = pytest.mark.integration

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=timezone.utc)
LEASE = timedelta(seconds=30)


@pytest.fixture
def jobs(databases):
    metadata = MetaData()
    table = Table("jobs", metadata,
                  Column("job_id", String(36), primary_key=True),
                  Column("queued_at", UtcDateTime(), nullable=False),
                  Column("done", Integer, nullable=False),
                  Column("claimed_until", UtcDateTime(), nullable=True))
    engine = make_engine(databases.new("claims"))
    metadata.create_all(engine)
    yield engine, table
    engine.dispose()


def _queue(engine, table, count, *, done=0, claimed_until=None, first=0):
    with engine.begin() as connection:
        connection.execute(insert(table), [
            {"job_id": f"job-{first + i:04d}", "queued_at": NOW - timedelta(minutes=count - i), "done": done,
             "claimed_until": claimed_until} for i in range(count)])


def _claim(engine, table, *, now=NOW, limit=10):
    with write_transaction(engine) as connection:
        return Claim(table, due=table.c.done == 0, order_by=table.c.queued_at)(connection, now=now, lease=LEASE,
                                                                               limit=limit)


def test_claims_the_oldest_due_rows_up_to_the_limit_and_leases_them(jobs):
    engine, table = jobs
    _queue(engine, table, 5)
    _queue(engine, table, 2, done=1, first=100)  # not due

    won = _claim(engine, table, limit=3)

    assert [row.job_id for row in won] == ["job-0000", "job-0001", "job-0002"]
    assert all(row.claimed_until == NOW + LEASE for row in won)
    assert [row.job_id for row in _claim(engine, table)] == ["job-0003", "job-0004"]  # the rest
    assert _claim(engine, table) == []


def test_a_leased_row_is_left_alone_until_its_lease_runs_out(jobs):
    engine, table = jobs
    _queue(engine, table, 1, claimed_until=NOW + timedelta(seconds=5))

    assert _claim(engine, table) == []
    assert [row.job_id for row in _claim(engine, table, now=NOW + timedelta(seconds=6))] == ["job-0000"]


def test_workers_claiming_at_once_never_win_the_same_row(jobs):
    engine, table = jobs
    _queue(engine, table, 200)
    won: list[list[str]] = [[] for _ in range(4)]
    start = threading.Barrier(4)

    def worker(k):
        start.wait()
        while rows := _claim(engine, table, limit=7):
            won[k].extend(row.job_id for row in rows)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    every = [job for jobs_of_one in won for job in jobs_of_one]
    assert sorted(every) == [f"job-{i:04d}" for i in range(200)]  # each once, none left
    with engine.connect() as connection:
        assert connection.execute(select(table.c.job_id).where(table.c.claimed_until.is_(None))).all() == []


def test_a_claim_kept_for_many_passes_takes_each_pass_its_own_moment_limit_and_lease(jobs):
    engine, table = jobs
    _queue(engine, table, 4)
    # due also compares with the moment of the claim: jobs queued before it
    claim = Claim(table, due=(table.c.done == 0) & (table.c.queued_at <= bindparam("claim_now")),
                  order_by=table.c.queued_at)

    def claim_at(now, limit, lease):
        with write_transaction(engine) as connection:
            return [(row.job_id, row.claimed_until) for row in claim(connection, now=now, limit=limit, lease=lease)]

    early = NOW - timedelta(minutes=3)  # only the first two were queued by then
    long = timedelta(minutes=10)
    assert claim_at(early, 10, long) == [("job-0000", early + long), ("job-0001", early + long)]
    assert claim_at(NOW, 1, timedelta(seconds=5)) == [("job-0002", NOW + timedelta(seconds=5))]
    later = NOW + timedelta(seconds=6)  # job-0002's short lease has run out, the others' has not
    assert claim_at(later, 10, LEASE) == [("job-0002", later + LEASE), ("job-0003", later + LEASE)]
