"""python -m reporting [serve | migrate | rebuild | import-progress FILE]

  serve (the default)  build the service in bootstrap(), then serve gRPC, the consumers of consent
                       and PE registry events and the gap filler until SIGTERM
  migrate              bring the database schema up to date and exit
  rebuild              drop the consent read model and rebuild it from consent's event log
                       (ListConsentEvents at CONSENT_ADDR); PE progress and the logs are kept
  import-progress FILE store PE progress from a CSV, JSON or JSON Lines file (see --help)
"""
from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine

from pe.consent.v1 import consent_pb2
from pe.identity.v1 import identity_pb2
from pe.organisation.v1 import organisation_pb2
from pe.reporting.v1 import reporting_pb2, reporting_pb2_grpc
from reporting import config, handlers, importer, peers
from reporting.clients import AccountClient, ConsentLogClient, OrganisationClient
from reporting.consumer import EventHandlers, GapFiller, ReportingMetrics, consent_queue, registry_queue
from reporting.domain import ReportFormat
from reporting.jsonreport import JsonRenderer
from reporting.pdf import PdfPool, PdfRenderer
from reporting.repository import SqlStore
from reporting.servicer import ReportingService
from reporting.xlsx import XlsxRenderer
from svckit.amqp import Consumer, check_broker, consuming_worker
from svckit.clock import SystemClock
from svckit.logs import configure_logging, get_logger
from svckit.process import ServiceParts, Worker, migrate_command, open_database, serve
from svckit.server import Registration
from svckit.startup import DependencyError, run_main
from svckit.tls import Tls, load as load_tls, open_channel

log = get_logger("reporting")
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SERVICE_NAME = reporting_pb2.DESCRIPTOR.services_by_name["ReportingService"].full_name
# The services reporting calls; their reads are the calls its channels retry (svckit.balancing).
CONSENT_API = consent_pb2.DESCRIPTOR.services_by_name["ConsentService"]
ORGANISATION_API = organisation_pb2.DESCRIPTOR.services_by_name["OrganisationService"]
IDENTITY_API = identity_pb2.DESCRIPTOR.services_by_name["IdentityService"]


def make_deps(settings: config.Settings, engine: Engine, *, tls: Tls | None, metrics=None,
              pdf_pool: PdfPool | None = None) -> handlers.Deps:
    """Consent, organisation and identity are reached with `tls` (None: without TLS, as in-process
    tests and GRPC_TLS=off choose)."""
    timeout = settings.rpc_timeout_seconds
    return handlers.Deps(
        store=SqlStore(engine), clock=SystemClock(),
        consent_log=ConsentLogClient(open_channel(settings.consent_addr, tls, service=CONSENT_API), timeout),
        organisations=OrganisationClient(open_channel(settings.organisation_addr, tls, service=ORGANISATION_API),
                                         timeout),
        accounts=AccountClient(open_channel(settings.identity_addr, tls, service=IDENTITY_API), timeout),
        renderers={ReportFormat.JSON: JsonRenderer(), ReportFormat.XLSX: XlsxRenderer(),
                   ReportFormat.PDF: PdfRenderer(pool=pdf_pool, pages_per_chunk=settings.pdf_pages_per_chunk)},
        report_wait_seconds=settings.report_wait_seconds,
        metrics=metrics or handlers.NoMetrics())


