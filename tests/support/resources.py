"""Ports and databases for tests: free ports on loopback, fresh databases per test or module."""
from __future__ import annotations

import socket
import uuid

from sqlalchemy import create_engine, text


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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
