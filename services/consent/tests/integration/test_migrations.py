"""The migrations build exactly the schema the code uses, on SQLite and PostgreSQL alike."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from consent.repository import metadata

pytestmark = pytest.mark.integration


def test_migrated_schema_matches_the_tables_of_the_code(engine):
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []


def test_the_covering_access_index_migrates_down_and_up_again(engine):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect

    from consent.__main__ import MIGRATIONS
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
