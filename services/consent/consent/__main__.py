"""python -m consent: build the consent service in bootstrap(), then serve until SIGTERM."""
from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine

from pe.consent.v1 import consent_pb2, consent_pb2_grpc
from consent import config
from consent.servicer import ConsentService
from svckit.amqp import check_broker
from svckit.logs import configure_logging
from svckit.process import ServiceParts, open_database, serve
from svckit.server import Registration
from svckit.startup import run_main

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SERVICE_NAME = consent_pb2.DESCRIPTOR.services_by_name["ConsentService"].full_name


def bootstrap(settings: config.Settings, engine: Engine) -> ServiceParts:
    """The composition root: every dependency of the service is built here and nowhere else."""
    servicer = ConsentService()
    return ServiceParts(registrations=[
        Registration(SERVICE_NAME, consent_pb2_grpc.add_ConsentServiceServicer_to_server, servicer)])


def main() -> None:
    settings = config.load()
    configure_logging("consent", settings.log_level)
    engine = open_database(settings.database_url, MIGRATIONS)
    check_broker(settings.amqp_url)
    serve(grpc_port=settings.grpc_port, metrics_port=settings.metrics_port,
          parts=bootstrap(settings, engine), registry=CollectorRegistry(),
          drain_seconds=settings.drain_seconds)


if __name__ == "__main__":
    run_main("consent", main)
