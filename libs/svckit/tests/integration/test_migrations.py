"""Replicas starting at once migrate one database in turn, and a process that leaves migrating to a
one-shot step refuses a schema that is behind; on PostgreSQL (TEST_POSTGRES_URL) or SQLite."""
import threading

import pytest
from sqlalchemy import inspect, text

from svckit.db import make_engine, upgrade
from svckit.process import migrate_command, open_database
from svckit.startup import DependencyError

pytestmark = pytest.mark.integration

ENV = '''
from alembic import context
connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
'''

# Each revision takes a moment, as a real one on a big table would, so that replicas starting
# together are in the middle of it at the same time.
REVISION = '''
import time
import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = {previous!r}


def upgrade():
    op.create_table("{table}", sa.Column("id", sa.String(36), primary_key=True))
    time.sleep(0.2)
    op.execute("INSERT INTO {table} (id) VALUES ('made by {revision}')")
'''

TABLES = ("organisations", "contacts", "consents")


@pytest.fixture
def migrations(tmp_path):
    folder = tmp_path / "migrations"
    (folder / "versions").mkdir(parents=True)
    (folder / "env.py").write_text(ENV)
    previous = None
    for number, table in enumerate(TABLES, start=1):
        revision = f"000{number}"
        (folder / "versions" / f"{revision}_{table}.py").write_text(
            REVISION.format(revision=revision, previous=previous, table=table))
        previous = revision
    return folder


def test_replicas_starting_at_once_migrate_in_turn_and_all_start(databases, migrations):
    url = databases.new("migrations")
    replicas = 4
    together = threading.Barrier(replicas)
    outcomes: list[object] = [None] * replicas

    def start(replica: int) -> None:
        engine = make_engine(url)  # each its own connections, as separate processes have
        try:
            together.wait(10)
            outcomes[replica] = upgrade(engine, migrations)
        except Exception as error:  # the assertion below shows which and why
            outcomes[replica] = error
        finally:
            engine.dispose()

    threads = [threading.Thread(target=start, args=(n,)) for n in range(replicas)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert outcomes == ["0003"] * replicas
    engine = make_engine(url)
    try:
        assert set(TABLES) | {"alembic_version"} <= set(inspect(engine).get_table_names())
        with engine.connect() as connection:
            for table in TABLES:  # each revision ran once
                assert connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 1
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == ["0003"]
    finally:
        engine.dispose()


def test_a_process_that_does_not_migrate_at_start_waits_for_the_migrate_step(databases, migrations, capsys):
    url = databases.new("migrations")
    with pytest.raises(DependencyError) as caught:
        open_database(url, migrations, migrate=False)
    assert str(caught.value) == ("the database schema is at revision none, this version needs 0003; "
                                 "run the migrate command first (MIGRATE_ON_START=0)")
    assert migrate_command("consent", url, migrations) == 0
    assert capsys.readouterr().out == "consent: the database schema is at revision 0003\n"
    engine = open_database(url, migrations, migrate=False)
    engine.dispose()
