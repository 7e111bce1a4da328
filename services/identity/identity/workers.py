"""Background work of the identity service: answering queued link requests, forgetting stale records."""
from __future__ import annotations

import threading
import time

from identity import handlers
from identity.handlers import Deps
from svckit.logs import get_logger

log = get_logger(__name__)


class LinkRequestWorker:
    """Answers 'forgot password' and other link requests shortly after they were queued."""

    def __init__(self, deps: Deps, *, poll_seconds: float = 0.5, housekeeping_seconds: float = 600.0):
        self._deps, self._poll, self._housekeeping = deps, poll_seconds, housekeeping_seconds
        self._stopping = threading.Event()
        self._last_housekeeping = float("-inf")

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        while not self._stopping.is_set():
            busy = False
            try:
                busy = handlers.process_link_requests(self._deps) > 0
                if time.monotonic() - self._last_housekeeping > self._housekeeping:
                    handlers.forget_stale_records(self._deps)
                    self._last_housekeeping = time.monotonic()
            except Exception as error:  # a database hiccup: the requests stay queued and are tried again
                log.error("link request pass failed", error=type(error).__name__)
            if not busy:
                self._stopping.wait(self._poll)
