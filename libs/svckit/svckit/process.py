"""The life of a service process: migrate, serve gRPC and /metrics, run workers, drain on SIGTERM."""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine

from svckit.database_watch import DatabaseWatch
from svckit.db import check_database, check_schema, make_engine, upgrade
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
    # The service's database: its health says NOT_SERVING while the database does not answer.
    database: Engine | None = None


def open_database(url: str, migrations: Path, *, migrate: bool = True) -> Engine:
    """The service's database, its schema brought up to date (replicas take turns, see
    svckit.db.upgrade); with `migrate` false (MIGRATE_ON_START=0, when a one-shot migrate step
    runs before the replicas) only checked to be up to date."""
    engine = make_engine(url)
    check_database(engine)
    if migrate:
        upgrade(engine, migrations)
    else:
        check_schema(engine, migrations)
    return engine


def migrate_command(service: str, url: str, migrations: Path) -> int:
    """`python -m <service> migrate`: bring the schema up to date, say to which revision, exit.
    A deployment runs it once before starting the replicas (a Job, an init step)."""
    engine = make_engine(url)
    try:
        check_database(engine)
        revision = upgrade(engine, migrations)
    finally:
        engine.dispose()
    print(f"{service}: the database schema is at revision {revision}", flush=True)
    return 0


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
    workers = list(parts.workers)
    if parts.database is not None:
        watch = DatabaseWatch(parts.database, host.set_serving)
        workers.append(Worker("database-watch", watch.run, watch.stop))
    threads = [threading.Thread(target=_guarded(w), name=w.name, daemon=True) for w in workers]
    host.start()
    for thread in threads:
        thread.start()
    host.mark_ready()
    log.info("ready", grpc_port=host.port, metrics_port=settings.metrics_port, tls=tls is not None)

    def stop_workers():
        for worker in workers:
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
