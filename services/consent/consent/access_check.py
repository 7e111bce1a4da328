"""The access check on the database driver itself: the hottest path of the system.

SQLAlchemy's Connection and Result wrappers, and even a pool checkout per call, cost more than
the query itself. So every serving thread keeps one connection for as long as it lives (gRPC's
workers live as long as the server), which bounds the connections by the worker threads, with
the statement ready to run on it. The statement commits nothing and holds no transaction open,
so each check sees every commit made before it.
"""
from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import Column, Select, event
from sqlalchemy.engine import Dialect, Engine

from svckit.db import make_unpooled_engine
from svckit.types import UtcDateTime

from consent.domain import Consent, State

# The three values a check binds; anything else the statement binds (its limit) is fixed.
_BOUND = ("contact_id", "professional_id", "now")

Row = Sequence | None
Run = Callable[[object], Row]


class DatabaseUnavailable(Exception):
    """The database did not answer (the access check's own path, which bypasses SQLAlchemy's errors)."""


def _fixed_values(compiled, encode=lambda value: value) -> dict:
    """What the statement binds besides the three values of a check (its limit)."""
    return {name: encode(bind.value) for name, bind in compiled.binds.items() if name not in _BOUND}


def _parameter_layout(compiled, order: Sequence[str], encode=lambda value: value) -> tuple[list, tuple[int, ...]]:
    """Positional parameters in `order`: a template to copy with the fixed values in place, and
    where the three values of a check go in it."""
    fixed = _fixed_values(compiled, encode)
    return [fixed.get(name) for name in order], tuple(order.index(name) for name in _BOUND)


def _now_binder(dialect: Dialect) -> Callable[[datetime], object]:
    return UtcDateTime().dialect_impl(dialect).bind_processor(dialect) or (lambda value: value)


class _CursorStatement:
    """Any driver: the statement as SQLAlchemy compiled it, on a cursor kept with the connection
    (making a cursor costs some drivers more than the query)."""

    def __init__(self, query: Select, dialect: Dialect):
        compiled = query.compile(dialect=dialect)
        self._sql = str(compiled)
        if dialect.positional:
            self._template, self._slots = _parameter_layout(compiled, compiled.positiontup)
        else:
            self._template, self._slots = _fixed_values(compiled), None
        self._bind_now = _now_binder(dialect)

    def params(self, contact_id: str, professional_id: str, now: datetime):
        now = self._bind_now(now)
        if self._slots is None:
            return {**self._template, "contact_id": contact_id, "professional_id": professional_id, "now": now}
        values = self._template.copy()
        at_contact, at_professional, at_now = self._slots
        values[at_contact], values[at_professional], values[at_now] = contact_id, professional_id, now
        return values

    def on(self, driver_connection) -> Run:
        cursor, sql = driver_connection.cursor(), self._sql

        def run(params) -> Row:
            cursor.execute(sql, params)
            rows = cursor.fetchall()  # to the end, so SQLite holds no read snapshot after
            return rows[0] if rows else None
        return run


class _PreparedStatement:
    """PostgreSQL through psycopg: the statement prepared once on each connection and run through
    psycopg's libpq layer, its row read by psycopg's own loaders. A cursor's execute and fetch
    adapt, look up and wrap on every call what never changes here, and cost twice the CPU."""

    NAME = b"pe_consent_access_check"

    def __init__(self, query: Select, dialect: Dialect):
        compiled = query.compile(dialect=dialect)
        order: list[str] = []

        def numbered(match: re.Match) -> str:
            order.append(match.group(1))
            return f"${len(order)}"
        self._sql = re.sub(r"%\((\w+)\)s", numbered, str(compiled)).encode()
        self._template, self._slots = _parameter_layout(compiled, order, lambda value: str(value).encode())
        self._bind_now = _now_binder(dialect)

    def params(self, contact_id: str, professional_id: str, now: datetime) -> list[bytes]:
        values = self._template.copy()
        at_contact, at_professional, at_now = self._slots
        values[at_contact], values[at_professional] = contact_id.encode(), professional_id.encode()
        values[at_now] = self._bind_now(now).isoformat().encode()
        return values

    def on(self, driver_connection) -> Run:
        from psycopg import OperationalError, pq
        from psycopg.adapt import Transformer
        pgconn, loader, name = driver_connection.pgconn, Transformer(driver_connection), self.NAME

        def expect(result, status):
            if result.status != status:
                message = (result.error_message or pgconn.error_message).decode(errors="replace")
                raise OperationalError(message.strip() or f"unexpected status {result.status}")
        expect(pgconn.prepare(name, self._sql), pq.ExecStatus.COMMAND_OK)

        def run(params) -> Row:
            result = pgconn.exec_prepared(name, params)  # blocks in libpq, without the GIL
            expect(result, pq.ExecStatus.TUPLES_OK)
            if not result.ntuples:
                return None
            loader.set_pgresult(result)
            return loader.load_row(0, tuple)
        return run


