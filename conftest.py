"""Fixtures every test folder shares: fresh databases, the broker, free ports.

With TEST_POSTGRES_URL set (as .ci/run sets it) each test that asks for a database gets a
new PostgreSQL database; otherwise an SQLite file. AMQP_URL names the broker (default the
local one); a test that needs it fails, never skips, when it cannot be reached. REDIS_URL names
the Redis the gateway's rate limits are tested on (default the local one), the same way.
"""
from __future__ import annotations

import os

import pytest

from support.certificates import Certificates
from support.resources import DatabaseFactory, free_port

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def port_factory():
    return free_port


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


@pytest.fixture(scope="session")
def certificates(tmp_path_factory) -> Certificates:
    """The tests' own CA, with a certificate for every name asked for."""
    return Certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def other_certificates(tmp_path_factory) -> Certificates:
    """Another CA, whose certificates the services must not accept."""
    return Certificates(tmp_path_factory.mktemp("other-tls"))


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis
    url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=3)
        client.ping()
        client.close()
    except Exception as error:  # a missing Redis fails the test run, it never skips it
        pytest.fail(f"Redis at REDIS_URL is needed for this test and cannot be reached: {error!r}")
    return url
