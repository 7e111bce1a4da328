"""Settings of the identity service, from the environment, with defaults that run locally."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from identity.domain import LoginLimits
from svckit.config import Env, TlsFiles, clock_offset_seconds, process_settings

_MAIL_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")


@dataclass(frozen=True)
class Settings:
    grpc_port: int
    metrics_port: int
    database_url: str
    smtp_host: str
    smtp_port: int
    log_level: str
    drain_seconds: float
    bind_host: str
    metrics_bind_host: str
    reflection: bool
    tls: TlsFiles | None
    public_url: str = "http://127.0.0.1:8080"
    mail_from: str = "noreply@pe-insight.local"
    link_ttl: timedelta = timedelta(hours=72)
    access_token_ttl: timedelta = timedelta(minutes=10)
    refresh_token_ttl: timedelta = timedelta(hours=12)
    login_limits: LoginLimits = field(default_factory=LoginLimits)
    clock_offset_seconds: float = 0.0
    argon2_max_concurrent: int = 0  # 0: one per usable CPU


def load(environ: Mapping[str, str] | None = None) -> Settings:
    env = Env(environ)
    return Settings(
        **process_settings(env, "identity", grpc_port=50051, metrics_port=9101),
        smtp_host=env.str("SMTP_HOST", "127.0.0.1"),
        smtp_port=env.port("SMTP_PORT", 1025),
        public_url=env.url("PUBLIC_URL", "http://127.0.0.1:8080", ("http", "https")).rstrip("/"),
        mail_from=env.email("MAIL_FROM", "noreply@pe-insight.local"),
        link_ttl=timedelta(hours=env.int("LINK_TTL_HOURS", 72, minimum=1, maximum=24 * 30)),
        # Access tokens cannot be revoked before they expire, so their life is kept short.
        access_token_ttl=timedelta(minutes=env.int("ACCESS_TOKEN_MINUTES", 10, minimum=1, maximum=15)),
        refresh_token_ttl=timedelta(hours=env.int("REFRESH_TOKEN_HOURS", 12, minimum=1, maximum=24 * 30)),
        clock_offset_seconds=clock_offset_seconds(env),
        # How many password hashes run at once; more wait their turn (see passwords.Argon2Hasher).
        argon2_max_concurrent=env.int("ARGON2_MAX_CONCURRENT", 0, minimum=0, maximum=1024),
        login_limits=LoginLimits(
            account_max_failures=env.int("LOGIN_MAX_FAILURES", 5, minimum=1, maximum=1000),
            account_window=timedelta(minutes=env.int("LOGIN_FAILURE_WINDOW_MINUTES", 15, minimum=1,
                                                     maximum=24 * 60)),
            # Bounded, so that nobody can lock an account out for good.
            account_lock=timedelta(minutes=env.int("LOGIN_LOCK_MINUTES", 15, minimum=1, maximum=24 * 60)),
            address_max_failures=env.int("ADDRESS_MAX_FAILURES", 20, minimum=1, maximum=100000),
            address_window=timedelta(minutes=env.int("ADDRESS_FAILURE_WINDOW_MINUTES", 15, minimum=1,
                                                     maximum=24 * 60)),
        ),
    )

