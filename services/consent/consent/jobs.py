"""Background work on the clock: consents past their end date expire, and professionals are
reminded before an end date. Safe with several replicas: each change is a conditional update
inside the serialised write transaction, so one replica records it and the others find it done.
"""
from __future__ import annotations

import threading

from svckit.logs import get_logger
from svckit.process import Worker

from consent import handlers

log = get_logger(__name__)


class ExpiryJob:
    def __init__(self, deps: handlers.Dependencies, interval_seconds: float = 60.0):
        self._deps, self._interval = deps, interval_seconds
        self._stopping = threading.Event()

    def run_once(self) -> tuple[int, int]:
        """One pass: expire what has lapsed (all of it, in batches), then queue due reminders."""
        expired = 0
        while (count := handlers.expire_lapsed(self._deps)) and not self._stopping.is_set():
            expired += count
        reminded = 0
        while (count := handlers.send_reminders(self._deps)) and not self._stopping.is_set():
            reminded += count
        return expired, reminded

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.run_once()
            except Exception:  # the database went away for a moment: the next pass catches up
                log.exception("expiry pass failed")
            self._stopping.wait(self._interval)

    def stop(self) -> None:
        self._stopping.set()

    def worker(self) -> Worker:
        return Worker("consent-expiry", self.run, self.stop)
