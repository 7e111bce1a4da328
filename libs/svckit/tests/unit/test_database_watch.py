"""Health follows the database: the watch tells the service when the database stops and starts
answering, once per change."""
from contextlib import contextmanager

import pytest
from sqlalchemy.exc import OperationalError

from svckit.database_watch import DatabaseWatch


class Database:
    """Stands in for an engine whose database can be switched off and on."""

    def __init__(self):
        self.up = True

    @contextmanager
    def connect(self):
        if not self.up:
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        yield self

    def execute(self, _statement):
        return None


@pytest.fixture
def database():
    return Database()


def test_health_turns_not_serving_while_the_database_is_down_and_back_after(database):
    changes = []
    watch = DatabaseWatch(database, changes.append)
    watch.check_once()
    assert changes == []  # serving, as it started
    database.up = False
    watch.check_once()
    watch.check_once()
    assert changes == [False] and not watch.answering
    database.up = True
    watch.check_once()
    assert changes == [False, True] and watch.answering


def test_run_checks_until_stopped(database):
    import threading
    changes = []
    watch = DatabaseWatch(database, changes.append, interval=0.01)
    database.up = False
    thread = threading.Thread(target=watch.run)
    thread.start()
    try:
        for _ in range(200):
            if changes:
                break
            threading.Event().wait(0.01)
    finally:
        watch.stop()
        thread.join(2)
    assert changes[:1] == [False] and not thread.is_alive()
