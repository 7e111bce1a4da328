"""Clocks, injected everywhere time matters, so tests move time instead of waiting."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class ManualClock:
    """A clock for tests: stands still until moved."""

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, moment: datetime) -> None:
        self._now = moment


class OffsetClock:
    """The system clock moved by a fixed offset: for demos and system tests that need a day to pass."""

    def __init__(self, offset: timedelta):
        self._offset = offset

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self._offset


def clock_from_setting(offset_seconds: float) -> Clock:
    """CLOCK_OFFSET_SECONDS = 0 (the default) is the plain system clock."""
    return SystemClock() if offset_seconds == 0 else OffsetClock(timedelta(seconds=offset_seconds))
