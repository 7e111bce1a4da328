"""python -m organisation [serve | migrate]

  serve (the default)  build the organisation service in bootstrap(), then serve until SIGTERM
  migrate              bring the database schema up to date and exit
"""
from __future__ import annotations

import argparse
from pathlib import Path

from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine

from organisation import config, consumer, outbox, peers, repository
from organisation.clients import IdentityAccounts
from organisation.followups import FollowUpWorker
from organisation.handlers import AccountDirectory, Deps
from organisation.mails import MailComposer
from organisation.servicer import OrganisationService
from pe.identity.v1 import identity_pb2
from pe.organisation.v1 import organisation_pb2, organisation_pb2_grpc
from svckit.amqp import ConfirmingPublisher, check_broker
from svckit.clock import Clock, SystemClock
from svckit.event_outbox import EventRelay, RelayMetrics
from svckit.logs import configure_logging
from svckit.mail import SMTPMailSender
from svckit.mail_outbox import MailMetrics, MailRelay
from svckit.process import ServiceParts, Worker, migrate_command, open_database, serve
from svckit.server import Registration
from svckit.startup import run_main
from svckit.tls import Tls, load as load_tls, open_channel

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SERVICE_NAME = organisation_pb2.DESCRIPTOR.services_by_name["OrganisationService"].full_name
# The service organisation calls; its reads are the calls the channel retries (svckit.balancing),
# and none of the writes the saga in handlers makes.
IDENTITY_API = identity_pb2.DESCRIPTOR.services_by_name["IdentityService"]


def bootstrap(settings: config.Settings, engine: Engine, registry: CollectorRegistry | None = None, *,
              tls: Tls | None, clock: Clock | None = None, accounts: AccountDirectory | None = None,
              follow_up_poll_seconds: float = 5.0, mail_poll_seconds: float = 1.0) -> ServiceParts:
    """The composition root: every dependency of the service is built here and nowhere else.

    Tests pass their own clock or account directory; by default identity is reached over gRPC,
    with `tls` (None: without TLS, as in-process tests and GRPC_TLS=off choose).
    """
    registry = registry if registry is not None else CollectorRegistry()
    clock = clock or SystemClock()
    if accounts is None:
        accounts = IdentityAccounts(open_channel(settings.identity_addr, tls, service=IDENTITY_API),
                                    timeout_seconds=settings.identity_timeout_seconds)
    publisher = ConfirmingPublisher(settings.amqp_url, exchanges=(outbox.EXCHANGE,))
    events = EventRelay(engine, repository.event_outbox, publisher, outbox.EXCHANGE, clock,
                        metrics=RelayMetrics(registry, "organisation"))
    mail = MailRelay(engine, repository.mail_outbox, SMTPMailSender(settings.smtp_host, settings.smtp_port), clock,
                     from_address=settings.mail_from, metrics=MailMetrics(registry, "organisation"),
                     poll_seconds=mail_poll_seconds)
    deps = Deps(uow=lambda: repository.SqlUnitOfWork(engine), accounts=accounts, clock=clock,
                mails=MailComposer(settings.public_url), events_committed=events.wake)
    follow_ups = FollowUpWorker(deps, poll_seconds=follow_up_poll_seconds)

    def run_events() -> None:
        try:
            events.run()
        finally:  # on the relay's own thread: pika connections are not shared between threads
            publisher.close()

    return ServiceParts(
        database=engine,
        registrations=[Registration(SERVICE_NAME, organisation_pb2_grpc.add_OrganisationServiceServicer_to_server,
                                    OrganisationService(deps), peers=peers.ALLOWED_PEERS)],
        workers=[Worker("event-relay", run_events, events.stop), Worker("mail-relay", mail.run, mail.stop),
                 Worker("identity-follow-ups", follow_ups.run, follow_ups.stop),
                 consumer.consumer_worker(settings.amqp_url, deps)])


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(prog="python -m organisation", description="The pe-insight organisation service.")
    commands = main_parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("serve", help="serve gRPC until SIGTERM (the default)")
    commands.add_parser("migrate", help="bring the database schema up to date and exit (before starting replicas "
                                        "with MIGRATE_ON_START=0)")
    return main_parser


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    settings = config.load()
    if args.command == "migrate":
        raise SystemExit(migrate_command("organisation", settings.database_url, MIGRATIONS))
    configure_logging("organisation", settings.log_level)
    tls = load_tls(settings.tls)
    engine = open_database(settings.database_url, MIGRATIONS, migrate=settings.migrate_on_start)
    check_broker(settings.amqp_url)
    registry = CollectorRegistry()
    serve(settings, parts=bootstrap(settings, engine, registry, tls=tls), registry=registry, tls=tls)


if __name__ == "__main__":
    run_main("organisation", main)
