"""Persistence of the identity service (SQLAlchemy 2). Its tables are its own."""
from sqlalchemy import Column, DateTime, LargeBinary, MetaData, String, Table

metadata = MetaData()

signing_keys = Table(
    "signing_keys", metadata,
    Column("key_id", String(64), primary_key=True),
    Column("public_key", LargeBinary(32), nullable=False),
    Column("private_key", LargeBinary(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("retired_at", DateTime(timezone=True), nullable=True),
)
