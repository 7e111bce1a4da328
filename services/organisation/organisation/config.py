"""Settings of the organisation service, from the environment, with defaults that run locally."""
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
    smtp_host: str
    smtp_port: int
    log_level: str
    drain_seconds: float
    bind_host: str
    metrics_bind_host: str
    reflection: bool
    tls: TlsFiles | None
    migrate_on_start: bool
    identity_addr: str
    identity_timeout_seconds: float
    mail_from: str
    public_url: str


def load(environ: Mapping[str, str] | None = None) -> Settings:
    env = Env(environ)
    return Settings(
        **process_settings(env, "organisation", grpc_port=50052, metrics_port=9102),
        amqp_url=amqp_url(env),
        smtp_host=env.str("SMTP_HOST", "127.0.0.1"),
        smtp_port=env.port("SMTP_PORT", 1025),
        identity_addr=env.address("IDENTITY_ADDR", "127.0.0.1:50051"),
        identity_timeout_seconds=env.float("IDENTITY_TIMEOUT_SECONDS", 5.0, minimum=0.1),
        mail_from=env.email("MAIL_FROM", "noreply@pe-insight.local"),
        public_url=env.url("PUBLIC_URL", "http://127.0.0.1:8080", ("http", "https")),
    )

