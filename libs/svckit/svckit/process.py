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
from svckit.tls import Tls

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


def serve(settings, *, parts: ServiceParts, registry: CollectorRegistry, tls: Tls | None,
          max_workers: int = 16) -> None:
    """Serve until signalled, with the settings every service has (svckit.config.process_settings);
    over mutual TLS unless `tls` is None (GRPC_TLS=off, development only). Health turns SERVING
    only once everything has started."""
    if tls is None:
        log.warning("serving gRPC without TLS: every caller is answered, whoever it is (GRPC_TLS=off)")
    host = GrpcHost(port=settings.grpc_port, registrations=parts.registrations, registry=registry,
                    credentials=tls.server_credentials() if tls is not None else None,
                    max_workers=max_workers, bind_host=settings.bind_host, reflection=settings.reflection)
    start_metrics_server(settings.metrics_port, registry, settings.metrics_bind_host)
    threads = [threading.Thread(target=_guarded(w), name=w.name, daemon=True) for w in parts.workers]
    host.start()
    for thread in threads:
        thread.start()
    host.mark_ready()
    log.info("ready", grpc_port=host.port, metrics_port=settings.metrics_port, tls=tls is not None)

    def stop_workers():
        for worker in parts.workers:
            worker.stop()
        for thread in threads:
            thread.join(timeout=settings.drain_seconds)

    run_until_signalled(host, settings.drain_seconds, stop_workers)


def _guarded(worker: Worker) -> Callable[[], None]:
    def run():
        try:
            worker.run()
        except Exception:
            log.exception("worker stopped by an error", worker=worker.name)
    return run
