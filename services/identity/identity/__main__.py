"""python -m identity: build the identity service in bootstrap(), then serve until SIGTERM."""
from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine

from pe.identity.v1 import identity_pb2, identity_pb2_grpc
from identity import config
from identity.keys import SigningKeyStore
from identity.servicer import IdentityService
from svckit.clock import SystemClock
from svckit.logs import configure_logging
from svckit.process import ServiceParts, open_database, serve
from svckit.server import Registration
from svckit.startup import run_main

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SERVICE_NAME = identity_pb2.DESCRIPTOR.services_by_name["IdentityService"].full_name


def bootstrap(settings: config.Settings, engine: Engine) -> ServiceParts:
    """The composition root: every dependency of the service is built here and nowhere else."""
    keys = SigningKeyStore(engine, SystemClock())
    keys.ensure_key()
    servicer = IdentityService(keys)
    return ServiceParts(registrations=[
        Registration(SERVICE_NAME, identity_pb2_grpc.add_IdentityServiceServicer_to_server, servicer)])


def main() -> None:
    settings = config.load()
    configure_logging("identity", settings.log_level)
    engine = open_database(settings.database_url, MIGRATIONS)
    serve(grpc_port=settings.grpc_port, metrics_port=settings.metrics_port,
          parts=bootstrap(settings, engine), registry=CollectorRegistry(),
          drain_seconds=settings.drain_seconds)


if __name__ == "__main__":
    run_main("identity", main)
