"""python -m reporting: build the reporting service in bootstrap(), then serve until SIGTERM."""
from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine

from pe.reporting.v1 import reporting_pb2, reporting_pb2_grpc
from reporting import config
from reporting.servicer import ReportingService
from svckit.amqp import check_broker
from svckit.logs import configure_logging
from svckit.process import ServiceParts, open_database, serve
from svckit.server import Registration
from svckit.startup import run_main

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SERVICE_NAME = reporting_pb2.DESCRIPTOR.services_by_name["ReportingService"].full_name


def bootstrap(settings: config.Settings, engine: Engine) -> ServiceParts:
    """The composition root: every dependency of the service is built here and nowhere else."""
    servicer = ReportingService()
    return ServiceParts(registrations=[
        Registration(SERVICE_NAME, reporting_pb2_grpc.add_ReportingServiceServicer_to_server, servicer)])


def main() -> None:
    settings = config.load()
    configure_logging("reporting", settings.log_level)
    engine = open_database(settings.database_url, MIGRATIONS)
    check_broker(settings.amqp_url)
    serve(grpc_port=settings.grpc_port, metrics_port=settings.metrics_port,
          parts=bootstrap(settings, engine), registry=CollectorRegistry(),
          drain_seconds=settings.drain_seconds)


if __name__ == "__main__":
    run_main("reporting", main)
