"""The migrations build exactly the schema the code describes, with its guards, on SQLite and PostgreSQL."""
from datetime import datetime, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from organisation import repository

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 28, 12, tzinfo=timezone.utc)


def test_migrations_match_the_tables_in_code(engine):
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), repository.metadata) == []


def _organisation(connection, organisation_id="o-1", number="12345678"):
    connection.execute(insert(repository.organisations).values(
        organisation_id=organisation_id, name="X", name_key="x", chamber_of_commerce_number=number, street="s",
        postcode="1234 AB", city="c", city_key="c", phone="0301234567", email="x@example.nl", status="pending",
        created_at=NOW, updated_at=NOW))


def _contact(connection, contact_id, role, organisation_id="o-1", removed_at=None):
    connection.execute(insert(repository.contacts).values(
        contact_id=contact_id, organisation_id=organisation_id, account_id=f"a-{contact_id}", role=role, name="n",
        email="n@example.nl", phone="", department_name="", language="nl", created_at=NOW, updated_at=NOW,
        removed_at=removed_at, follow_up_attempts=0))


def test_the_database_guards_the_unique_rules(engine):
    with engine.begin() as connection:
        _organisation(connection)
        _contact(connection, "c-1", "second_contact")
        _contact(connection, "c-2", "second_contact", removed_at=NOW)  # removed ones do not count
        _contact(connection, "c-3", "administrator")
    for statement in (lambda c: _contact(c, "c-4", "second_contact"),
                      lambda c: _contact(c, "c-5", "administrator"),
                      lambda c: _organisation(c, "o-2", "12345678"),
                      lambda c: _contact(c, "c-6", "owner"),
                      lambda c: _contact(c, "c-7", "contact", organisation_id="o-404")):
        with pytest.raises(IntegrityError):
            with engine.begin() as connection:
                statement(connection)
    with engine.begin() as connection:  # once the second contact is removed, another may come
        connection.execute(update(repository.contacts).where(repository.contacts.c.contact_id == "c-1")
                           .values(removed_at=NOW))
        _contact(connection, "c-8", "second_contact")


def test_instants_come_back_as_utc(engine):
    with engine.begin() as connection:
        _organisation(connection)
        row = connection.execute(select(repository.organisations)).one()
    assert repository.utc(row.created_at) == NOW
    assert repository.utc(row.created_at).tzinfo == timezone.utc
    assert repository.utc(NOW.replace(tzinfo=None)) == NOW


def test_the_migrate_command_brings_a_fresh_database_to_the_newest_revision(databases):
    import os
    import subprocess
    import sys
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine
    from organisation.__main__ import MIGRATIONS
    url = databases.new("organisation")
    done = subprocess.run([sys.executable, "-m", "organisation", "migrate"], env={**os.environ, "DATABASE_URL": url},
                          capture_output=True, text=True, timeout=60)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert (done.returncode, done.stdout) == (0, f"organisation: the database schema is at revision {head}\n"), done.stderr
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), repository.metadata) == []
    finally:
        engine.dispose()
