"""python -m identity: build the identity service in bootstrap(), then serve until SIGTERM.

    python -m identity                          serve
    python -m identity migrate                  bring the database schema up to date, exit
    python -m identity create-operator ...      create the first operator account, queue its mail, exit
    python -m identity rotate-signing-key       sign access tokens with a new key from now on
    python -m identity new-key-encryption-key   print a new SIGNING_KEY_ENCRYPTION_KEY
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine

from identity import config, events, handlers, peers
from identity.domain import AccountKind, AlreadyExists, InvalidInput, Language, LinkPurpose, NewAccount
from identity.handlers import Deps
from identity.keys import KeyEncryptionError, KeyEncryptionKey, SigningKeyStore, key_encryption_key
from identity.mails import MailComposer
from identity.passwords import Argon2Hasher, Hasher, default_policy
from identity.repository import UnitOfWork, event_outbox, mail_outbox
from identity.servicer import IdentityService
from identity.tokens import AccessTokenIssuer
from identity.workers import LinkRequestWorker
from pe.identity.v1 import identity_pb2, identity_pb2_grpc
from svckit.amqp import ConfirmingPublisher, check_broker
from svckit.clock import Clock, clock_from_setting
from svckit.config import SettingError
from svckit.event_outbox import EventRelay, RelayMetrics
from svckit.logs import configure_logging, mask_email
from svckit.mail import SMTPMailSender
from svckit.mail_outbox import MailMetrics, MailRelay
from svckit.process import ServiceParts, Worker, migrate_command, open_database, serve
from svckit.server import Registration
from svckit.startup import run_main
from svckit.tls import load as load_tls

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SERVICE_NAME = identity_pb2.DESCRIPTOR.services_by_name["IdentityService"].full_name


@dataclass
class Service:
    """Everything the process runs, built once; tests drive the parts directly."""
    deps: Deps
    keys: SigningKeyStore
    servicer: IdentityService
    mail_relay: MailRelay
    event_relay: EventRelay
    publisher: ConfirmingPublisher
    link_worker: LinkRequestWorker

    def run_event_relay(self) -> None:
        try:
            self.event_relay.run()
        finally:  # on the relay's own thread: pika connections are not shared between threads
            self.publisher.close()


def build(settings: config.Settings, engine: Engine, *, clock: Clock | None = None,
          hasher: Hasher | None = None, registry: CollectorRegistry | None = None) -> Service:
    clock = clock or clock_from_setting(settings.clock_offset_seconds)
    keys = signing_keys(settings, engine, clock)
    hasher = hasher or Argon2Hasher(max_concurrent=settings.argon2_max_concurrent or None)
    publisher = ConfirmingPublisher(settings.amqp_url, exchanges=(events.EXCHANGE,))
    event_relay = EventRelay(engine, event_outbox, publisher, events.EXCHANGE, clock,
                             metrics=RelayMetrics(registry, "identity") if registry is not None else None)
    deps = Deps(uow=partial(UnitOfWork, engine), clock=clock, hasher=hasher,
                policy=default_policy(), access_tokens=AccessTokenIssuer(keys, settings.access_token_ttl),
                mails=MailComposer(settings.public_url), link_ttl=settings.link_ttl,
                refresh_ttl=settings.refresh_token_ttl, limits=settings.login_limits,
                link_mails_per_hour=settings.link_mails_per_hour, email_change_ttl=settings.email_change_ttl,
                events_committed=event_relay.wake)
    relay = MailRelay(engine, mail_outbox, SMTPMailSender(settings.smtp_host, settings.smtp_port), clock,
                      from_address=settings.mail_from,
                      metrics=MailMetrics(registry, "identity") if registry is not None else None)
    return Service(deps=deps, keys=keys, servicer=IdentityService(keys, deps), mail_relay=relay,
                   event_relay=event_relay, publisher=publisher, link_worker=LinkRequestWorker(deps))


def signing_keys(settings: config.Settings, engine: Engine, clock: Clock) -> SigningKeyStore:
    """The store of token-signing keys, opened with the key-encryption key; a key that is missing,
    unreadable or the wrong one stops the process with one line."""
    name = "SIGNING_KEY_ENCRYPTION_KEY_FILE" if settings.signing_kek_file else "SIGNING_KEY_ENCRYPTION_KEY"
    if not (settings.signing_kek or settings.signing_kek_file or settings.development):
        raise SettingError("SIGNING_KEY_ENCRYPTION_KEY (or SIGNING_KEY_ENCRYPTION_KEY_FILE) is not set: the key "
                           "that encrypts the token-signing keys, kept outside the database")
    try:
        kek = key_encryption_key(text=settings.signing_kek, path=settings.signing_kek_file,
                                 development_folder=settings.var_dir)
    except (OSError, ValueError) as error:
        raise SettingError(f"{name} cannot be read as a key: {type(error).__name__}") from None
    keys = SigningKeyStore(engine, clock, kek)
    try:
        keys.ensure_key()
    except KeyEncryptionError as error:
        raise SettingError(f"{name} does not open the signing keys in the database ({error})") from None
    return keys


def bootstrap(settings: config.Settings, engine: Engine, *, clock: Clock | None = None,
              registry: CollectorRegistry | None = None) -> ServiceParts:
    """The composition root: every dependency of the service is built here and nowhere else."""
    service = build(settings, engine, clock=clock, registry=registry)
    return ServiceParts(
        database=engine,
        registrations=[Registration(SERVICE_NAME, identity_pb2_grpc.add_IdentityServiceServicer_to_server,
                                    service.servicer, peers=peers.ALLOWED_PEERS)],
        workers=[Worker("event-relay", service.run_event_relay, service.event_relay.stop),
                 Worker("mail-relay", service.mail_relay.run, service.mail_relay.stop),
                 Worker("link-requests", service.link_worker.run, service.link_worker.stop)])


def serve_main() -> None:
    settings = config.load()
    configure_logging("identity", settings.log_level)
    tls = load_tls(settings.tls)
    engine = open_database(settings.database_url, MIGRATIONS, migrate=settings.migrate_on_start)
    check_broker(settings.amqp_url)
    registry = CollectorRegistry()
    serve(settings, parts=bootstrap(settings, engine, registry=registry), registry=registry, tls=tls)


def create_operator(arguments: argparse.Namespace) -> int:
    settings = config.load()
    configure_logging("identity", "WARNING")
    engine = open_database(settings.database_url, MIGRATIONS, migrate=settings.migrate_on_start)
    clock = clock_from_setting(settings.clock_offset_seconds)
    # Creating an account signs no token: the signing keys (and their key-encryption key) stay closed.
    deps = Deps(uow=partial(UnitOfWork, engine), clock=clock, hasher=Argon2Hasher(), policy=default_policy(),
                access_tokens=None, mails=MailComposer(settings.public_url), link_ttl=settings.link_ttl)
    new = NewAccount(username=arguments.username, email=arguments.email, display_name=arguments.name,
                     kind=AccountKind.OPERATOR, language=Language(arguments.language),
                     link_purpose=LinkPurpose.PROFESSIONAL_WELCOME)
    try:
        account = handlers.create_account(handlers.CreateAccount(new), deps)
    except InvalidInput as error:
        print(f"identity: cannot create the operator: {error}", file=sys.stderr)
        return 1
    except AlreadyExists as error:
        print(f"identity: cannot create the operator: {error}", file=sys.stderr)
        return 1
    print(f"operator {account.username} created ({account.account_id}); the password-setup mail to "
          f"{mask_email(account.email)} is queued and leaves once the identity service runs", flush=True)
    return 0


def rotate_signing_key() -> int:
    settings = config.load()
    configure_logging("identity", "WARNING")
    engine = open_database(settings.database_url, MIGRATIONS, migrate=settings.migrate_on_start)
    clock = clock_from_setting(settings.clock_offset_seconds)
    key_id = signing_keys(settings, engine, clock).rotate(verify_for=settings.access_token_ttl)
    print(f"signing key {key_id} signs from now on; the keys before it verify the tokens they signed "
          f"for {int(settings.access_token_ttl.total_seconds() // 60)} more minutes", flush=True)
    return 0


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m identity",
                                     description="The identity service; without a command it serves.")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("migrate", help="bring the database schema up to date and exit (before starting replicas "
                                        "with MIGRATE_ON_START=0)")
    operator = commands.add_parser("create-operator", help="create an operator account and mail its setup link")
    operator.add_argument("--username", required=True)
    operator.add_argument("--email", required=True)
    operator.add_argument("--name", required=True, help="display name")
    operator.add_argument("--language", choices=("nl", "en"), default="nl")
    commands.add_parser("rotate-signing-key", help="start signing access tokens with a new key; the old keys "
                                                   "verify until the tokens they signed expire")
    commands.add_parser("new-key-encryption-key", help="print a new key for SIGNING_KEY_ENCRYPTION_KEY")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    arguments = parse(sys.argv[1:] if argv is None else argv)
    if arguments.command == "migrate":
        raise SystemExit(migrate_command("identity", config.load().database_url, MIGRATIONS))
    if arguments.command == "create-operator":
        raise SystemExit(create_operator(arguments))
    if arguments.command == "rotate-signing-key":
        raise SystemExit(rotate_signing_key())
    if arguments.command == "new-key-encryption-key":
        print(KeyEncryptionKey.new_text())
        raise SystemExit(0)
    serve_main()


if __name__ == "__main__":
    run_main("identity", main)
