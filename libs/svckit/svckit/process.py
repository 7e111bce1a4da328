"""The life of a service process: migrate, serve gRPC and /metrics, run workers, drain on SIGTERM."""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine

from svckit.db import check_database, make_engine, upgrade
from svckit.logs import get_logger
from svckit.server import GrpcHost, Registration, run_until_signalled, start_metrics_server

log = get_logger(__name__)


@dataclass(frozen=True)
class Worker:
    """A background loop (outbox relay, consumer, mail sender) with a way to stop it."""
    name: str
    run: Callable[[], None]
    stop: Callable[[], None]


@dataclass
class ServiceParts:
    registrations: Sequence[Registration]
    workers: Sequence[Worker] = field(default_factory=tuple)


def open_database(url: str, migrations: Path) -> Engine:
    engine = make_engine(url)
    check_database(engine)
    upgrade(engine, migrations)
    return engine


def serve(*, grpc_port: int, metrics_port: int, parts: ServiceParts, registry: CollectorRegistry,
          drain_seconds: float, max_workers: int = 16) -> None:
    """Serve until signalled. Health turns SERVING only once everything has started."""
    host = GrpcHost(port=grpc_port, registrations=parts.registrations, registry=registry,
                    max_workers=max_workers)
    start_metrics_server(metrics_port, registry)
    threads = [threading.Thread(target=_guarded(w), name=w.name, daemon=True) for w in parts.workers]
    host.start()
    for thread in threads:
        thread.start()
    host.mark_ready()
    log.info("ready", grpc_port=host.port, metrics_port=metrics_port)

    def stop_workers():
        for worker in parts.workers:
            worker.stop()
        for thread in threads:
            thread.join(timeout=drain_seconds)

    run_until_signalled(host, drain_seconds, stop_workers)


def _guarded(worker: Worker) -> Callable[[], None]:
    def run():
        try:
            worker.run()
        except Exception:
            log.exception("worker stopped by an error", worker=worker.name)
    return run
