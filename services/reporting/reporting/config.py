"""Settings of the reporting service, from the environment, with defaults that run locally."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from svckit.config import Env, TlsFiles, amqp_url, process_settings


@dataclass(frozen=True)
class Settings:
    grpc_port: int
    metrics_port: int
    database_url: str
    amqp_url: str
    log_level: str
    drain_seconds: float
    bind_host: str
    metrics_bind_host: str
    reflection: bool
    tls: TlsFiles | None
    migrate_on_start: bool
    consent_addr: str
    organisation_addr: str
    identity_addr: str
    rpc_timeout_seconds: float
    # How long GenerateOverviewReport waits for the read model to reach min_log_position.
    report_wait_seconds: float
    # PDF rendering: worker processes (0 renders in the serving process) and pages per chunk.
    pdf_workers: int
    pdf_pages_per_chunk: int
    consent_exchange: str
    consent_queue: str
    registry_exchange: str
    registry_queue: str
    # How often the gap filler looks for holes in the applied consent log.
    gap_check_seconds: float


def load(environ: Mapping[str, str] | None = None) -> Settings:
    env = Env(environ)
    return Settings(
        **process_settings(env, "reporting", grpc_port=50054, metrics_port=9104),
        amqp_url=amqp_url(env),
        consent_addr=env.address("CONSENT_ADDR", "127.0.0.1:50053"),
        organisation_addr=env.address("ORGANISATION_ADDR", "127.0.0.1:50052"),
        identity_addr=env.address("IDENTITY_ADDR", "127.0.0.1:50051"),
        rpc_timeout_seconds=env.float("RPC_TIMEOUT_SECONDS", 5.0, minimum=0.1),
        report_wait_seconds=env.float("REPORT_WAIT_SECONDS", 5.0),
        pdf_workers=env.int("PDF_WORKERS", 2, minimum=0, maximum=32),
        pdf_pages_per_chunk=env.int("PDF_PAGES_PER_CHUNK", 40, minimum=1, maximum=1000),
        consent_exchange=env.str("CONSENT_EXCHANGE", "pe.consent"),
        consent_queue=env.str("CONSENT_EVENTS_QUEUE", "reporting.consent-events"),
        registry_exchange=env.str("REGISTRY_EXCHANGE", "pe.registry"),
        registry_queue=env.str("REGISTRY_EVENTS_QUEUE", "reporting.registry-events"),
        gap_check_seconds=env.float("GAP_CHECK_SECONDS", 30.0, minimum=0.1),
    )
