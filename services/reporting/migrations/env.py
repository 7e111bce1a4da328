"""Alembic environment of the reporting service; run by svckit.db.upgrade at start."""
from alembic import context

from reporting.repository import metadata

connection = context.config.attributes["connection"]
# Batch mode lets SQLite alter tables by copying them, as PostgreSQL does in place.
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
