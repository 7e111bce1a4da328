"""Settings of the gateway, from the environment, with defaults that run locally."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway import ratelimits
from svckit.config import Env, SettingError, TlsFiles, development, tls_files


@dataclass(frozen=True)
class Settings:
    port: int
    workers: int
    threads: int
    identity_addr: str
    organisation_addr: str
    consent_addr: str
    reporting_addr: str
    rpc_timeout_seconds: float
    max_body_bytes: int
    public_url: str
    log_level: str
    metrics_dir: str
    tls: TlsFiles | None
    metrics_host: str
    metrics_port: int
    trusted_proxy_hops: int
    rate_limit_storage_url: str
    rate_limit_key_prefix: str
    rate_limits: dict[str, str]
    session_check_seconds: float = 0.5
    check_sessions: bool = True


def load(environ: Mapping[str, str] | None = None) -> Settings:
    env = Env(environ)
    port = env.port("GATEWAY_PORT", 8080)
    return Settings(
        port=port,
        workers=env.int("GATEWAY_WORKERS", 2, minimum=1, maximum=64),
        threads=env.int("GATEWAY_THREADS", 8, minimum=1, maximum=256),
        identity_addr=env.address("IDENTITY_ADDR", "127.0.0.1:50051"),
        organisation_addr=env.address("ORGANISATION_ADDR", "127.0.0.1:50052"),
        consent_addr=env.address("CONSENT_ADDR", "127.0.0.1:50053"),
        reporting_addr=env.address("REPORTING_ADDR", "127.0.0.1:50054"),
        rpc_timeout_seconds=env.float("RPC_TIMEOUT_SECONDS", 5.0, minimum=0.1),
        max_body_bytes=env.int("MAX_BODY_BYTES", 64 * 1024, minimum=1024),
        public_url=env.url("PUBLIC_URL", f"http://127.0.0.1:{port}", ("http", "https")),
        log_level=env.choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
        metrics_dir=env.str("PROMETHEUS_MULTIPROC_DIR", f"{env.str('VAR_DIR', 'var')}/prometheus-gateway"),
        # The gateway's certificate, shown to the services it calls (svckit.tls).
        tls=tls_files(env, "gateway"),
        # How long a session found live is taken as live without asking identity again: a logout
        # stops its tokens on every worker within this time (and below a second).
        session_check_seconds=env.float("SESSION_CHECK_SECONDS", 0.5, maximum=0.9),
        check_sessions=_check_sessions(env),
        # /metrics is served apart from the API, from the gunicorn master, on loopback unless told.
        metrics_host=env.str("GATEWAY_METRICS_HOST", "127.0.0.1"),
        metrics_port=env.port("GATEWAY_METRICS_PORT", 9100),
        # How many proxies in front of the gateway append to X-Forwarded-For; 0 trusts no such header.
        trusted_proxy_hops=env.int("TRUSTED_PROXY_HOPS", 0, minimum=0, maximum=10),
        rate_limit_storage_url=env.url("RATE_LIMIT_STORAGE_URL", "memory://", ("memory", "redis", "rediss")),
        rate_limit_key_prefix=env.str("RATE_LIMIT_KEY_PREFIX", "pe-gateway"),
        rate_limits=ratelimits.load(env),
    )


def _check_sessions(env: Env) -> bool:
    if env.choice("CHECK_SESSIONS", "1", ("0", "1")) == "1":
        return True
    if not development(env):
        raise SettingError("CHECK_SESSIONS=0 is allowed only with DEVELOPMENT=1")
    return False
