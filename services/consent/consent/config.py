"""Settings of the consent service, from the environment, with defaults that run locally."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from svckit.config import Env, TlsFiles, amqp_url, clock_offset_seconds, process_settings


@dataclass(frozen=True)
class Settings:
    grpc_port: int
    metrics_port: int
    database_url: str
    amqp_url: str
    smtp_host: str
    smtp_port: int
    log_level: str
    drain_seconds: float
    bind_host: str
    metrics_bind_host: str
    reflection: bool
    tls: TlsFiles | None
    migrate_on_start: bool
    organisation_addr: str
    identity_addr: str
    public_url: str
    mail_from: str
    reminder_days: int
    expiry_interval_seconds: float
    rpc_timeout_seconds: float
    clock_offset_seconds: float
    access_check_workers: int


def load(environ: Mapping[str, str] | None = None) -> Settings:
    env = Env(environ)
    return Settings(
        **process_settings(env, "consent", grpc_port=50053, metrics_port=9103),
        amqp_url=amqp_url(env),
        smtp_host=env.str("SMTP_HOST", "127.0.0.1"),
        smtp_port=env.port("SMTP_PORT", 1025),
        organisation_addr=env.address("ORGANISATION_ADDR", "127.0.0.1:50052"),
        identity_addr=env.address("IDENTITY_ADDR", "127.0.0.1:50051"),
        # Where professionals manage their consents; receipts link to {PUBLIC_URL}/consents.
        public_url=env.url("PUBLIC_URL", "http://127.0.0.1:8080", ("http", "https")),
        mail_from=env.email("MAIL_FROM", "noreply@pe-insight.local"),
        reminder_days=env.int("REMINDER_DAYS", 14, minimum=1, maximum=365),
        expiry_interval_seconds=env.float("EXPIRY_INTERVAL_SECONDS", 60.0, minimum=0.1),
        # Moves this process's clock, for demos and system tests in which a day must pass.
        clock_offset_seconds=clock_offset_seconds(env),
        rpc_timeout_seconds=env.float("RPC_TIMEOUT_SECONDS", 3.0, minimum=0.1),
        # Threads of its own for CheckAccess: checks queue in order on a few threads rather than
        # contend with each other and every other call; a few suffice, as a check holds its
        # thread only for one indexed read.
        access_check_workers=env.int("ACCESS_CHECK_WORKERS", 4, minimum=1, maximum=64),
    )

