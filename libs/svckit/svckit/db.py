"""Database engine (SQLite by default, PostgreSQL by URL) and Alembic upgrade, one process at a time."""
from __future__ import annotations

import functools
import hashlib
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Insert, Table, create_engine, event, insert, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from svckit.config import mask_url
from svckit.startup import DependencyError


# A pooled connection that has rested longer than this is pinged (a round trip) before it is
# handed out; one given back a moment ago is not, as a ping on every checkout costs every
# transaction a round trip. Should the database drop connections while they are busy, the first
# statement on one fails (a retryable error), and SQLAlchemy then replaces the whole pool.
PING_AFTER_REST_SECONDS = 5.0

# libpq's settings for every PostgreSQL connection. A database that vanishes without closing the
# connection (its container stopped, the network cut) answers nothing, and a thread waiting for a
# reply (a commit sent just then) would wait forever, holding whatever it does, an event consumer
# among them. TCP keepalives find a silent peer while a connection waits (10 s idle, then 3 probes
# 3 s apart), and tcp_user_timeout fails a write the peer has not acknowledged in 20 s; the caller
# then gets an OperationalError, as for any lost connection, and retries.
POSTGRES_CONNECT_ARGS = {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 3,
                         "keepalives_count": 3, "tcp_user_timeout": 20_000}


def make_engine(url: str, *, pool_size: int = 10, ping_after_rest: float = PING_AFTER_REST_SECONDS) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, connect_args=POSTGRES_CONNECT_ARGS)
    _ping_rested_connections(engine, ping_after_rest)
    return engine


def _ping_rested_connections(engine: Engine, after_seconds: float) -> None:
    @event.listens_for(engine, "checkin")
    def _rest_begins(_dbapi_connection, record) -> None:
        record.info["rests_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_rested(dbapi_connection, record, _proxy) -> None:
        rests_since = record.info.get("rests_since")  # none: a connection just opened
        if rests_since is None or time.monotonic() - rests_since < after_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise DisconnectionError(_first_line(error)) from error  # the pool opens a new one


def make_unpooled_engine(url: str) -> Engine:
    """Connections for callers that each keep theirs as long as they live, so no pool is kept: one
    opens on checkout and closes on return. On PostgreSQL they are autocommit, for reads that
    should cost one round trip each."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url, poolclass=NullPool)
    return create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT", connect_args=POSTGRES_CONNECT_ARGS)


def _sqlite_engine(url: str, **options) -> Engine:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **options)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        # WAL lets readers run beside the one writer; foreign keys are off unless asked for.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


@functools.cache
def insert_into(table: Table) -> Insert:
    """The table's INSERT, built once: a row passed to it as parameters costs SQLAlchemy a
    fraction of building the statement anew, or with .values(), for each row."""
    return insert(table)


# How long a writer of this process waits for its turn before it leaves the wait to SQLite's
# own busy timeout (30 s, set above).
WRITER_TURN_SECONDS = 30.0
_writer_locks: dict[str, threading.RLock] = {}
_writer_locks_guard = threading.Lock()
_engine_writer_locks: weakref.WeakKeyDictionary[Engine, threading.RLock | None] = weakref.WeakKeyDictionary()


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that writes; commits when the block ends without an error.

    On SQLite, the database has one writer at a time, and a writer that finds it busy sleeps and
    tries again, up to 100 ms a try: under a steady stream of writers one of them can wait a
    second or more. So writers of this process take turns on a lock of their own first, which
    wakes the next at once, and then begin IMMEDIATE, holding SQLite's write lock from the start
    (a reader that later writes could otherwise fail on a snapshot another writer outdated).
    Elsewhere it is a plain transaction.
    """
    with _writers_turn(engine):
        with engine.begin() as connection:
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            yield connection


@contextmanager
def _writers_turn(engine: Engine) -> Iterator[None]:
    lock = _writer_lock(engine)
    if lock is None:
        yield
        return
    held = lock.acquire(timeout=WRITER_TURN_SECONDS)
    try:
        yield
    finally:
        if held:
            lock.release()


def _writer_lock(engine: Engine) -> threading.RLock | None:
    """The lock writers of this process share for this SQLite file (none for PostgreSQL, whose
    writers do not sleep while they wait, or for an in-memory database, private to its connection);
    looked up once per engine, not on every write."""
    try:
        return _engine_writer_locks[engine]
    except KeyError:
        pass
    url, lock = engine.url, None
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        with _writer_locks_guard:
            lock = _writer_locks.setdefault(os.path.realpath(url.database), threading.RLock())
    _engine_writer_locks[engine] = lock
    return lock


def check_database(engine: Engine) -> None:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        reason = _first_line(error)
        raise DependencyError(
            f"cannot reach the database at {mask_url(str(engine.url.render_as_string(hide_password=True)))} "
            f"({reason}); check DATABASE_URL") from None


def _first_line(error: Exception) -> str:
    original = getattr(error, "orig", None) or error
    return str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__


# The advisory lock schema migrations take on PostgreSQL. Such locks belong to one database, and
# each service has a database of its own (their Alembic version tables would clash otherwise), so
# this is a lock per service.
MIGRATION_LOCK = int.from_bytes(hashlib.blake2b(b"pe-insight schema migration", digest_size=8).digest(),
                                "big", signed=True)


def upgrade(engine: Engine, migrations_dir: str | os.PathLike) -> str | None:
    """Bring the schema to the newest revision of this service's migrations; answer that revision.

    Replicas starting at once take turns: the migration runs in one transaction that first takes
    the database's migration lock (PostgreSQL: a transaction-level advisory lock, held on the
    migration's own connection until it commits or rolls back; SQLite: the file's write lock,
    BEGIN IMMEDIATE, so processes on this host wait for each other's turn). The next in turn finds
    the schema new and changes nothing.
    """
    config = _alembic_config(migrations_dir)
    try:
        with engine.begin() as connection:
            _take_migration_lock(connection)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as error:
        raise DependencyError(f"database migration failed: {_first_line(error)}") from None


def check_schema(engine: Engine, migrations_dir: str | os.PathLike) -> None:
    """Raise DependencyError unless the schema is at the newest revision this code knows, for a
    process that does not migrate at start (MIGRATE_ON_START=0) but leaves it to the migrate step."""
    heads = set(ScriptDirectory.from_config(_alembic_config(migrations_dir)).get_heads())
    try:
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except OperationalError as error:
        raise DependencyError(f"cannot read the schema revision: {_first_line(error)}") from None
    if current != heads:
        raise DependencyError(
            f"the database schema is at revision {', '.join(sorted(current)) or 'none'}, this version needs "
            f"{', '.join(sorted(heads))}; run the migrate command first (MIGRATE_ON_START=0)")


def _alembic_config(migrations_dir: str | os.PathLike) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    return config


def _take_migration_lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    elif connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
