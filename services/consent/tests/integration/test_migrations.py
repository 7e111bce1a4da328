"""The migrations build exactly the schema the code uses, on SQLite and PostgreSQL alike; the
migrate command, run by several replicas at once, migrates once."""
import os
import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from consent.__main__ import MIGRATIONS
from consent.repository import metadata

pytestmark = pytest.mark.integration


def test_migrated_schema_matches_the_tables_of_the_code(engine):
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []


def test_the_covering_access_index_migrates_down_and_up_again(engine):
    from alembic import command
    from sqlalchemy import inspect

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))

    def access_index_columns():
        index, = [i for i in inspect(engine).get_indexes("consents") if i["name"] == "ix_consents_access"]
        return index["column_names"]

    def migrate(step, revision):
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            step(config, revision)

    migrate(command.downgrade, "0002")
    assert access_index_columns() == ["contact_id", "professional_id", "state"]
    migrate(command.upgrade, "head")
    assert access_index_columns()[:4] == ["contact_id", "professional_id", "state", "valid_until"]
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []


def _head() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def _consent(url: str, *args: str, **settings: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "consent", *args],
                            env={**os.environ, "DATABASE_URL": url, **settings},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err


def test_migrate_commands_run_at_once_on_a_fresh_database_all_succeed(databases):
    url = databases.new("consent")
    results = [_finish(process) for process in [_consent(url, "migrate") for _ in range(3)]]
    assert results == [(0, f"consent: the database schema is at revision {_head()}\n", "")] * 3
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), metadata) == []
    finally:
        engine.dispose()


def test_without_migrating_at_start_a_schema_behind_stops_the_service_with_one_line(databases, certificates):
    code, _, err = _finish(_consent(databases.new("consent"), MIGRATE_ON_START="0", **certificates.env("consent")))
    assert code == 2
    assert err.strip().splitlines()[-1] == (  # after the service's log lines
        f"consent: the database schema is at revision none, this version needs {_head()}; "
        "run the migrate command first (MIGRATE_ON_START=0)")
