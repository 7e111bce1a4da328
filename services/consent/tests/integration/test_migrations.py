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
