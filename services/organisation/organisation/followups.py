"""The follow-up worker: what identity has not yet heard about a contact, told again until it has.

A password-setup link that could not be issued right after registration (or after a contact was
added), and the account of a removed contact that could not be disabled at once, stay marked on
the contact row. This loop leases such rows (safe with several replicas) and retries them with
backoff. Run by svckit.process as a Worker.
"""
from __future__ import annotations

import threading

from organisation.handlers import Deps, follow_up_due
from svckit.logs import get_logger

log = get_logger(__name__)


class FollowUpWorker:
    def __init__(self, deps: Deps, *, poll_seconds: float = 5.0, batch: int = 20):
        self._deps, self._poll, self._batch = deps, poll_seconds, batch
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                busy = follow_up_due(self._deps, batch=self._batch) > 0
            except Exception:  # the database went away for a moment: the rows stay marked
                log.exception("follow-up pass failed")
                busy = False
            if not busy:
                self._stopping.wait(self._poll)