class _HeldConnection:
    """One serving thread's connection, with the statement ready on it; back to the engine when
    the thread ends."""

    def __init__(self, connection, statement):
        self.connection = connection
        try:
            self.run: Run = statement.on(connection.driver_connection)
        except Exception:
            connection.close()
            raise

    def release(self) -> None:
        connection, self.connection, self.run = self.connection, None, None
        if connection is not None:
            connection.close()

    def __del__(self):  # the thread that held it has ended
        self.release()


class AccessQuery:
    """The consent that lets a contact see a professional's dossier now, if any: `query` (which
    binds contact_id, professional_id and now, and selects `columns`) run on a connection each
    serving thread keeps, its row converted by the column types' own processors."""

    def __init__(self, engine: Engine, query: Select, columns: Sequence[Column]):
        self._engine, self._query, dialect = engine, query, engine.dialect
        kind = _PreparedStatement if dialect.driver == "psycopg" else _CursorStatement
        self._statement = kind(query, dialect)
        processors = [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns]
        self._processors = [(i, process) for i, process in enumerate(processors) if process is not None]
        self._errors = (dialect.loaded_dbapi.OperationalError,)
        self._local = threading.local()
        self._held: weakref.WeakSet[_HeldConnection] = weakref.WeakSet()
        self._held_lock = threading.Lock()

    def __call__(self, contact_id: str, professional_id: str, now: datetime) -> Consent | None:
        row = self._fetch(self._statement.params(contact_id, professional_id, now))
        if row is None:
            return None
        values = list(row)
        for i, process in self._processors:  # only the columns the driver does not give as they are
            values[i] = process(values[i])
        (consent_id, professional_id, registration, organisation_id, contact_id, valid_from, end_date,
         sequence) = values
        return Consent(consent_id=consent_id, professional_id=professional_id,
                       pe_registration_number=registration, organisation_id=organisation_id,
                       contact_id=contact_id, valid_from=valid_from, end_date=end_date, state=State.ACTIVE,
                       end_time=None, end_reason=None, sequence=sequence)

    def plan(self, contact_id: str, professional_id: str, now: datetime) -> list[str]:
        """How the database runs the check for these values (its EXPLAIN, a line per step)."""
        dialect = self._engine.dialect
        compiled = self._query.compile(dialect=dialect)
        values = {name: bind.value for name, bind in compiled.binds.items()}
        values.update(contact_id=contact_id, professional_id=professional_id, now=_now_binder(dialect)(now))
        params = tuple(values[name] for name in compiled.positiontup) if dialect.positional else values
        explain = "EXPLAIN QUERY PLAN " if dialect.name == "sqlite" else "EXPLAIN "
        with self._engine.connect() as connection:
            rows = connection.exec_driver_sql(explain + str(compiled), params).all()
        return [str(row[-1]) for row in rows]

    def close(self) -> None:
        """Give back every thread's connection (at shutdown)."""
        with self._held_lock:
            held, self._held = list(self._held), weakref.WeakSet()
        for each in held:
            each.release()

    def _connection(self) -> _HeldConnection:
        held = getattr(self._local, "held", None)
        if held is None or held.connection is None:
            held = self._local.held = _HeldConnection(self._engine.raw_connection(), self._statement)
            with self._held_lock:
                self._held.add(held)
        return held

    def _fetch(self, params) -> Row:
        for attempt in (1, 2):
            try:
                held = self._connection()
                return held.run(params)
            except self._errors as error:
                # A connection the database dropped fails once; this is a read, so try once more.
                held = getattr(self._local, "held", None)
                if held is not None and held.connection is not None:
                    held.connection.invalidate()
                    held.release()
                if attempt == 2:
                    first_line = str(error).strip().split("\n")[0]
                    raise DatabaseUnavailable(first_line) from None
        return None  # pragma: no cover


SQLITE_MMAP_BYTES = 1 << 30


def _read_only_mapped(dbapi_connection, _record) -> None:
    """An SQLite connection that only reads, through memory-mapped pages: a lookup then makes no
    read() calls, and every thread's connection shares the operating system's page cache instead
    of filling a page cache of its own."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only = ON")
    cursor.execute(f"PRAGMA mmap_size = {SQLITE_MMAP_BYTES}")
    cursor.close()


def access_engine(engine: Engine) -> Engine:
    """Connections for the access check, each held by one serving thread for as long as it lives
    (see AccessQuery). An in-memory SQLite database exists only in its own connections, so it
    keeps the main engine."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return engine
    access = make_unpooled_engine(url.render_as_string(hide_password=False))
    if url.get_backend_name() == "sqlite":
        event.listen(access, "connect", _read_only_mapped)
    return access
