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


def _counter_table(engine):
    from sqlalchemy import text
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        connection.execute(text("INSERT INTO counter VALUES (0)"))


def test_an_sqlite_write_transaction_holds_the_write_lock_from_its_start(tmp_path):
    import sqlite3
    from svckit.db import write_transaction
    path = tmp_path / "x.db"
    engine = make_engine(f"sqlite:///{path}")
    _counter_table(engine)
    other = sqlite3.connect(path, timeout=0.05, isolation_level=None)
    with write_transaction(engine):  # has written nothing yet
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")  # free again once it ended
    other.execute("ROLLBACK")
    other.close()


def test_sqlite_writers_of_one_process_wait_their_turn_instead_of_failing(tmp_path):
    """A second writer whose own SQLite busy timeout is far shorter than the first writer's
    transaction still gets through: it waits for its turn in the process, not in SQLite."""
    import threading
    import time
    from sqlalchemy import create_engine, text
    from svckit.db import write_transaction
    path = tmp_path / "x.db"
    first = make_engine(f"sqlite:///{path}")
    _counter_table(first)
    impatient = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.05, "check_same_thread": False})
    inside, finished = threading.Event(), []

    def long_writer():
        with write_transaction(first) as connection:
            connection.execute(text("UPDATE counter SET n = n + 1"))
            inside.set()
            time.sleep(0.5)
        finished.append(time.monotonic())

    thread = threading.Thread(target=long_writer)
    thread.start()
    inside.wait(5)
    with write_transaction(impatient) as connection:
        entered = time.monotonic()
        connection.execute(text("UPDATE counter SET n = n + 1"))
    thread.join()
    assert finished and entered >= finished[0]
    with first.connect() as connection:
        assert connection.execute(text("SELECT n FROM counter")).scalar_one() == 2


def test_a_write_transaction_rolls_back_on_an_error(tmp_path):
    from sqlalchemy import text
    from svckit.db import write_transaction
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    _counter_table(engine)
    with pytest.raises(RuntimeError):
        with write_transaction(engine) as connection:
            connection.execute(text("UPDATE counter SET n = 5"))
            raise RuntimeError("half-way")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM counter")).scalar_one() == 0
