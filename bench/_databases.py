"""Databases for the benchmarks that need one: the PostgreSQL server to use, and scratch databases on it."""
from __future__ import annotations

import os
import uuid
from collections.abc import Callable

from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def postgres_admin_url() -> tuple[str | None, str]:
    """The PostgreSQL server to use (BENCH_POSTGRES_URL, else TEST_POSTGRES_URL, else the local
    default), if it answers, and a line saying which or why none."""
    url = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("TEST_POSTGRES_URL") or DEFAULT_POSTGRES
    engine = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            version = connection.execute(text("SHOW server_version")).scalar_one()
        return url, f"PostgreSQL {version.split()[0]}"
    except SQLAlchemyError as error:
        first = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        return None, f"no PostgreSQL ({first}); SQLite only"
    finally:
        engine.dispose()


def scratch_postgres(admin_url: str, prefix: str) -> tuple[str, Callable[[], None]]:
    """A new empty database on the server: its URL, and a function that drops it."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return admin.url.set(database=name).render_as_string(hide_password=False), drop
