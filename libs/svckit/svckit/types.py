"""Column types shared by the services' tables."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import DateTime
from sqlalchemy.dialects.sqlite import DATETIME as SQLITE_DATETIME
from sqlalchemy.types import TypeDecorator

_UTC = timezone.utc
_NAIVE_TEXT = len("2026-11-29 17:58:07.000000")


class _SQLiteUtcText(SQLITE_DATETIME):
    """SQLite's DATETIME text ('2026-11-29 17:58:07.000000', naive UTC), the same text SQLAlchemy's
    format string writes, but made and read by datetime's own isoformat/fromisoformat at a
    fraction of the cost: every access check binds a clock reading and reads an instant back.
    It is given only what UtcDateTime.process_bind_param makes: an aware datetime in UTC."""

    def bind_processor(self, dialect):
        def process(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat(" ", "microseconds")[:_NAIVE_TEXT]
        return process

    def result_processor(self, dialect, coltype):
        def process(value: str | None) -> datetime | None:
            return None if value is None else datetime.fromisoformat(value + "+00:00")
        return process


class UtcDateTime(TypeDecorator):
    """An instant stored in UTC and read back timezone-aware, on PostgreSQL and SQLite alike.

    SQLite keeps no zone, so values are written there as naive UTC; comparisons in SQL then
    still order correctly. A naive datetime given to it is a bug and is refused.
    """
    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        return _SQLiteUtcText() if dialect.name == "sqlite" else super().load_dialect_impl(dialect)

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UtcDateTime needs a timezone-aware datetime")
        return value if value.tzinfo is _UTC else value.astimezone(_UTC)

    def process_result_value(self, value: datetime | None, dialect):
        if value is None or value.tzinfo is _UTC:
            return value
        return value.replace(tzinfo=_UTC) if value.tzinfo is None else value.astimezone(_UTC)
