"""Health that follows the database: a service whose database does not answer says NOT_SERVING.

Without it a replica whose database went away kept answering SERVING to its health checks, so the
gateway's /readyz, docker's healthcheck and Kubernetes' readiness probe all called it ready while
every call it took failed. The watch asks the database every few seconds (SELECT 1, on a pooled
connection with the engine's connect timeout) and tells the service when the answer changes; the
service then says NOT_SERVING, and SERVING again once the database answers, without a restart.
"""
from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from svckit.logs import get_logger

log = get_logger(__name__)

# How often the database is asked; a fault shows in health within this and the connect timeout.
INTERVAL_SECONDS = 2.0


class DatabaseWatch:
    def __init__(self, engine: Engine, on_change: Callable[[bool], None], interval: float = INTERVAL_SECONDS):
        self._engine, self._on_change, self._interval = engine, on_change, interval
        self._stop = threading.Event()
        self.answering = True  # the service starts only after its database answered

    def answers(self) -> bool:
        try:
            with self._engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError as error:
            log.debug("database check failed", error=str(error).splitlines()[0])
            return False

    def check_once(self) -> None:
        answering = self.answers()
        if answering == self.answering:
            return
        self.answering = answering
        if answering:
            log.info("the database answers again; serving")
        else:
            log.warning("the database does not answer; not serving until it does")
        self._on_change(answering)

    def run(self) -> None:
        while not self._stop.wait(self._interval):
            self.check_once()

    def stop(self) -> None:
        self._stop.set()