def bootstrap(settings: config.Settings, engine: Engine, registry: CollectorRegistry | None = None, *,
              tls: Tls | None) -> ServiceParts:
    """The composition root: every dependency of the service is built here and nowhere else."""
    metrics = ReportingMetrics(registry or CollectorRegistry())
    pool = PdfPool(settings.pdf_workers) if settings.pdf_workers else None
    deps = make_deps(settings, engine, tls=tls, metrics=metrics, pdf_pool=pool)
    events = EventHandlers(deps, metrics)
    consents = consent_queue(settings.consent_queue, settings.consent_exchange)
    registry_events = registry_queue(settings.registry_queue, settings.registry_exchange)
    gap_filler = GapFiller(deps, settings.gap_check_seconds)
    stopped = threading.Event()

    def stop_pool():
        stopped.set()
        if pool is not None:
            pool.close()

    workers = [
        consuming_worker("consent-events", Consumer(settings.amqp_url, consents, events.on_consent_message,
                                                    events.dead_lettered(consents.name)), on_stop=events.stop),
        consuming_worker("registry-events", Consumer(settings.amqp_url, registry_events, events.on_registry_message,
                                                     events.dead_lettered(registry_events.name)),
                         on_stop=events.stop),
        Worker("consent-gap-filler", gap_filler.run, gap_filler.stop),
        Worker("pdf-pool", stopped.wait, stop_pool),
    ]
    servicer = ReportingService(deps)
    return ServiceParts(database=engine, registrations=[
        Registration(SERVICE_NAME, reporting_pb2_grpc.add_ReportingServiceServicer_to_server, servicer,
                     peers=peers.ALLOWED_PEERS)],
        workers=workers)


def serve_command(settings: config.Settings) -> None:
    tls = load_tls(settings.tls)
    engine = open_database(settings.database_url, MIGRATIONS, migrate=settings.migrate_on_start)
    check_broker(settings.amqp_url)
    registry = CollectorRegistry()
    serve(settings, parts=bootstrap(settings, engine, registry, tls=tls), registry=registry, tls=tls)


def rebuild_command(settings: config.Settings) -> int:
    tls = load_tls(settings.tls)
    engine = open_database(settings.database_url, MIGRATIONS, migrate=settings.migrate_on_start)
    deps = make_deps(settings, engine, tls=tls)
    try:
        result = handlers.rebuild(deps)
    except handlers.ConsentLogUnavailable as error:
        raise DependencyError(f"cannot read consent's event log at {settings.consent_addr} ({error}); "
                              "check CONSENT_ADDR") from None
    print(f"rebuilt the consent read model from {result.events} events: {result.consents} consents, "
          f"applied through log position {result.applied_through}")
    return 0


def import_command(settings: config.Settings, path: Path, file_format: str | None) -> int:
    tls = load_tls(settings.tls)
    engine = open_database(settings.database_url, MIGRATIONS, migrate=settings.migrate_on_start)
    deps = make_deps(settings, engine, tls=tls)
    try:
        result = importer.import_file(path, deps, file_format)
    except importer.UnreadableFile as error:
        print(f"{path}: {error}", file=sys.stderr)
        return 2
    for problem in result.problems:
        print(f"{path}:{problem.line}: {problem.reason}")
    print(f"{path}: {result.records} records accepted: {result.stored} stored, {result.unchanged} unchanged; "
          f"{len(result.problems)} rejected")
    return 1 if result.problems else 0


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(prog="python -m reporting",
                                          description="The pe-insight reporting service.")
    commands = main_parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("serve", help="serve gRPC and consume events (the default)")
    commands.add_parser("migrate", help="bring the database schema up to date and exit (before starting replicas "
                                        "with MIGRATE_ON_START=0)")
    commands.add_parser("rebuild", help="rebuild the consent read model from consent's event log",
                        description="Drop the consent read model and rebuild it from consent's event log "
                                    "(ListConsentEvents at CONSENT_ADDR), in one transaction. PE progress, the "
                                    "access log and the report log are kept.")
    imports = commands.add_parser(
        "import-progress", help="store PE progress from a CSV, JSON or JSON Lines file",
        description=importer.__doc__.split("\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Exit status: 0 every record stored or unchanged; 1 some rejected (the others stored); "
               "2 the file could not be read (nothing stored).")
    imports.add_argument("file", type=Path, metavar="FILE")
    imports.add_argument("--format", choices=importer.FORMATS, help="the file's format (default: by extension)")
    return main_parser


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    settings = config.load()
    configure_logging("reporting", settings.log_level)
    if args.command in (None, "serve"):
        serve_command(settings)
    elif args.command == "migrate":
        raise SystemExit(migrate_command("reporting", settings.database_url, MIGRATIONS))
    elif args.command == "rebuild":
        raise SystemExit(rebuild_command(settings))
    else:
        raise SystemExit(import_command(settings, args.file, args.format))


if __name__ == "__main__":
    run_main("reporting", main)
