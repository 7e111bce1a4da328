"""Migration 0003: every refresh-token family becomes a session, ended when it was revoked; down and
up again, on SQLite and PostgreSQL alike."""
from datetime import datetime, timedelta, timezone

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from identity.__main__ import MIGRATIONS
from identity.repository import metadata
from svckit.db import make_engine

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)


def migrate(engine, step, revision) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        step(config, revision)


def test_refresh_token_families_become_sessions(databases):
    engine = make_engine(databases.new("identity"))
    migrate(engine, command.upgrade, "0002")
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO accounts (account_id, username, username_lower, email, email_lower, display_name, kind, "
            "status, language, created_at, updated_at) VALUES ('a1', 'jan', 'jan', 'j@x.nl', 'j@x.nl', 'Jan', "
            "'professional', 'active', 'nl', :t, :t)"), {"t": T0})
        for token, family, created, revoked in (("t1", "live", T0, None), ("t2", "live", T0 + timedelta(hours=1), None),
                                                 ("t3", "gone", T0, T0 + timedelta(minutes=5))):
            connection.execute(text(
                "INSERT INTO refresh_tokens (token_id, family_id, account_id, token_hash, created_at, expires_at, "
                "revoked_at) VALUES (:id, :family, 'a1', :id, :created, :expires, :revoked)"),
                {"id": token, "family": family, "created": created, "expires": T0 + timedelta(hours=12),
                 "revoked": revoked})
    migrate(engine, command.upgrade, "head")
    with engine.connect() as connection:
        rows = {row.session_id: row for row in connection.execute(text(
            "SELECT session_id, account_id, ended_at, end_reason FROM sessions"))}
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []
    assert set(rows) == {"live", "gone"}
    assert rows["live"].ended_at is None and rows["gone"].end_reason == "revoked"

    migrate(engine, command.downgrade, "0002")
    assert "sessions" not in inspect(engine).get_table_names()
    assert "login_locks" in inspect(engine).get_table_names()
    migrate(engine, command.upgrade, "head")
    engine.dispose()


def test_the_migrate_command_brings_a_fresh_database_to_the_newest_revision(databases):
    import os
    import subprocess
    import sys
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine
    from identity.__main__ import MIGRATIONS
    url = databases.new("identity")
    done = subprocess.run([sys.executable, "-m", "identity", "migrate"], env={**os.environ, "DATABASE_URL": url},
                          capture_output=True, text=True, timeout=60)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert (done.returncode, done.stdout) == (0, f"identity: the database schema is at revision {head}\n"), done.stderr
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), metadata) == []
    finally:
        engine.dispose()
