import pytest
from sqlalchemy import inspect

from svckit.db import check_database, make_engine, make_unpooled_engine, upgrade
from svckit.startup import DependencyError

MIGRATION = '''
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    op.create_table("things", sa.Column("id", sa.String(36), primary_key=True))
'''

ENV = '''
from alembic import context
connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
'''


@pytest.fixture
def migrations(tmp_path):
    folder = tmp_path / "migrations"
    (folder / "versions").mkdir(parents=True)
    (folder / "env.py").write_text(ENV)
    (folder / "versions" / "0001_things.py").write_text(MIGRATION)
    return folder


def test_upgrade_creates_the_schema_and_is_idempotent(tmp_path, migrations):
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'x.db'}")
    upgrade(engine, migrations)
    upgrade(engine, migrations)
    assert {"things", "alembic_version"} <= set(inspect(engine).get_table_names())


def test_unreachable_database_is_one_clear_line_without_password():
    engine = make_engine("postgresql+psycopg://user:secret@127.0.0.1:1/nothing")
    with pytest.raises(DependencyError) as caught:
        check_database(engine)
    message = str(caught.value)
    assert "cannot reach the database" in message and "DATABASE_URL" in message
    assert "secret" not in message and "\n" not in message


def test_an_unpooled_sqlite_engine_opens_a_connection_per_checkout_with_the_usual_settings(tmp_path):
    engine = make_unpooled_engine(f"sqlite:///{tmp_path / 'x.db'}")
    first = engine.raw_connection()
    second = engine.raw_connection()
    try:
        assert first.driver_connection is not second.driver_connection
        assert first.cursor().execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        first.close()
        second.close()
    assert engine.pool.status().startswith("NullPool")
