from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, create_engine, insert, select
from sqlalchemy.dialects import sqlite

from svckit.types import UtcDateTime

INSTANTS = [datetime(2026, 11, 29, 17, 58, 7, tzinfo=timezone.utc),              # no microseconds
            datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=timezone.utc),       # last microsecond before CEST
            datetime(2026, 3, 29, 3, 0, tzinfo=ZoneInfo("Europe/Amsterdam")),    # not in UTC
            datetime(1, 1, 1, tzinfo=timezone.utc), datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc)]


def _bind(type_, value, dialect=sqlite.dialect()):
    impl = type_.dialect_impl(dialect)
    return impl.bind_processor(dialect)(value)


@pytest.mark.parametrize("instant", INSTANTS)
def test_sqlite_text_is_the_text_sqlalchemy_writes_for_the_same_utc_instant(instant):
    naive_utc = instant.astimezone(timezone.utc).replace(tzinfo=None)
    assert _bind(UtcDateTime(), instant) == _bind(DateTime(), naive_utc)


def test_instants_round_trip_and_order_in_sqlite():
    metadata = MetaData()
    things = Table("things", metadata, Column("id", Integer, primary_key=True), Column("at", UtcDateTime()))
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(things), [{"id": i, "at": at} for i, at in enumerate(INSTANTS)])
        back = dict(connection.execute(select(things.c.id, things.c.at)).all())
        assert [back[i] for i in range(len(INSTANTS))] == INSTANTS
        assert all(at.tzinfo is timezone.utc for at in back.values())
        middle = INSTANTS[1]
        later = connection.execute(select(things.c.id).where(things.c.at > middle)).scalars().all()
        assert sorted(later) == sorted(i for i, at in enumerate(INSTANTS) if at > middle)
        just_after = connection.execute(select(things.c.id).where(things.c.at > middle - timedelta(microseconds=1)))
        assert 1 in just_after.scalars().all()


def test_a_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        UtcDateTime().process_bind_param(datetime(2026, 1, 1), sqlite.dialect())


@pytest.mark.parametrize("stored, instant", [
    ("2026-11-29 17:58:07.123456", datetime(2026, 11, 29, 17, 58, 7, 123456, tzinfo=timezone.utc)),
    ("2026-11-29 17:58:07", datetime(2026, 11, 29, 17, 58, 7, tzinfo=timezone.utc)),   # SQLite's CURRENT_TIMESTAMP
    ("2026-11-29T17:58:07.5", datetime(2026, 11, 29, 17, 58, 7, 500000, tzinfo=timezone.utc))])
def test_sqlite_text_written_by_others_reads_back_as_the_utc_instant(stored, instant):
    dialect = sqlite.dialect()
    impl = UtcDateTime().dialect_impl(dialect)
    read = impl.result_processor(dialect, None)(stored)
    assert read == instant and read.tzinfo is timezone.utc
