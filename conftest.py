"""Fixtures every test folder shares: fresh databases, the broker, free ports.

With TEST_POSTGRES_URL set (as .ci/run sets it) each test that asks for a database gets a
new PostgreSQL database; otherwise an SQLite file. AMQP_URL names the broker (default the
local one); a test that needs it fails, never skips, when it cannot be reached.
"""
from __future__ import annotations

import os
import socket
import uuid

import pytest
from sqlalchemy import create_engine, text

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def port_factory():
    return free_port


class DatabaseFactory:
    def __init__(self, admin_url: str | None, directory):
        self._admin_url, self._directory, self._made = admin_url, directory, []

    @property
    def kind(self) -> str:
        return "postgresql" if self._admin_url else "sqlite"

    def new(self, name: str) -> str:
        if not self._admin_url:
            return f"sqlite:///{self._directory / (name + '.db')}"
        database = f"pe_test_{name}_{uuid.uuid4().hex[:10]}"
        engine = create_engine(self._admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{database}"'))
        engine.dispose()
        self._made.append(database)
        return engine.url.set(database=database).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not self._made:
            return
        engine = create_engine(self._admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            for database in self._made:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture
def databases(tmp_path):
    factory = DatabaseFactory(os.environ.get("TEST_POSTGRES_URL"), tmp_path)
    yield factory
    factory.drop_all()


@pytest.fixture(scope="session")
def amqp_url() -> str:
    import pika
    url = os.environ.get("AMQP_URL", DEFAULT_AMQP_URL)
    try:
        pika.BlockingConnection(pika.URLParameters(url)).close()
    except Exception as error:  # a missing broker fails the test run, it never skips it
        pytest.fail(f"RabbitMQ at AMQP_URL is needed for this test and cannot be reached: {error!r}")
    return url
