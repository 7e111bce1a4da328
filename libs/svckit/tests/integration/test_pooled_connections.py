"""Pooled PostgreSQL connections the server dropped: one that rested is checked and replaced before
use; one in steady use is not checked, fails once, and the pool is then replaced."""
import os

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from svckit.db import make_engine, make_unpooled_engine

pytestmark = pytest.mark.integration


@pytest.fixture
def postgres_url(databases):
    if databases.kind != "postgresql":
        pytest.skip("connections the server drops are a PostgreSQL matter (set TEST_POSTGRES_URL)")
    return databases.new("pool")


def _backend(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _server_drops(url: str, pid: int) -> None:
    other = make_engine(url)
    with other.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    other.dispose()


def test_a_connection_that_rested_is_checked_and_replaced_before_use(postgres_url):
    engine = make_engine(postgres_url, ping_after_rest=0.0)  # every rest counts as long
    dropped = _backend(engine)
    _server_drops(postgres_url, dropped)

    assert _backend(engine) != dropped  # answered on a new connection, no error seen
    engine.dispose()


def test_a_connection_in_steady_use_is_not_checked_and_its_loss_costs_one_statement(postgres_url):
    engine = make_engine(postgres_url, ping_after_rest=3600.0)
    dropped = _backend(engine)
    _server_drops(postgres_url, dropped)

    with pytest.raises(DBAPIError) as failed:
        _backend(engine)
    assert failed.value.connection_invalidated  # a retryable failure: the pool let it go
    assert _backend(engine) != dropped
    engine.dispose()


@pytest.mark.parametrize("engine_of", [make_engine, make_unpooled_engine])
def test_every_connection_finds_a_silent_server_by_itself(postgres_url, engine_of):
    """The socket of a real connection has TCP keepalives and a user timeout, so a thread waiting on
    a database that vanished without closing the connection gets an error instead of waiting forever."""
    import socket
    engine = engine_of(postgres_url)
    try:
        with engine.connect() as connection:
            raw = connection.connection.driver_connection
            sock = socket.socket(fileno=os.dup(raw.pgconn.socket))
            try:
                assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 10
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 3
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 3
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 20_000
            finally:
                sock.close()
    finally:
        engine.dispose()
