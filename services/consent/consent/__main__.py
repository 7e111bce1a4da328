"""python -m consent [serve | migrate]

  serve (the default)  build the consent service in bootstrap(), then serve until SIGTERM
  migrate              bring the database schema up to date and exit
"""
from __future__ import annotations

import argparse
from pathlib import Path

from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine

from pe.consent.v1 import consent_pb2, consent_pb2_grpc
from pe.identity.v1 import identity_pb2
from pe.organisation.v1 import organisation_pb2
from consent import config, events, peers
from consent.clients import GrpcAccountDirectory, GrpcOrganisationDirectory
from consent.consumer import consumer_worker
from consent.handlers import Dependencies
from consent.jobs import ExpiryJob
from consent.mails import Mails
from consent.repository import ConsentStore, event_outbox, mail_outbox
from consent.servicer import ConsentService
from svckit.amqp import ConfirmingPublisher, check_broker
from svckit.clock import Clock, clock_from_setting
from svckit.event_outbox import EventRelay, RelayMetrics
from svckit.logs import configure_logging
from svckit.mail import SMTPMailSender
from svckit.mail_outbox import MailMetrics, MailRelay
from svckit.process import ServiceParts, Worker, migrate_command, open_database, serve
from svckit.server import Registration
from svckit.startup import run_main
from svckit.tls import Tls, load as load_tls, open_channel

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SERVICE_NAME = consent_pb2.DESCRIPTOR.services_by_name["ConsentService"].full_name
# The services consent calls; their reads are the calls its channels retry (svckit.balancing).
ORGANISATION_API = organisation_pb2.DESCRIPTOR.services_by_name["OrganisationService"]
IDENTITY_API = identity_pb2.DESCRIPTOR.services_by_name["IdentityService"]


def api_registration(deps: Dependencies, access_check_workers: int) -> Registration:
    """The consent API as every host of it serves it: CheckAccess on threads of its own."""
    return Registration(SERVICE_NAME, consent_pb2_grpc.add_ConsentServiceServicer_to_server, ConsentService(deps),
                        own_workers={"CheckAccess": access_check_workers}, peers=peers.ALLOWED_PEERS)


def bootstrap(settings: config.Settings, engine: Engine, *, tls: Tls | None, clock: Clock | None = None,
              registry: CollectorRegistry | None = None) -> ServiceParts:
    """The composition root: every dependency of the service is built here and nowhere else.

    Organisation and identity are reached with `tls` (None: without TLS, as in-process tests and
    GRPC_TLS=off choose)."""
    clock = clock or clock_from_setting(settings.clock_offset_seconds)
    registry = registry or CollectorRegistry()
    publisher = ConfirmingPublisher(settings.amqp_url, exchanges=(events.EXCHANGE,))
    relay = EventRelay(engine, event_outbox, publisher, events.EXCHANGE, clock,
                       metrics=RelayMetrics(registry, "consent"))
    mail_relay = MailRelay(engine, mail_outbox, SMTPMailSender(settings.smtp_host, settings.smtp_port), clock,
                           from_address=settings.mail_from, metrics=MailMetrics(registry, "consent"))
    deps = Dependencies(
        store=ConsentStore(engine), clock=clock,
        organisations=GrpcOrganisationDirectory(
            open_channel(settings.organisation_addr, tls, service=ORGANISATION_API), settings.rpc_timeout_seconds),
        accounts=GrpcAccountDirectory(open_channel(settings.identity_addr, tls, service=IDENTITY_API),
                                      settings.rpc_timeout_seconds),
        mails=Mails(settings.public_url), reminder_days=settings.reminder_days, on_events=relay.wake)
    expiry = ExpiryJob(deps, settings.expiry_interval_seconds)

    def stop_relay():  # after the gRPC server has drained, so no check is under way
        relay.stop()
        publisher.close()
        deps.store.close()

    return ServiceParts(
        database=engine,
        registrations=[api_registration(deps, settings.access_check_workers)],
        workers=[Worker("consent-event-relay", relay.run, stop_relay),
                 Worker("consent-mail-relay", mail_relay.run, mail_relay.stop),
                 expiry.worker(),
                 consumer_worker(settings.amqp_url, deps)])


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(prog="python -m consent", description="The pe-insight consent service.")
    commands = main_parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("serve", help="serve gRPC until SIGTERM (the default)")
    commands.add_parser("migrate", help="bring the database schema up to date and exit (before starting replicas "
                                        "with MIGRATE_ON_START=0)")
    return main_parser


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    settings = config.load()
    if args.command == "migrate":
        raise SystemExit(migrate_command("consent", settings.database_url, MIGRATIONS))
    configure_logging("consent", settings.log_level)
    tls = load_tls(settings.tls)
    engine = open_database(settings.database_url, MIGRATIONS, migrate=settings.migrate_on_start)
    check_broker(settings.amqp_url)
    registry = CollectorRegistry()
    serve(settings, parts=bootstrap(settings, engine, tls=tls, registry=registry), registry=registry, tls=tls)


if __name__ == "__main__":
    run_main("consent", main)
