"""The migrations build exactly the schema the code uses, on SQLite and PostgreSQL alike, and the
access log's kinds migrate down and up again."""
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from reporting.repository import access_log, metadata

pytestmark = pytest.mark.integration


def entry(entry_id: str, kind: str) -> dict:
    return dict(entry_id=entry_id, professional_id="p", kind=kind, occurred_at=None, reader_account_id="r",
                organisation_id="o")


def test_migrated_schema_matches_the_tables_of_the_code(engine):
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []


def test_the_access_log_takes_listed_dossiers_and_no_other_kind_after_migrating_down_and_up(engine, clock):
    from reporting.__main__ import MIGRATIONS
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))

    def migrate(step, revision):
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            step(config, revision)

    def insert_entry(entry_id: str, kind: str):
        with engine.begin() as connection:
            connection.execute(insert(access_log).values(**{**entry(entry_id, kind), "occurred_at": clock.now()}))

    insert_entry("1", "dossier_listed")
    migrate(command.downgrade, "0002")
    with pytest.raises(IntegrityError):
        insert_entry("2", "dossier_listed")
    migrate(command.upgrade, "head")
    insert_entry("3", "dossier_listed")
    with pytest.raises(IntegrityError):
        insert_entry("4", "something_else")
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []


def test_the_migrate_command_brings_a_fresh_database_to_the_newest_revision(databases):
    import os
    import subprocess
    import sys
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine
    from reporting.__main__ import MIGRATIONS
    url = databases.new("reporting")
    done = subprocess.run([sys.executable, "-m", "reporting", "migrate"], env={**os.environ, "DATABASE_URL": url},
                          capture_output=True, text=True, timeout=60)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert (done.returncode, done.stdout) == (0, f"reporting: the database schema is at revision {head}\n"), done.stderr
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), metadata) == []
    finally:
        engine.dispose()
